import { sql } from 'drizzle-orm';
import {
  bigserial,
  boolean,
  doublePrecision,
  customType,
  index,
  integer,
  jsonb,
  pgTable,
  primaryKey,
  text,
  timestamp,
  uniqueIndex,
  uuid,
} from 'drizzle-orm/pg-core';
import type { JWK } from 'jose';
import type { PolicyTarget } from '../domain/policy.js';
import type { RiskLevel, RiskSignal } from '../domain/risk.js';
import type { TenantSettings } from '../domain/settings.js';

/** A Postgres 64-bit transaction id (xid8), read and written as its decimal text. */
const xid8 = customType<{ data: string; driverData: string }>({ dataType: () => 'xid8', fromDriver: (value) => String(value) });
/**
 * The transaction that last wrote a log row: with the row id it is the row's place in the live
 * feed (services/logFeed.ts), which only shows rows older than every transaction still running.
 */
const feedTx = () => xid8('feed_tx').notNull().default(sql`pg_current_xact_id()`);

const createdAt = () => timestamp('created_at', { withTimezone: true }).notNull().defaultNow();
const at = (name: string) => timestamp(name, { withTimezone: true });

export const tenants = pgTable('tenants', {
  id: uuid('id').primaryKey().defaultRandom(),
  name: text('name').notNull(),
  settings: jsonb('settings').$type<TenantSettings>().notNull(),
  /** The old directory-wide phone sign-in switch; ignored once a phone sign-in policy is saved. */
  legacyPhoneSignInEnabled: boolean('legacy_phone_sign_in_enabled').notNull().default(false),
  createdAt: createdAt(),
});

/** Every domain a tenant owns; a user principal name's domain names its tenant. */
export const tenantDomains = pgTable('tenant_domains', {
  domain: text('domain').primaryKey(),
  tenantId: uuid('tenant_id').notNull().references(() => tenants.id, { onDelete: 'cascade' }),
  /** Federated domains send password sign-ins to their identity provider. */
  federationSignInUrl: text('federation_sign_in_url'),
  createdAt: createdAt(),
});

export const users = pgTable(
  'users',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    tenantId: uuid('tenant_id').notNull().references(() => tenants.id, { onDelete: 'cascade' }),
    userPrincipalName: text('user_principal_name').notNull(),
    displayName: text('display_name').notNull(),
    passwordHash: text('password_hash'),
    isAdmin: boolean('is_admin').notNull().default(false),
    disabled: boolean('disabled').notNull().default(false),
    riskLevel: text('risk_level', { enum: ['NONE', 'LOW', 'MEDIUM', 'HIGH'] }).notNull().default('NONE'),
    /** Where the risk stands (domain/userRisk.ts): raised, or what an admin or a reset did about it. */
    riskState: text('risk_state', { enum: ['NONE', 'AT_RISK', 'DISMISSED', 'CONFIRMED_COMPROMISED', 'REMEDIATED'] }).notNull().default('NONE'),
    /** The stable reason the risk last changed (e.g. USER_REPORTED_FRAUD, ADMIN_CONFIRMED_COMPROMISED). */
    riskDetail: text('risk_detail'),
    riskUpdatedAt: at('risk_updated_at'),
    pushMutedUntil: at('push_muted_until'),
    /** Failed phone sign-ins since the last success (NIST SP 800-63B rev 4 throttling). */
    failedSignIns: integer('failed_sign_ins').notNull().default(0),
    lockedUntil: at('locked_until'),
    lockouts: integer('lockouts').notNull().default(0),
    /** Wrong passwords since the last correct one, counted apart from phone sign-in failures. */
    failedPasswordSignIns: integer('failed_password_sign_ins').notNull().default(0),
    passwordLockedUntil: at('password_locked_until'),
    passwordLockouts: integer('password_lockouts').notNull().default(0),
    createdAt: createdAt(),
    updatedAt: at('updated_at').notNull().defaultNow(),
  },
  (t) => [uniqueIndex('users_upn_unique').on(t.userPrincipalName), index('users_tenant_idx').on(t.tenantId)],
);

export const groups = pgTable(
  'groups',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    tenantId: uuid('tenant_id').notNull().references(() => tenants.id, { onDelete: 'cascade' }),
    name: text('name').notNull(),
    createdAt: createdAt(),
  },
  (t) => [uniqueIndex('groups_tenant_name_unique').on(t.tenantId, sql`lower(${t.name})`)],
);

export const groupMembers = pgTable(
  'group_members',
  {
    groupId: uuid('group_id').notNull().references(() => groups.id, { onDelete: 'cascade' }),
    userId: uuid('user_id').notNull().references(() => users.id, { onDelete: 'cascade' }),
    createdAt: createdAt(),
  },
  (t) => [primaryKey({ columns: [t.groupId, t.userId] }), index('group_members_user_idx').on(t.userId)],
);

