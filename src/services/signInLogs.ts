import { eq, sql } from 'drizzle-orm';
import { type Executor, rowsOf } from '../db/client.js';
import { signInLogs } from '../db/schema.js';
import type { NumberStyle } from '../domain/numberMatching.js';
import type { Place, RiskLevel, RiskSignal } from '../domain/risk.js';
import type { SignInLogStatus, SignInMethod } from '../domain/signInAttempt.js';
import { type AuditEntry, auditInsert } from './audit.js';
import { logWritten } from './useCase.js';

export interface SignInLogEntry {
  tenantId: string;
  userId: string | null;
  userPrincipalName: string;
  attemptId?: string;
  method: SignInMethod;
  status: SignInLogStatus;
  /** The real reason, even where the browser was shown a vaguer one. */
  reasonCode?: string | null;
  appName?: string | null;
  ipAddress?: string | null;
  location?: string | null;
  deviceId?: string | null;
  numberStyle?: NumberStyle | null;
  /** Where the browser's address is: what later sign-ins' risk signals compare with. */
  place?: Place | null;
  /** The risk assessment of a push sign-in; absent where none was made. */
  risk?: SignInRisk | null;
  at: Date;
}

/** A sign-in's risk: its level and the signals that raised it, with their evidence. */
export interface SignInRisk {
  level: RiskLevel;
  signals: RiskSignal[];
}

/**
 * Where a sign-in that ended (its log row left IN_PROGRESS) is counted: the use case's outbox,
 * which counts it once the transaction commits, or the metrics themselves for a write on its own.
 */
export interface SignInsEnded {
  signInEnded(method: SignInMethod, status: SignInLogStatus): void;
}

/** Writes the sign-in log row of one sign-in, in the caller's transaction; one that ended is counted. */
export async function writeSignInLog(tx: Executor, entry: SignInLogEntry & { status: 'IN_PROGRESS' }): Promise<void>;
export async function writeSignInLog(tx: Executor, entry: SignInLogEntry, ended: SignInsEnded): Promise<void>;
export async function writeSignInLog(tx: Executor, entry: SignInLogEntry, ended?: SignInsEnded): Promise<void> {
  await signInLogInsert(tx, entry);
  if (entry.status !== 'IN_PROGRESS') ended?.signInEnded(entry.method, entry.status);
}

/** The insert of one sign-in log row, unsent: await it, or send it in one statement with another write (startAttempt). */
export function signInLogInsert(tx: Executor, entry: SignInLogEntry) {
  logWritten(tx, entry.tenantId, 'SIGN_IN');
  return tx.insert(signInLogs).values({
    tenantId: entry.tenantId,
    userId: entry.userId,
    userPrincipalName: entry.userPrincipalName,
    attemptId: entry.attemptId ?? null,
    method: entry.method,
    status: entry.status,
    reasonCode: entry.reasonCode ?? null,
    appName: entry.appName ?? null,
    ipAddress: entry.ipAddress ?? null,
    location: entry.location ?? null,
    deviceId: entry.deviceId ?? null,
    numberStyle: entry.numberStyle ?? null,
    countryCode: entry.place?.countryCode ?? null,
    city: entry.place?.city ?? null,
    latitude: entry.place?.latitude ?? null,
    longitude: entry.place?.longitude ?? null,
    accuracyKm: entry.place?.accuracyKm ?? null,
    riskLevel: entry.risk?.level ?? null,
    riskSignals: entry.risk?.signals ?? null,
    createdAt: entry.at,
    updatedAt: entry.at,
  });
}

/**
 * Moves the log row of an attempt along with the attempt, in the same transaction; one that ended
 * is counted. With `andAudit`, the audit record of the change is written in the same statement.
 */
export async function updateSignInLog(
  tx: Executor,
  attemptId: string,
  change: { status: SignInLogStatus; reasonCode?: string | null; deviceId?: string | null; risk?: SignInRisk; at: Date },
  ended: SignInsEnded,
  andAudit?: AuditEntry,
): Promise<void> {
  const update = tx
    .update(signInLogs)
    .set({
      status: change.status,
      ...(change.reasonCode !== undefined ? { reasonCode: change.reasonCode } : {}),
      ...(change.deviceId ? { deviceId: change.deviceId } : {}),
      ...(change.risk ? { riskLevel: change.risk.level, riskSignals: change.risk.signals } : {}),
      updatedAt: change.at,
      // The changed row moves to this transaction's place in the live feed, so followers see it again.
      feedTx: sql`pg_current_xact_id()`,
    })
    .where(eq(signInLogs.attemptId, attemptId))
    .returning({ method: signInLogs.method, tenantId: signInLogs.tenantId });
  const rows = andAudit
    ? rowsOf<{ method: string; tenant_id: string }>(
        await tx.execute(sql`with log as (${update.getSQL()}), audited as (${auditInsert(tx, andAudit).getSQL()}) select method, tenant_id from log`),
      ).map((row) => ({ method: row.method, tenantId: row.tenant_id }))
    : await update;
  for (const { tenantId } of rows) logWritten(tx, tenantId, 'SIGN_IN');
  if (change.status === 'IN_PROGRESS') return;
  for (const { method } of rows) ended.signInEnded(method as SignInMethod, change.status);
}

