import { and, eq, exists, gt, sql } from 'drizzle-orm';
import type { Executor } from '../db/client.js';
import { devices, groupMembers, phoneSignInPolicies, signInAttempts, signInLogs, tenants, type users } from '../db/schema.js';
import type { PastSignIn } from '../domain/risk.js';
import { effectivePolicy, type EffectivePolicy } from '../domain/policy.js';
import type { TenantSettings } from '../domain/settings.js';
import { pushWindowStart } from '../domain/throttle.js';
import { liveCredentials } from './phoneSignInCredential.js';

/** What decides whether a push may go to a user now, beyond the user row itself. */
export interface PushState {
  policy: EffectivePolicy;
  hasLiveCredential: boolean;
  hasLiveDevice: boolean;
  /** The user's live devices holding a live phone sign-in credential: where a phone sign-in goes. */
  credentialDeviceIds: string[];
  /** The user's live devices: where push MFA goes. */
  liveDeviceIds: string[];
  hasPendingAttempt: boolean;
  /** Pushes since the rate limit's window began (the window restarts at the last completed sign-in). */
  pushesInWindow: number;
  /** The user's successful sign-ins of the last riskDetection.familiarDays, newest first, at most SIGN_IN_HISTORY_ROWS: what risk signals compare with. */
  signInHistory: PastSignIn[];
}

/** Enough for several sign-ins a day over the familiarity window, few enough to read on every push. */
export const SIGN_IN_HISTORY_ROWS = 200;

type HistoryRow = Omit<PastSignIn, 'at'> & { id: number; atMs: number };

/**
 * Everything the push decision reads, in one statement: the policy and the user's groups, live
 * credentials and devices, a pending attempt, the pushes in the rate limit's window, and the
 * recent successful sign-ins the risk signals compare with (newest first). Run it
 * after locking the user row, so it sees every attempt a concurrent sign-in committed first.
 */
export async function loadPushState(tx: Executor, user: typeof users.$inferSelect, settings: TenantSettings, now: Date): Promise<PushState> {
  const windowStart = pushWindowStart(now, settings.pushRateLimit.windowMinutes, null);
  const mine = eq(signInAttempts.userId, user.id);
  const historyStart = new Date(now.getTime() - settings.riskDetection.familiarDays * 86_400_000);
  const [row] = await tx
    .select({
      legacy: tenants.legacyPhoneSignInEnabled,
      policyEnabled: phoneSignInPolicies.enabled,
      includeTargets: phoneSignInPolicies.includeTargets,
      excludeTargets: phoneSignInPolicies.excludeTargets,
      // Lists come back as JSON: postgres.js parses json by itself, while Postgres arrays would need
      // the array types it no longer fetches on connecting (fetch_types: false, see db/client.ts).
      groupIds: sql<string[]>`(select coalesce(json_agg(${groupMembers.groupId}), '[]'::json) from ${groupMembers} where ${groupMembers.userId} = ${user.id})`,
      credentialDeviceIds: sql<string[]>`(select coalesce(json_agg(distinct c.device_id), '[]'::json) from (${liveCredentials(tx, { userId: user.id })}) c)`,
      liveDeviceIds: sql<string[]>`(select coalesce(json_agg(${devices.id}), '[]'::json) from ${devices} where ${devices.userId} = ${user.id} and ${devices.revokedAt} is null)`,
      hasPendingAttempt: exists(
        tx.select({ id: signInAttempts.id }).from(signInAttempts).where(and(mine, eq(signInAttempts.status, 'PENDING'), gt(signInAttempts.expiresAt, now))),
      ).mapWith(Boolean),
      // The attempts of the whole window and the last success; pushWindowStart then says which count.
      recentPushesMs: sql<number[]>`(select coalesce(json_agg((extract(epoch from ${signInAttempts.createdAt}) * 1000)::float8), '[]'::json) from ${signInAttempts} where ${mine} and ${signInAttempts.createdAt} > ${windowStart.toISOString()}::timestamptz)`,
      history: sql<HistoryRow[]>`(select coalesce(json_agg(h order by h."atMs" desc, h.id desc), '[]'::json) from (select ${signInLogs.id} as id, (extract(epoch from ${signInLogs.createdAt}) * 1000)::float8 as "atMs", ${signInLogs.ipAddress} as "ipAddress", ${signInLogs.countryCode} as "countryCode", ${signInLogs.city} as city, ${signInLogs.latitude} as latitude, ${signInLogs.longitude} as longitude, ${signInLogs.accuracyKm} as "accuracyKm" from ${signInLogs} where ${signInLogs.userId} = ${user.id} and ${signInLogs.status} = 'SUCCESS' and ${signInLogs.createdAt} > ${historyStart.toISOString()}::timestamptz order by ${signInLogs.createdAt} desc, ${signInLogs.id} desc limit ${SIGN_IN_HISTORY_ROWS}) h)`,
      lastSuccessMs: sql<number | null>`(select (extract(epoch from max(${signInAttempts.completedAt})) * 1000)::float8 from ${signInAttempts} where ${mine} and ${signInAttempts.status} = 'COMPLETED')`,
    })
    .from(tenants)
    .leftJoin(phoneSignInPolicies, eq(phoneSignInPolicies.tenantId, tenants.id))
    .where(eq(tenants.id, user.tenantId));
  const countSince = (times: number[], start: Date) => times.filter((ms) => Number(ms) > start.getTime()).length;
  const saved = row && row.policyEnabled !== null ? { enabled: row.policyEnabled, includeTargets: row.includeTargets!, excludeTargets: row.excludeTargets! } : null;
  return {
    policy: effectivePolicy({ id: user.id, disabled: user.disabled, groupIds: row?.groupIds ?? [] }, saved, row?.legacy ?? false),
    hasLiveCredential: (row?.credentialDeviceIds ?? []).length > 0,
    hasLiveDevice: (row?.liveDeviceIds ?? []).length > 0,
    credentialDeviceIds: row?.credentialDeviceIds ?? [],
    liveDeviceIds: row?.liveDeviceIds ?? [],
    hasPendingAttempt: row?.hasPendingAttempt ?? false,
    signInHistory: (row?.history ?? []).map(({ id: _id, atMs, ...place }) => ({ ...place, at: new Date(Number(atMs)) })),
    pushesInWindow: countSince(row?.recentPushesMs ?? [], pushWindowStart(now, settings.pushRateLimit.windowMinutes, row?.lastSuccessMs == null ? null : new Date(Number(row.lastSuccessMs)))),
  };
}
