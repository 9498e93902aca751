import { sql } from 'drizzle-orm';
import { index, integer, jsonb, pgTable, primaryKey, text, timestamp, uuid } from 'drizzle-orm/pg-core';
import type { JWK } from 'jose';
import { sessions, tenants } from './schema.js';

// The platform's own tables, beside the directory and sign-in tables in schema.ts: the token
// signing keys, the first-run setup code and the OpenID Connect provider's records.

const createdAt = () => timestamp('created_at', { withTimezone: true }).notNull().defaultNow();
const at = (name: string) => timestamp(name, { withTimezone: true });

/** The service's own token-signing keys (private JWKs); the newest signs, all verify. */
export const signingKeys = pgTable('signing_keys', {
  kid: text('kid').primaryKey(),
  privateJwk: jsonb('private_jwk').$type<JWK>().notNull(),
  publicJwk: jsonb('public_jwk').$type<JWK>().notNull(),
  createdAt: createdAt(),
});

/**
 * The first-run setup code (one row at most): printed to the console by a node that starts on a
 * database without a tenant, redeemed once by /setup to create the first tenant. Only its SHA-256
 * is kept; wrong guesses are counted, and the code is burned after too many.
 */
export const setupCodes = pgTable('setup_codes', {
  id: text('id').primaryKey(),
  codeHash: text('code_hash').notNull(),
  failedAttempts: integer('failed_attempts').notNull().default(0),
  createdAt: createdAt(),
});

/**
 * Every record of the OpenID Connect provider (oidc-provider's models: Client, Session, Grant,
 * Interaction, AuthorizationCode, AccessToken, RefreshToken, ...), one row per model and id, so
 * that every node shares them and a restart loses nothing. Read and written only through
 * src/services/oidc/adapter.ts.
 */
export const oidcRecords = pgTable(
  'oidc_records',
  {
    model: text('model').notNull(),
    id: text('id').notNull(),
    payload: jsonb('payload').$type<Record<string, unknown>>().notNull(),
    /** Null for records that do not expire (registered clients). */
    expiresAt: at('expires_at'),
    grantId: text('grant_id'),
    uid: text('uid'),
    userCode: text('user_code'),
    /** The user a session, grant or token is for: disabling or deleting the user ends them all. */
    accountId: text('account_id'),
    /** The tenant that registered a client (null for every other model). */
    tenantId: uuid('tenant_id').references(() => tenants.id, { onDelete: 'cascade' }),
    consumedAt: at('consumed_at'),
    createdAt: createdAt(),
  },
  (t) => [
    primaryKey({ columns: [t.model, t.id] }),
    index('oidc_records_grant_idx').on(t.grantId),
    index('oidc_records_uid_idx').on(t.model, t.uid),
    index('oidc_records_user_code_idx').on(t.model, t.userCode),
    index('oidc_records_account_idx').on(t.accountId),
    index('oidc_records_tenant_idx').on(t.tenantId).where(sql`${t.model} = 'Client'`),
    index('oidc_records_expiry_idx').on(t.expiresAt),
  ],
);

/**
 * Which sign-in session (the one the hosted page signed in with) an OpenID Connect session came
 * from: signing out of either ends the other, and with it the grants given in it.
 */
export const oidcSessionLinks = pgTable(
  'oidc_session_links',
  {
    /** The `uid` of the provider's Session record (stable for the session's life). */
    oidcSessionUid: text('oidc_session_uid').primaryKey(),
    signInSessionId: uuid('sign_in_session_id').notNull().references(() => sessions.id, { onDelete: 'cascade' }),
    createdAt: createdAt(),
  },
  (t) => [index('oidc_session_links_session_idx').on(t.signInSessionId)],
);
