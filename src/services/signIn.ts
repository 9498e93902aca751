import { type SQL, and, count, eq, gt, inArray, isNull, lte, max } from 'drizzle-orm';
import { z } from 'zod';
import type { Executor } from '../db/client.js';
import { auditLogs, devices, phoneSignInCredentials, signInAttempts, tenantDomains, users } from '../db/schema.js';
import { addSeconds } from '../domain/clock.js';
import { DomainError } from '../domain/errors.js';
import { domainOf } from '../domain/names.js';
import { drawNumber } from '../domain/numberMatching.js';
import { allowsPhoneSignIn, allowsPushMfa } from '../domain/policy.js';
import { constantTimeEqual, sha256 } from '../domain/secrets.js';
import type { TenantSettings } from '../domain/settings.js';
import {
  type AttemptKind,
  type AttemptStatus,
  type FailureReason,
  type PasswordRequiredReason,
  type RefusalReason,
  browserReason,
  isFinal,
  logStatusOf,
  refusalReason,
  sourcesOf,
} from '../domain/signInAttempt.js';
import { type FailureState, type Lock, afterFailure, afterSuccess, pushRateLimited, pushWindowStart } from '../domain/throttle.js';
import type { App } from './app.js';
import { type Actor, type Trail, audit, auditingRefusals } from './audit.js';
import { locate } from './geo.js';
import { replayThenFollow } from './live.js';
import { loadEffectivePolicy, loadTenantSettings } from './policy.js';
import { updateSignInLog, writeSignInLog } from './signInLogs.js';
import { randomSecret } from './system.js';

/** 256 bits: the browser's bearer capability for one attempt, stored only as its SHA-256. */
const ATTEMPT_SECRET_BYTES = 32;
/** 256 bits, above the contract's 128-bit floor: binds a response to one challenge. */
const NONCE_BYTES = 32;
/** How long the browser has to redeem an approval; it is watching, so two minutes is generous. */
export const REDEEM_WINDOW_S = 120;

export type Attempt = typeof signInAttempts.$inferSelect;

/** What the browser may know of an attempt. */
export interface AttemptView {
  id: string;
  kind: AttemptKind;
  status: AttemptStatus;
  failureReason: FailureReason | null;
  expiresAt: Date;
}

export const attemptView = (a: Attempt): AttemptView => ({
  id: a.id,
  kind: a.kind,
  status: a.status,
  failureReason: a.failureReason as FailureReason | null,
  expiresAt: a.expiresAt,
});

/** A new attempt as its browser gets it: the only time the secret and the number are given out. */
export interface StartedAttempt {
  attemptId: string;
  attemptSecret: string;
  number: string;
  expiresAt: Date;
}

export type BeginSignInResult =
  | ({ type: 'PHONE_SIGN_IN_STARTED' } & StartedAttempt)
  | { type: 'PASSWORD_REQUIRED'; reason: PasswordRequiredReason };

/** Where a sign-in comes from, as the phone and the logs show it. */
export interface SignInContext {
  appName: string;
  ipAddress: string | null;
}

/** Events to publish once the transaction that caused them has committed. */
export class Outbox {
  private readonly attempts = new Map<string, AttemptStatus>();
  private readonly challenges: Array<{ userId: string; challengeId: string }> = [];
  private readonly alerts: Array<{ tenantId: string; alertId: string }> = [];

  attemptChanged(attemptId: string, status: AttemptStatus) {
    this.attempts.set(attemptId, status);
  }
  challenge(userId: string, challengeId: string) {
    this.challenges.push({ userId, challengeId });
  }
  alert(tenantId: string, alertId: string) {
    this.alerts.push({ tenantId, alertId });
  }
  publish(app: App) {
    for (const [attemptId, status] of this.attempts) app.events.publish('signInAttemptChanged', attemptId, { attemptId, status });
    for (const { userId, challengeId } of this.challenges) app.events.publish('userChallenge', userId, { challengeId });
    for (const { tenantId, alertId } of this.alerts) app.events.publish('securityAlert', tenantId, { alertId });
  }
}

