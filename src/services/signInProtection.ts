import { type SQL, and, count, eq, gt, inArray, max, ne } from 'drizzle-orm';
import type { Executor } from '../db/client.js';
import { signInAttempts, users } from '../db/schema.js';
import { addSeconds } from '../domain/clock.js';
import { allowsPhoneSignIn, allowsPushMfa } from '../domain/policy.js';
import type { PastSignIn } from '../domain/risk.js';
import type { TenantSettings } from '../domain/settings.js';
import { type AttemptKind, type FailureReason, type RefusalReason, refusalReason } from '../domain/signInAttempt.js';
import { DomainError } from '../domain/errors.js';
import { nextRisk } from '../domain/userRisk.js';
import { type FailureState, type Lock, afterFailure, afterSuccess, pushRateLimited, pushWindowStart } from '../domain/throttle.js';
import type { App } from './app.js';
import { type Attempt, auditOutcome, transitionAll } from './attempts.js';
import { type Trail, audit, auditingRefusals } from './audit.js';
import { loadPushState } from './pushDecision.js';
import { raiseAlert } from './securityAlerts.js';
import { updateSignInLog } from './signInLogs.js';
import { type Outbox, runUseCase } from './useCase.js';
import { userNotFound } from './users.js';

// What protects a user from guessing and from push fatigue: the two lockouts, the push limits,
// fraud reports, and the admin reset of all of them.

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

/** Why not to push to this user now, or null: the policy, the credential and the anti-fatigue limits (read in one statement, pushDecision.ts). */
export async function pushRefusal(
  tx: Executor,
  user: UserRow,
  settings: TenantSettings,
  kind: AttemptKind,
  now: Date,
  mandatory = false,
): Promise<RefusalReason | null> {
  return (await pushVerdict(tx, user, settings, kind, now, mandatory)).reason;
}

/** pushRefusal's answer, with the user's recent successful sign-ins the same statement read (for the risk signals). */
export async function pushVerdict(
  tx: Executor,
  user: UserRow,
  settings: TenantSettings,
  kind: AttemptKind,
  now: Date,
  mandatory = false,
): Promise<{ reason: RefusalReason | null; signInHistory: PastSignIn[]; deviceIds: string[] }> {
  const state = await loadPushState(tx, user, settings, now);
  const reason = refusalReason({
    now,
    kind,
    userFound: true,
    disabled: user.disabled,
    pushAllowedByTenant: mandatory || settings.pushNotificationsAllowed,
    policyAllows: mandatory || (kind === 'PHONE_SIGN_IN' ? allowsPhoneSignIn(state.policy) : allowsPushMfa(state.policy)),
    hasLiveCredential: state.hasLiveCredential,
    hasLiveDevice: state.hasLiveDevice,
    lockedUntil: user.lockedUntil,
    pushMutedUntil: user.pushMutedUntil,
    rateLimited: pushRateLimited(state.pushesInWindow, settings.pushRateLimit.maxPushes),
    hasPendingAttempt: state.hasPendingAttempt,
  });
  // The devices that may see the challenge (pendingChallenges.ts visibleKinds): this node pushes to those connected here without a read.
  return { reason, signInHistory: state.signInHistory, deviceIds: kind === 'PHONE_SIGN_IN' ? state.credentialDeviceIds : state.liveDeviceIds };
}

/** The user's sign-ins still open to a session: waiting on the phone, or approved and not yet redeemed. */
export const openAttemptsOf = (userId: string) => and(eq(signInAttempts.userId, userId), inArray(signInAttempts.status, ['PENDING', 'APPROVED']));

/** Cancels the attempts `which` names, each with its log row, audit record and browser told. */
export async function cancelAttempts(tx: Executor, which: SQL | undefined, reason: FailureReason, now: Date, outbox: Outbox): Promise<void> {
  const cancelled = await transitionAll(tx, which, 'CANCELLED', { failureReason: reason, resolvedAt: now });
  for (const attempt of cancelled) {
    await updateSignInLog(tx, attempt.id, { status: 'FAILURE', reasonCode: reason, at: now }, outbox);
    await auditOutcome(tx, attempt, { type: 'SYSTEM' });
    outbox.attemptChanged(attempt);
  }
}

/**
 * Counts one failure against one of the user's locks (NIST SP 800-63B rev 4 throttling, the
 * tenant's failureLockoutThreshold for both) and, when it starts a lockout, raises a security
 * alert for the tenant's admins; `details.lock` says which. A phone sign-in lock also ends the
 * user's open sign-ins (LOCKED_OUT): a lock that let a waiting approval through, or let an
 * approved one be redeemed, would not lock.
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
    if (lock === 'PHONE_SIGN_IN') await cancelAttempts(tx, openAttemptsOf(userId), 'LOCKED_OUT', now, outbox);
    const alertId = await raiseAlert(tx, {
      tenantId: user.tenantId,
      kind: 'LOCKED_OUT',
      userId,
      details: { userPrincipalName: user.userPrincipalName, lock, failedSignIns: next.failures, lockedUntil: next.lockedUntil!.toISOString() },
    });
    outbox.alert(user.tenantId, alertId);
  }
}

/**
 * "This wasn't me": the user's risk becomes HIGH, pushes are muted for fraudMuteMinutes, every
 * other open attempt is cancelled — pending ones, and approved ones not yet redeemed, which the
 * report may well be about too — and the tenant's admins get a live alert.
 */