/** A saved passwordless phone sign-in policy; its existence supersedes the legacy switch. */
export const phoneSignInPolicies = pgTable('phone_sign_in_policies', {
  tenantId: uuid('tenant_id').primaryKey().references(() => tenants.id, { onDelete: 'cascade' }),
  enabled: boolean('enabled').notNull(),
  includeTargets: jsonb('include_targets').$type<PolicyTarget[]>().notNull(),
  excludeTargets: jsonb('exclude_targets').$type<PolicyTarget[]>().notNull(),
  updatedAt: at('updated_at').notNull().defaultNow(),
});

/** One row per issued access token family; signing out revokes it. */
export const sessions = pgTable(
  'sessions',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    tenantId: uuid('tenant_id').notNull().references(() => tenants.id, { onDelete: 'cascade' }),
    userId: uuid('user_id').notNull().references(() => users.id, { onDelete: 'cascade' }),
    amr: jsonb('amr').$type<string[]>().notNull(),
    createdAt: createdAt(),
    expiresAt: at('expires_at').notNull(),
    revokedAt: at('revoked_at'),
  },
  (t) => [index('sessions_user_idx').on(t.userId)],
);

export const temporaryAccessPasses = pgTable(
  'temporary_access_passes',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    tenantId: uuid('tenant_id').notNull().references(() => tenants.id, { onDelete: 'cascade' }),
    userId: uuid('user_id').notNull().references(() => users.id, { onDelete: 'cascade' }),
    /** SHA-256 of the pass; the pass itself is shown once and never stored. */
    passHash: text('pass_hash').notNull(),
    isUsableOnce: boolean('is_usable_once').notNull(),
    expiresAt: at('expires_at').notNull(),
    usedAt: at('used_at'),
    createdBy: uuid('created_by'),
    createdAt: createdAt(),
  },
  (t) => [uniqueIndex('tap_hash_unique').on(t.passHash), index('tap_user_idx').on(t.userId)],
);

export const auditLogs = pgTable(
  'audit_logs',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    tenantId: uuid('tenant_id').references(() => tenants.id, { onDelete: 'cascade' }),
    actorType: text('actor_type', { enum: ['OPERATOR', 'USER', 'DEVICE', 'ANONYMOUS', 'SYSTEM'] }).notNull(),
    actorId: text('actor_id'),
    action: text('action').notNull(),
    targetType: text('target_type'),
    targetId: text('target_id'),
    result: text('result', { enum: ['SUCCESS', 'FAILURE'] }).notNull(),
    reasonCode: text('reason_code'),
    before: jsonb('before'),
    after: jsonb('after'),
    createdAt: createdAt(),
    feedTx: feedTx(),
  },
  (t) => [index('audit_logs_tenant_idx').on(t.tenantId, t.id), index('audit_logs_feed_idx').on(t.tenantId, t.feedTx, t.id)],
);

/** Single-use activation codes behind the QR link on the security-info page. */
export const activationCodes = pgTable('activation_codes', {
  id: uuid('id').primaryKey().defaultRandom(),
  tenantId: uuid('tenant_id').notNull().references(() => tenants.id, { onDelete: 'cascade' }),
  userId: uuid('user_id').notNull().references(() => users.id, { onDelete: 'cascade' }),
  codeHash: text('code_hash').notNull().unique(),
  expiresAt: at('expires_at').notNull(),
  usedAt: at('used_at'),
  createdAt: createdAt(),
});

/** An activated authenticator installation, known by its device key. */
export const devices = pgTable(
  'devices',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    tenantId: uuid('tenant_id').notNull().references(() => tenants.id, { onDelete: 'cascade' }),
    userId: uuid('user_id').notNull().references(() => users.id, { onDelete: 'cascade' }),
    displayName: text('display_name').notNull(),
    platform: text('platform', { enum: ['IOS', 'ANDROID'] }).notNull(),
    osVersion: text('os_version').notNull(),
    appVersion: text('app_version').notNull(),
    publicJwk: jsonb('public_jwk').$type<JWK>().notNull(),
    /** RFC 7638 thumbprint of the device key: one registration, in one tenant, per key. */
    keyThumbprint: text('key_thumbprint').notNull(),
    createdAt: createdAt(),
    lastUsedAt: at('last_used_at'),
    revokedAt: at('revoked_at'),
  },
  (t) => [
    uniqueIndex('devices_key_active_unique').on(t.keyThumbprint).where(sql`${t.revokedAt} is null`),
    index('devices_user_idx').on(t.userId),
  ],
);