/**
 * The one way an attempt changes status: a compare-and-set whose WHERE names the statuses the
 * state machine allows as sources (plus `condition`, e.g. not yet expired). Undefined when
 * another writer got there first or the condition no longer holds.
 */
export async function transition(
  tx: Executor,
  attemptId: string,
  to: AttemptStatus,
  changes: Partial<Omit<Attempt, 'id' | 'status'>>,
  condition?: SQL,
): Promise<Attempt | undefined> {
  const [row] = await tx
    .update(signInAttempts)
    .set({ ...changes, status: to })
    .where(and(eq(signInAttempts.id, attemptId), inArray(signInAttempts.status, sourcesOf(to)), condition))
    .returning();
  return row;
}

/** Whether a user has a phone sign-in credential on a device that is still registered. */
async function hasLiveCredential(db: Executor, userId: string): Promise<boolean> {
  const [row] = await db
    .select({ n: count() })
    .from(phoneSignInCredentials)
    .innerJoin(devices, eq(devices.id, phoneSignInCredentials.deviceId))
    .where(and(eq(phoneSignInCredentials.userId, userId), isNull(phoneSignInCredentials.revokedAt), isNull(devices.revokedAt)));
  return (row?.n ?? 0) > 0;
}

/** Whether a user has a registered authenticator device that is not revoked (push MFA goes there). */
async function hasLiveDevice(db: Executor, userId: string): Promise<boolean> {
  const [row] = await db
    .select({ n: count() })
    .from(devices)
    .where(and(eq(devices.userId, userId), isNull(devices.revokedAt)));
  return (row?.n ?? 0) > 0;
}

type UserRow = typeof users.$inferSelect;

/** Where each lock's counter lives on the user row. */
const LOCK_COLUMNS: Record<Lock, { read(user: UserRow): FailureState; write(state: FailureState): Partial<typeof users.$inferInsert> }> = {
  PHONE_SIGN_IN: {
    read: (u) => ({ failures: u.failedSignIns, lockouts: u.lockouts, lockedUntil: u.lockedUntil }),
    write: (s) => ({ failedSignIns: s.failures, lockouts: s.lockouts, lockedUntil: s.lockedUntil }),
  },
  PASSWORD: {
    read: (u) => ({ failures: u.failedPasswordSignIns, lockouts: u.passwordLockouts, lockedUntil: u.passwordLockedUntil }),
    write: (s) => ({ failedPasswordSignIns: s.failures, passwordLockouts: s.lockouts, passwordLockedUntil: s.lockedUntil }),
  },
};

/** The columns that clear a lock and its counter, as a success does. */
export const clearedLock = (lock: Lock) => LOCK_COLUMNS[lock].write(afterSuccess());

/** Why not to push to this user now, or null: the policy, the credential and the anti-fatigue limits. */
export async function pushRefusal(
  tx: Executor,
  user: UserRow,
  settings: TenantSettings,
  kind: AttemptKind,
  now: Date,
): Promise<RefusalReason | null> {
  const policy = await loadEffectivePolicy(tx, user.id);
  const [pending] = await tx
    .select({ n: count() })
    .from(signInAttempts)
    .where(and(eq(signInAttempts.userId, user.id), eq(signInAttempts.status, 'PENDING'), gt(signInAttempts.expiresAt, now)));
  const [lastSuccess] = await tx
    .select({ at: max(signInAttempts.completedAt) })
    .from(signInAttempts)
    .where(and(eq(signInAttempts.userId, user.id), eq(signInAttempts.status, 'COMPLETED')));
  const windowStart = pushWindowStart(now, settings.pushRateLimit.windowMinutes, lastSuccess?.at ?? null);
  const [pushes] = await tx
    .select({ n: count() })
    .from(signInAttempts)
    .where(and(eq(signInAttempts.userId, user.id), gt(signInAttempts.createdAt, windowStart)));
  return refusalReason({
    now,
    kind,
    userFound: true,
    disabled: user.disabled,
    pushAllowedByTenant: settings.pushNotificationsAllowed,
    policyAllows: kind === 'PHONE_SIGN_IN' ? allowsPhoneSignIn(policy) : allowsPushMfa(policy),
    hasLiveCredential: await hasLiveCredential(tx, user.id),
    hasLiveDevice: await hasLiveDevice(tx, user.id),
    lockedUntil: user.lockedUntil,
    pushMutedUntil: user.pushMutedUntil,
    rateLimited: pushRateLimited(pushes?.n ?? 0, settings.pushRateLimit.maxPushes),
    hasPendingAttempt: (pending?.n ?? 0) > 0,
  });
}