export async function fraudReported(tx: Executor, reported: Attempt, settings: TenantSettings, now: Date, outbox: Outbox) {
  const risk = nextRisk({ level: 'NONE', state: 'NONE' }, 'FRAUD_REPORTED');
  const [user] = await tx
    .update(users)
    .set({ riskLevel: risk.level, riskState: risk.state, riskDetail: risk.detail, riskUpdatedAt: now, pushMutedUntil: addSeconds(now, settings.fraudMuteMinutes * 60), updatedAt: now })
    .where(eq(users.id, reported.userId))
    .returning({ userPrincipalName: users.userPrincipalName });
  await cancelAttempts(tx, and(openAttemptsOf(reported.userId), ne(signInAttempts.id, reported.id)), 'SUPERSEDED_BY_FRAUD_REPORT', now, outbox);
  const alertId = await raiseAlert(tx, {
    tenantId: reported.tenantId,
    kind: 'FRAUD_REPORTED',
    userId: reported.userId,
    attemptId: reported.id,
    details: {
      userPrincipalName: user?.userPrincipalName ?? null,
      appName: reported.appName,
      ipAddress: reported.ipAddress,
      location: reported.location,
      deviceId: reported.respondingDeviceId,
    },
  });
  outbox.alert(reported.tenantId, alertId);
}

/** Forged answers (signatures that do not verify) one device may send per window before its answers are refused unchecked. */
export const FORGED_ANSWERS_PER_DEVICE = 5;
/** The window of that cap: long enough to make guessing pointless, short enough to forget a glitch. */
export const FORGED_ANSWER_WINDOW_S = 600;
/** Devices remembered per server; beyond it the oldest is forgotten, so the memory stays bounded. */
const MAX_TRACKED_DEVICES = 10_000;
/** When each device's recent forged answers arrived, per server. */
const forgedAnswers = new WeakMap<App, Map<string, number[]>>();

/**
 * Refuses, before any signature work, the answers of a device that sent too many forged ones
 * lately. A signature that does not verify proves nothing about the user (whoever knows a
 * challenge id can send one), so it never counts towards their lockout; it is audited, and
 * capped here per device and per server (rate-limiter-flexible limits requests in general).
 */
export function refuseIfForging(app: App, deviceId: string): void {
  const recent = liveForgeries(app, deviceId);
  if (recent.length < FORGED_ANSWERS_PER_DEVICE) return;
  const retryInS = Math.ceil((recent[0]! + FORGED_ANSWER_WINDOW_S * 1000 - app.clock.now().getTime()) / 1000);
  throw new DomainError(
    'TOO_MANY_INVALID_SIGNATURES',
    `This device sent ${recent.length} responses whose signatures did not verify in the last ${FORGED_ANSWER_WINDOW_S / 60} minutes, so its answers are refused for ${retryInS} s. Enable phone sign-in in the app again if its key changed.`,
    'response',
  );
}

/** Remembers one forged answer from this device (see refuseIfForging). */
export function recordForgery(app: App, deviceId: string): void {
  let devices = forgedAnswers.get(app);
  if (!devices) forgedAnswers.set(app, (devices = new Map()));
  const recent = liveForgeries(app, deviceId);
  devices.delete(deviceId);
  devices.set(deviceId, [...recent, app.clock.now().getTime()]);
  if (devices.size > MAX_TRACKED_DEVICES) devices.delete(devices.keys().next().value!);
}

function liveForgeries(app: App, deviceId: string): number[] {
  const since = app.clock.now().getTime() - FORGED_ANSWER_WINDOW_S * 1000;
  return (forgedAnswers.get(app)?.get(deviceId) ?? []).filter((at) => at > since);
}

/** What resetSignInProtection changes, as its audit record shows it. */
const protectionOf = (user: UserRow) => ({
  riskLevel: user.riskLevel,
  riskState: user.riskState,
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
    runUseCase(app, async (tx) => {
      const [user] = await tx
        .select()
        .from(users)
        .where(and(eq(users.id, userId), eq(users.tenantId, caller.tenantId)))
        .for('update');
      if (!user) throw userNotFound('userId');
      const now = app.clock.now();
      const risk = nextRisk({ level: user.riskLevel, state: user.riskState }, 'RESET');
      const [reset] = await tx
        .update(users)
        .set({ riskLevel: risk.level, riskState: risk.state, riskDetail: risk.detail, riskUpdatedAt: now, pushMutedUntil: null, ...clearedLock('PHONE_SIGN_IN'), ...clearedLock('PASSWORD'), updatedAt: now })
        .where(eq(users.id, user.id))
        .returning();
      await audit(tx, { ...trail, before: protectionOf(user), after: protectionOf(reset!) });
      return reset!;
    }),
  );
}
