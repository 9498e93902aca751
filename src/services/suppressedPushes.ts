import { and, desc, eq, gt, inArray, isNull } from 'drizzle-orm';
import type { Executor } from '../db/client.js';
import { signInLogs } from '../db/schema.js';
import { describeSignal } from '../domain/risk.js';
import type { AttemptKind } from '../domain/signInAttempt.js';
import type { App } from './app.js';
import type { DeviceAuth } from './devices.js';
import { loadTenantSettings } from './policy.js';

// Sign-in requests the anti-fatigue rules kept from the user's phone. Entra and Duo tell the user
// of these: a stream of them means someone else is trying their account, and the anonymous
// browser, which is told only "use your password", must not be the only one who knows.

/** Refusals that held back a push the user would otherwise have had. */
export const SUPPRESSION_REASONS = ['RATE_LIMITED', 'PUSH_MUTED', 'LOCKED_OUT', 'RISK_HELD_BACK'] as const;
export type SuppressionReason = (typeof SUPPRESSION_REASONS)[number];
/** How far back the user is told: a day covers "overnight" without growing into a history (the sign-in log is that). */
export const SUPPRESSED_SHOWN_HOURS = 24;
/** At most this many, newest first: enough to see a pattern, small enough for a phone screen. */
export const SUPPRESSED_SHOWN_MAX = 20;

export interface SuppressedRequest {
  at: Date;
  kind: AttemptKind;
  reason: SuppressionReason;
  appName: string | null;
  ipAddress: string | null;
  location: string | null;
  /** RISK_HELD_BACK: what held it back, in sentences for the user; null otherwise. */
  detail: string | null;
}

/**
 * The user's requests not pushed for a reason in SUPPRESSION_REASONS lately, from the sign-in log:
 * the rows written without an attempt (no push went out), phone sign-ins and push MFA alike.
 */
export async function recentSuppressedRequests(db: Executor, user: { id: string; tenantId: string }, now: Date): Promise<SuppressedRequest[]> {
  const rows = await db
    .select()
    .from(signInLogs)
    .where(
      and(
        eq(signInLogs.tenantId, user.tenantId),
        eq(signInLogs.userId, user.id),
        isNull(signInLogs.attemptId),
        inArray(signInLogs.method, ['PHONE_SIGN_IN', 'PUSH_MFA']),
        inArray(signInLogs.reasonCode, [...SUPPRESSION_REASONS]),
        gt(signInLogs.createdAt, new Date(now.getTime() - SUPPRESSED_SHOWN_HOURS * 3_600_000)),
      ),
    )
    .orderBy(desc(signInLogs.id))
    .limit(SUPPRESSED_SHOWN_MAX);
  return rows.map((row) => ({
    at: row.createdAt,
    kind: row.method as AttemptKind,
    reason: row.reasonCode as SuppressionReason,
    appName: row.appName,
    ipAddress: row.ipAddress,
    location: row.location,
    detail: row.reasonCode === 'RISK_HELD_BACK' ? (row.riskSignals ?? []).filter((signal) => signal.action === 'BLOCK').map(describeSignal).join(' ') || null : null,
  }));
}

/** The same for the authenticator, showing the application and place only as its challenges would (tenant settings). */
export async function suppressedRequestsForDevice(app: App, auth: DeviceAuth): Promise<SuppressedRequest[]> {
  const requests = await recentSuppressedRequests(app.db, { id: auth.userId, tenantId: auth.tenantId }, app.clock.now());
  if (requests.length === 0) return [];
  const settings = await loadTenantSettings(app.db, auth.tenantId);
  return requests.map((r) => ({
    ...r,
    appName: settings.showApplicationName ? r.appName : null,
    location: settings.showGeographicLocation ? r.location : null,
    ipAddress: settings.showGeographicLocation ? r.ipAddress : null,
    // The sentences name places and addresses, so the location setting governs them too.
    detail: settings.showGeographicLocation ? r.detail : null,
  }));
}
