import { and, eq, exists, gt, isNull, sql } from 'drizzle-orm';
import type { Executor } from '../db/client.js';
import { devices, groupMembers, phoneSignInPolicies, signInAttempts, tenants, type users } from '../db/schema.js';
import { effectivePolicy, type EffectivePolicy } from '../domain/policy.js';
import type { TenantSettings } from '../domain/settings.js';
import { liveCredentials } from './phoneSignInCredential.js';

/** What decides whether a push may go to a user now, beyond the user row itself. */
export interface PushState {
  policy: EffectivePolicy;
  hasLiveCredential: boolean;
  hasLiveDevice: boolean;
  hasPendingAttempt: boolean;
  /** Pushes since the rate limit's window began (the window restarts at the last completed sign-in). */
  pushesInWindow: number;
}

/**
 * Everything the push decision reads, in one statement: the policy and the user's groups, live
 * credentials and devices, a pending attempt, and the pushes in the rate limit's window. Run it
 * after locking the user row, so it sees every attempt a concurrent sign-in committed first.
 */
export async function loadPushState(tx: Executor, user: typeof users.$inferSelect, settings: TenantSettings, now: Date): Promise<PushState> {
  const windowStart = new Date(now.getTime() - settings.pushRateLimit.windowMinutes * 60_000).toISOString();
  const mine = eq(signInAttempts.userId, user.id);
  const [row] = await tx
    .select({
      legacy: tenants.legacyPhoneSignInEnabled,
      policyEnabled: phoneSignInPolicies.enabled,
      includeTargets: phoneSignInPolicies.includeTargets,
      excludeTargets: phoneSignInPolicies.excludeTargets,
      groupIds: sql<string[]>`array(select ${groupMembers.groupId} from ${groupMembers} where ${groupMembers.userId} = ${user.id})`,
      hasLiveCredential: exists(liveCredentials(tx, { userId: user.id })).mapWith(Boolean),
      hasLiveDevice: exists(tx.select({ id: devices.id }).from(devices).where(and(eq(devices.userId, user.id), isNull(devices.revokedAt)))).mapWith(Boolean),
      hasPendingAttempt: exists(
        tx.select({ id: signInAttempts.id }).from(signInAttempts).where(and(mine, eq(signInAttempts.status, 'PENDING'), gt(signInAttempts.expiresAt, now))),
      ).mapWith(Boolean),
      // The window starts at the later of (now - window) and the last completed sign-in (domain/throttle.ts pushWindowStart).
      pushesInWindow: sql<number>`(select count(*) from ${signInAttempts} where ${mine} and ${signInAttempts.createdAt} > greatest(${windowStart}::timestamptz,
        (select max(${signInAttempts.completedAt}) from ${signInAttempts} where ${mine} and ${signInAttempts.status} = 'COMPLETED')))`.mapWith(Number),
    })
    .from(tenants)
    .leftJoin(phoneSignInPolicies, eq(phoneSignInPolicies.tenantId, tenants.id))
    .where(eq(tenants.id, user.tenantId));
  const saved = row && row.policyEnabled !== null ? { enabled: row.policyEnabled, includeTargets: row.includeTargets!, excludeTargets: row.excludeTargets! } : null;
  return {
    policy: effectivePolicy({ id: user.id, disabled: user.disabled, groupIds: row?.groupIds ?? [] }, saved, row?.legacy ?? false),
    hasLiveCredential: row?.hasLiveCredential ?? false,
    hasLiveDevice: row?.hasLiveDevice ?? false,
    hasPendingAttempt: row?.hasPendingAttempt ?? false,
    pushesInWindow: row?.pushesInWindow ?? 0,
  };
}