/** Stores a new attempt and its sign-in log row; the caller publishes the challenge after commit. */
export async function startAttempt(
  tx: Executor,
  o: { kind: AttemptKind; user: UserRow; settings: TenantSettings; context: SignInContext; location: string; now: Date },
): Promise<StartedAttempt> {
  const { style, digits, choices } = o.settings.numberMatching;
  const match = drawNumber(style, digits, choices);
  const attemptSecret = randomSecret(ATTEMPT_SECRET_BYTES);
  const expiresAt = addSeconds(o.now, o.settings.challengeLifetimeSeconds);
  const [attempt] = await tx
    .insert(signInAttempts)
    .values({
      tenantId: o.user.tenantId,
      userId: o.user.id,
      kind: o.kind,
      number: match.number,
      numberStyle: style,
      numberChoices: match.choices,
      nonce: randomSecret(NONCE_BYTES),
      secretHash: sha256(attemptSecret),
      appName: o.context.appName,
      ipAddress: o.context.ipAddress,
      location: o.location,
      createdAt: o.now,
      expiresAt,
    })
    .returning({ id: signInAttempts.id });
  await writeSignInLog(tx, {
    tenantId: o.user.tenantId,
    userId: o.user.id,
    userPrincipalName: o.user.userPrincipalName,
    attemptId: attempt!.id,
    method: o.kind,
    status: 'IN_PROGRESS',
    appName: o.context.appName,
    ipAddress: o.context.ipAddress,
    location: o.location,
    numberStyle: style,
    at: o.now,
  });
  return { attemptId: attempt!.id, attemptSecret, number: match.number, expiresAt };
}

/**
 * beginSignIn answers PasswordRequired no sooner than this after the request started. The paths
 * to that answer do different work (no tenant owns the domain: one query; unknown user: a
 * transaction and a log row; known user: the policy, the credentials and the anti-fatigue
 * counts), so their response times would tell which names exist. Making every path do the same
 * queries would be fragile — each new check reopens the leak, and index and cache effects differ
 * anyway — while a fixed floor hides them all as long as the slowest path (a handful of indexed
 * queries, milliseconds) stays below it, and costs nothing a person notices: the page is about to
 * ask for a password. PhoneSignInStarted is not held back: its content already says the account
 * exists.
 */
export const PASSWORD_REQUIRED_FLOOR_MS = 250;

/**
 * Starts a passwordless phone sign-in, or sends the browser to the password. Every refusal looks
 * the same from outside, in content and in time (see domain/signInAttempt.ts `refusalReason` for
 * PENDING_REQUEST, and PASSWORD_REQUIRED_FLOOR_MS); the sign-in log keeps the real reason.
 */
export async function beginSignIn(app: App, input: SignInContext & { userPrincipalName: string }): Promise<BeginSignInResult> {
  const startedAt = performance.now();
  const result = await pushOrRefuse(app, input);
  if (result.type === 'PASSWORD_REQUIRED') await app.sleep(Math.max(0, PASSWORD_REQUIRED_FLOOR_MS - (performance.now() - startedAt)));
  return result;
}

