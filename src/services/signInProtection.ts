import { and, eq, ne } from 'drizzle-orm';
import type { Executor } from '../db/client.js';
import { signInAttempts, users } from '../db/schema.js';
import { addSeconds } from '../domain/clock.js';
import { allowsPhoneSignIn, allowsPushMfa } from '../domain/policy.js';
import type { TenantSettings } from '../domain/settings.js';
import { type AttemptKind, type RefusalReason, refusalReason } from '../domain/signInAttempt.js';
import { type FailureState, type Lock, afterFailure, afterSuccess, pushRateLimited } from '../domain/throttle.js';
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
): Promise<RefusalReason | null> {
  const state = await loadPushState(tx, user, settings, now);
  return refusalReason({
    now,
    kind,
    userFound: true,
    disabled: user.disabled,
    pushAllowedByTenant: settings.pushNotificationsAllowed,
    policyAllows: kind === 'PHONE_SIGN_IN' ? allowsPhoneSignIn(state.policy) : allowsPushMfa(state.policy),
    hasLiveCredential: state.hasLiveCredential,
    hasLiveDevice: state.hasLiveDevice,
    lockedUntil: user.lockedUntil,
    pushMutedUntil: user.pushMutedUntil,
    rateLimited: pushRateLimited(state.pushesInWindow, settings.pushRateLimit.maxPushes),
    hasPendingAttempt: state.hasPendingAttempt,
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

/**
 * "This wasn't me": the user's risk becomes HIGH, pushes are muted for fraudMuteMinutes, every
 * other pending attempt is cancelled, and the tenant's admins get a live alert.
 */
export async function fraudReported(tx: Executor, reported: Attempt, settings: TenantSettings, now: Date, outbox: Outbox) {
  const [user] = await tx
    .update(users)
    .set({ riskLevel: 'HIGH', pushMutedUntil: addSeconds(now, settings.fraudMuteMinutes * 60), updatedAt: now })
    .where(eq(users.id, reported.userId))
    .returning({ userPrincipalName: users.userPrincipalName });
  const others = await transitionAll(
    tx,
    and(eq(signInAttempts.userId, reported.userId), eq(signInAttempts.status, 'PENDING'), ne(signInAttempts.id, reported.id)),
    'CANCELLED',
    { failureReason: 'SUPERSEDED_BY_FRAUD_REPORT', resolvedAt: now },
  );
  for (const other of others) {
    await updateSignInLog(tx, other.id, { status: 'FAILURE', reasonCode: other.failureReason, at: now }, outbox);
    await auditOutcome(tx, other, { type: 'SYSTEM' });
    outbox.attemptChanged(other.id, 'CANCELLED');
  }
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
    runUseCase(app, async (tx) => {
      const [user] = await tx
        .select()
        .from(users)
        .where(and(eq(users.id, userId), eq(users.tenantId, caller.tenantId)))
        .for('update');
      if (!user) throw userNotFound('userId');
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