/** The phone sign-in credential key of one device (at most one live per device). */
export const phoneSignInCredentials = pgTable(
  'phone_sign_in_credentials',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    tenantId: uuid('tenant_id').notNull().references(() => tenants.id, { onDelete: 'cascade' }),
    userId: uuid('user_id').notNull().references(() => users.id, { onDelete: 'cascade' }),
    deviceId: uuid('device_id').notNull().references(() => devices.id, { onDelete: 'cascade' }),
    publicJwk: jsonb('public_jwk').$type<JWK>().notNull(),
    createdAt: createdAt(),
    lastUsedAt: at('last_used_at'),
    revokedAt: at('revoked_at'),
  },
  (t) => [
    uniqueIndex('credentials_device_active_unique').on(t.deviceId).where(sql`${t.revokedAt} is null`),
    index('credentials_user_idx').on(t.userId),
  ],
);

/** Device-assertion `jti`s, remembered until the assertion expires so each is accepted once. */
export const usedAssertionIds = pgTable('used_assertion_ids', {
  jti: text('jti').primaryKey(),
  expiresAt: at('expires_at').notNull(),
});

/** A number-matching sign-in attempt: the browser's side and the phone's challenge in one row. */
export const signInAttempts = pgTable(
  'sign_in_attempts',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    tenantId: uuid('tenant_id').notNull().references(() => tenants.id, { onDelete: 'cascade' }),
    userId: uuid('user_id').notNull().references(() => users.id, { onDelete: 'cascade' }),
    /** PHONE_SIGN_IN (passwordless) or PUSH_MFA (second factor after a password). */
    kind: text('kind', { enum: ['PHONE_SIGN_IN', 'PUSH_MFA'] }).notNull(),
    status: text('status', { enum: ['PENDING', 'APPROVED', 'DENIED', 'EXPIRED', 'CANCELLED', 'COMPLETED'] })
      .notNull()
      .default('PENDING'),
    failureReason: text('failure_reason'),
    number: text('number').notNull(),
    numberStyle: text('number_style', { enum: ['TYPED', 'CHOICE'] }).notNull(),
    numberChoices: jsonb('number_choices').$type<string[]>(),
    nonce: text('nonce').notNull(),
    /** SHA-256 of the browser's attemptSecret. */
    secretHash: text('secret_hash').notNull(),
    appName: text('app_name').notNull(),
    ipAddress: text('ip_address'),
    location: text('location'),
    amr: jsonb('amr').$type<string[]>(),
    respondingDeviceId: uuid('responding_device_id'),
    userVerification: text('user_verification'),
    /** What the phone shows above the number when a risk signal set to WARN was raised (domain/risk.ts riskWarning). */
    riskWarning: text('risk_warning'),
    createdAt: createdAt(),
    expiresAt: at('expires_at').notNull(),
    resolvedAt: at('resolved_at'),
    completedAt: at('completed_at'),
  },
  (t) => [
    index('attempts_user_status_idx').on(t.userId, t.status),
    index('attempts_pending_expiry_idx').on(t.expiresAt).where(sql`${t.status} = 'PENDING'`),
    // The maintenance scan for approvals never redeemed (expireAttempts) reads only these rows.
    index('attempts_approved_resolved_idx').on(t.resolvedAt).where(sql`${t.status} = 'APPROVED'`),
  ],
);

/** What admins read in the sign-in logs: every sign-in, phone or password, with its real reason. */
export const signInLogs = pgTable(
  'sign_in_logs',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    tenantId: uuid('tenant_id').notNull().references(() => tenants.id, { onDelete: 'cascade' }),
    userId: uuid('user_id'),
    userPrincipalName: text('user_principal_name').notNull(),
    attemptId: uuid('attempt_id').unique(),
    method: text('method').notNull(),
    status: text('status').notNull(),
    reasonCode: text('reason_code'),
    appName: text('app_name'),
    ipAddress: text('ip_address'),
    location: text('location'),
    deviceId: uuid('device_id'),
    numberStyle: text('number_style'),
    /** Where the browser's address is, as the IP-location data says: what later sign-ins are compared with. */
    countryCode: text('country_code'),
    city: text('city'),
    latitude: doublePrecision('latitude'),
    longitude: doublePrecision('longitude'),
    accuracyKm: integer('accuracy_km'),
    /** Null where the sign-in was not assessed (password and Temporary Access Pass sign-ins). */
    riskLevel: text('risk_level').$type<RiskLevel>(),
    riskSignals: jsonb('risk_signals').$type<RiskSignal[]>(),
    createdAt: createdAt(),
    updatedAt: at('updated_at').notNull().defaultNow(),
    feedTx: feedTx(),
  },
  (t) => [
    index('sign_in_logs_tenant_idx').on(t.tenantId, t.id),
    // The push decision reads the user's recent successful sign-ins (pushDecision.ts signInHistory).
    index('sign_in_logs_user_success_idx').on(t.userId, t.createdAt).where(sql`${t.status} = 'SUCCESS'`),
    index('sign_in_logs_feed_idx').on(t.tenantId, t.feedTx, t.id),
  ],
);