async function pushOrRefuse(app: App, input: SignInContext & { userPrincipalName: string }): Promise<BeginSignInResult> {
  const now = app.clock.now();
  const passwordRequired = (reason: RefusalReason): BeginSignInResult => ({ type: 'PASSWORD_REQUIRED', reason: browserReason(reason) });
  const [domain] = await app.db
    .select({ tenantId: tenantDomains.tenantId })
    .from(tenantDomains)
    .where(eq(tenantDomains.domain, domainOf(input.userPrincipalName)));
  // No tenant owns the domain: there is no sign-in log to write to.
  if (!domain) return passwordRequired('UNKNOWN_DOMAIN');
  const settings = await loadTenantSettings(app.db, domain.tenantId);
  const location = await locate(app, input.ipAddress);
  const outbox = new Outbox();
  const result = await app.db.transaction(async (tx) => {
    // Locking the user row serialises concurrent beginSignIns: at most one push per pending window.
    const [user] = await tx
      .select()
      .from(users)
      .where(and(eq(users.userPrincipalName, input.userPrincipalName), eq(users.tenantId, domain.tenantId)))
      .for('update');
    const reason = user ? await pushRefusal(tx, user, settings, 'PHONE_SIGN_IN', now) : 'USER_NOT_FOUND';
    if (reason) {
      await writeSignInLog(tx, {
        tenantId: domain.tenantId,
        userId: user?.id ?? null,
        userPrincipalName: input.userPrincipalName,
        method: 'PHONE_SIGN_IN',
        status: 'INTERRUPTED',
        reasonCode: reason,
        appName: input.appName,
        ipAddress: input.ipAddress,
        location,
        at: now,
      });
      return passwordRequired(reason);
    }
    const started = await startAttempt(tx, { kind: 'PHONE_SIGN_IN', user: user!, settings, context: input, location, now });
    outbox.challenge(user!.id, started.attemptId);
    return { type: 'PHONE_SIGN_IN_STARTED', ...started } as const;
  });
  outbox.publish(app);
  return result;
}

const uuid = z.uuid();
/** Our secrets are 43 characters; anything far longer is not one, and is not worth hashing. */
const MAX_ATTEMPT_SECRET_LENGTH = 256;

/**
 * The attempt, if `attemptSecret` is its secret; null otherwise, exactly as for an unknown id,
 * so a wrong secret learns nothing (not even that the id exists).
 */
export async function attemptForSecret(db: Executor, attemptId: string, attemptSecret: string): Promise<Attempt | null> {
  if (!uuid.safeParse(attemptId).success || attemptSecret.length > MAX_ATTEMPT_SECRET_LENGTH) return null;
  const [attempt] = await db.select().from(signInAttempts).where(eq(signInAttempts.id, attemptId));
  if (!attempt || !constantTimeEqual(attempt.secretHash, sha256(attemptSecret))) return null;
  return attempt;
}

export async function readAttempt(app: App, attemptId: string, attemptSecret: string): Promise<AttemptView | null> {
  const attempt = await attemptForSecret(app.db, attemptId, attemptSecret);
  return attempt && attemptView(attempt);
}

/** The attempt now, then every change, until it is final. Null for a wrong secret. */
export async function watchAttempt(app: App, attemptId: string, attemptSecret: string): Promise<AsyncIterable<AttemptView> | null> {
  if (!(await attemptForSecret(app.db, attemptId, attemptSecret))) return null;
  const current = async () => {
    const [attempt] = await app.db.select().from(signInAttempts).where(eq(signInAttempts.id, attemptId));
    return attempt ? [attemptView(attempt)] : [];
  };
  return replayThenFollow({
    live: app.events.subscribe('signInAttemptChanged', attemptId),
    replay: current,
    follow: current,
    // Only changes are sent: several events, and every re-read, may report one status.
    key: (view) => view.status,
    isLast: (view) => isFinal(view.status),
    resync: app.liveResync,
  });
}

const NOT_REDEEMABLE: Record<AttemptStatus, string> = {
  PENDING: 'The phone has not approved this sign-in yet: wait until signInAttempt says APPROVED.',
  APPROVED: 'This approval has lapsed: start a new sign-in.',
  DENIED: 'This sign-in was denied on the phone: start a new one, or use your password.',
  EXPIRED: 'This sign-in expired: start a new one.',
  CANCELLED: 'This sign-in was cancelled: start a new one.',
  COMPLETED: 'This sign-in was already completed: its session was issued once and cannot be issued again.',
};

/**
 * Redeems an approved attempt for a session, exactly once: the compare-and-set APPROVED →
 * COMPLETED happens before the token is made, in the same transaction. Null for a wrong secret.
 */
export async function completeSignIn(app: App, input: { attemptId: string; attemptSecret: string }) {
  const attempt = await attemptForSecret(app.db, input.attemptId, input.attemptSecret);
  if (!attempt) return null;
  const now = app.clock.now();
  const outbox = new Outbox();
  const token = await app.db.transaction(async (tx) => {
    const done = await transition(tx, attempt.id, 'COMPLETED', { completedAt: now }, gt(signInAttempts.resolvedAt, addSeconds(now, -REDEEM_WINDOW_S)));
    if (!done) {
      const [current] = await tx.select({ status: signInAttempts.status }).from(signInAttempts).where(eq(signInAttempts.id, attempt.id));
      throw new DomainError('SIGN_IN_NOT_APPROVED', NOT_REDEEMABLE[current?.status ?? 'EXPIRED']);
    }
    const [user] = await tx.select().from(users).where(eq(users.id, done.userId)).for('update');
    if (!user || user.disabled) throw new DomainError('ACCOUNT_DISABLED', 'This account is disabled. Ask your administrator.');
    const issued = await app.tokens.issue(tx, { tenantId: done.tenantId, userId: done.userId, amr: done.amr ?? [] });
    await tx
      .update(users)
      .set({ ...clearedLock('PHONE_SIGN_IN'), updatedAt: now })
      .where(eq(users.id, user.id));
    await updateSignInLog(tx, done.id, { status: 'SUCCESS', reasonCode: null, at: now });
    await audit(tx, {
      tenantId: done.tenantId,
      actor: { type: 'USER', id: done.userId },
      action: 'signIn.complete',
      targetType: 'SIGN_IN_ATTEMPT',
      targetId: done.id,
      after: { kind: done.kind, amr: done.amr, sessionId: issued.sessionId },
    });
    outbox.attemptChanged(done.id, 'COMPLETED');
    return issued;
  });
  outbox.publish(app);
  return token;
}

/** The browser gives up: a pending or approved attempt becomes CANCELLED. Null for a wrong secret. */
export async function cancelSignIn(app: App, input: { attemptId: string; attemptSecret: string }): Promise<AttemptView | null> {
  const attempt = await attemptForSecret(app.db, input.attemptId, input.attemptSecret);
  if (!attempt) return null;
  const now = app.clock.now();
  const outbox = new Outbox();
  const result = await app.db.transaction(async (tx) => {
    const cancelled = await transition(tx, attempt.id, 'CANCELLED', { failureReason: 'CANCELLED_BY_USER', resolvedAt: now });
    if (!cancelled) {
      const [current] = await tx.select().from(signInAttempts).where(eq(signInAttempts.id, attempt.id));
      return current!;
    }
    await updateSignInLog(tx, cancelled.id, { status: 'FAILURE', reasonCode: 'CANCELLED_BY_USER', at: now });
    await auditOutcome(tx, cancelled, { type: 'ANONYMOUS' });
    outbox.attemptChanged(cancelled.id, 'CANCELLED');
    return cancelled;
  });
  outbox.publish(app);
  return attemptView(result);
}

/** What resetSignInProtection changes, as its audit record shows it. */
const protectionOf = (user: UserRow) => ({
  riskLevel: user.riskLevel,
  pushMutedUntil: user.pushMutedUntil,
  lockedUntil: user.lockedUntil,
  failedSignIns: user.failedSignIns,
  lockouts: user.lockouts,
  passwordLockedUntil: user.passwordLockedUntil,
  failedPasswordSignIns: user.failedPasswordSignIns,
  passwordLockouts: user.passwordLockouts,
});

/**
 * An admin clears what fraud reports and failures put on a user of their tenant: risk back to
 * NONE, pushes unmuted, and both lockouts (phone sign-in and password) and their failure counts
 * cleared as a success would clear them.
 * An unknown or foreign id is NOT_FOUND; refusals are audited too.
 */
export async function resetSignInProtection(app: App, caller: { tenantId: string; userId: string }, userId: string): Promise<UserRow> {
  const trail: Trail = { tenantId: caller.tenantId, actor: { type: 'USER', id: caller.userId }, action: 'user.resetSignInProtection', targetType: 'USER', targetId: userId };
  return auditingRefusals(app, trail, () =>
    app.db.transaction(async (tx) => {
      const [user] = await tx
        .select()
        .from(users)
        .where(and(eq(users.id, userId), eq(users.tenantId, caller.tenantId)))
        .for('update');
      if (!user) throw new DomainError('NOT_FOUND', 'No such user in your tenant. Check the id.', 'userId');
      const [reset] = await tx
        .update(users)
        .set({ riskLevel: 'NONE', pushMutedUntil: null, ...clearedLock('PHONE_SIGN_IN'), ...clearedLock('PASSWORD'), updatedAt: app.clock.now() })
        .where(eq(users.id, user.id))
        .returning();
      await audit(tx, { ...trail, before: protectionOf(user), after: protectionOf(reset!) });
      return reset!;
    }),
  );
}

/** The audit row of an attempt's outcome. */
export async function auditOutcome(tx: Executor, attempt: Attempt, actor: Actor): Promise<void> {
  await audit(tx, {
    tenantId: attempt.tenantId,
    actor,
    action: `signIn.${attempt.status.toLowerCase()}`,
    targetType: 'SIGN_IN_ATTEMPT',
    targetId: attempt.id,
    result: attempt.status === 'APPROVED' || attempt.status === 'COMPLETED' ? 'SUCCESS' : 'FAILURE',
    reasonCode: attempt.failureReason ?? undefined,
    after: { kind: attempt.kind, userId: attempt.userId, respondingDeviceId: attempt.respondingDeviceId },
  });
}

/**
 * Counts one failure against one of the user's locks (NIST SP 800-63B rev 4 throttling, the
 * tenant's failureLockoutThreshold for both) and, when it starts a lockout, raises a security
 * alert for the tenant's admins; `details.lock` says which.
 */
export async function recordFailure(tx: Executor, userId: string, settings: TenantSettings, now: Date, outbox: Outbox, lock: Lock = 'PHONE_SIGN_IN'): Promise<void> {
  const [user] = await tx.select().from(users).where(eq(users.id, userId)).for('update');
  if (!user) return;
  const next = afterFailure(LOCK_COLUMNS[lock].read(user), settings.failureLockoutThreshold, now);
  await tx
    .update(users)
    .set({ ...LOCK_COLUMNS[lock].write(next), updatedAt: now })
    .where(eq(users.id, userId));
  if (next.lockedNow) {
    const alertId = await raiseAlert(tx, {
      tenantId: user.tenantId,
      kind: 'LOCKED_OUT',
      userId,
      details: { userPrincipalName: user.userPrincipalName, lock, failedSignIns: next.failures, lockedUntil: next.lockedUntil!.toISOString() },
    });
    outbox.alert(user.tenantId, alertId);
  }
}

export const SECURITY_ALERT_KINDS = ['FRAUD_REPORTED', 'LOCKED_OUT'] as const;
export type SecurityAlertKind = (typeof SECURITY_ALERT_KINDS)[number];
/** Security alerts are audit rows with this action prefix; the audit id is the alert id. */
export const ALERT_ACTION_PREFIX = 'securityAlert.';

/** Writes a security alert (an audit row; its id is the alert id) in the caller's transaction. */
export async function raiseAlert(
  tx: Executor,
  alert: { tenantId: string; kind: SecurityAlertKind; userId: string; attemptId?: string; details: Record<string, unknown> },
): Promise<string> {
  const [row] = await tx
    .insert(auditLogs)
    .values({
      tenantId: alert.tenantId,
      actorType: 'SYSTEM',
      action: `${ALERT_ACTION_PREFIX}${alert.kind}`,
      targetType: 'USER',
      targetId: alert.userId,
      result: 'FAILURE',
      reasonCode: alert.kind,
      after: { attemptId: alert.attemptId ?? null, ...alert.details },
    })
    .returning({ id: auditLogs.id });
  return String(row!.id);
}

/**
 * Ends unanswered attempts (EXPIRED / NO_RESPONSE) and approvals never redeemed
 * (EXPIRED / NOT_REDEEMED), all that are due or just `attemptId`, and tells their browsers. A
 * compare-and-set, so several nodes may run it at once.
 */
export async function expireAttempts(app: App, attemptId?: string): Promise<void> {
  const now = app.clock.now();
  const only = attemptId === undefined ? undefined : eq(signInAttempts.id, attemptId);
  const outbox = new Outbox();
  await app.db.transaction(async (tx) => {
    const unanswered = await tx
      .update(signInAttempts)
      .set({ status: 'EXPIRED', failureReason: 'NO_RESPONSE', resolvedAt: now })
      .where(and(only, eq(signInAttempts.status, 'PENDING'), lte(signInAttempts.expiresAt, now)))
      .returning();
    const unredeemed = await tx
      .update(signInAttempts)
      .set({ status: 'EXPIRED', failureReason: 'NOT_REDEEMED' })
      .where(and(only, eq(signInAttempts.status, 'APPROVED'), lte(signInAttempts.resolvedAt, addSeconds(now, -REDEEM_WINDOW_S))))
      .returning();
    for (const attempt of [...unanswered, ...unredeemed]) {
      await updateSignInLog(tx, attempt.id, { status: logStatusOf('EXPIRED'), reasonCode: attempt.failureReason, at: now });
      await auditOutcome(tx, attempt, { type: 'SYSTEM' });
      outbox.attemptChanged(attempt.id, 'EXPIRED');
    }
  });
  outbox.publish(app);
}

/** A security alert as admins see it. */
export interface SecurityAlertView {
  id: string;
  kind: SecurityAlertKind;
  userId: string;
  attemptId: string | null;
  details: Record<string, unknown>;
  createdAt: Date;
}

const alertId = z.string().regex(/^\d{1,18}$/);

/** Live security alerts of one tenant (no replay: past alerts are in the audit log). */
export function watchSecurityAlerts(app: App, tenantId: string): AsyncIterable<SecurityAlertView> {
  return replayThenFollow<{ alertId: string }, SecurityAlertView>({
    live: app.events.subscribe('securityAlert', tenantId),
    replay: async () => [],
    key: (alert) => alert.id,
    follow: async (event) => {
      if (!alertId.safeParse(event.alertId).success) return [];
      const [row] = await app.db
        .select()
        .from(auditLogs)
        .where(and(eq(auditLogs.id, Number(event.alertId)), eq(auditLogs.tenantId, tenantId)));
      if (!row || !row.action.startsWith(ALERT_ACTION_PREFIX)) return [];
      const { attemptId, ...details } = (row.after ?? {}) as Record<string, unknown>;
      return [
        {
          id: String(row.id),
          kind: row.action.slice(ALERT_ACTION_PREFIX.length) as SecurityAlertKind,
          userId: row.targetId!,
          attemptId: typeof attemptId === 'string' ? attemptId : null,
          details,
          createdAt: row.createdAt,
        },
      ];
    },
  });
}
