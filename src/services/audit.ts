import type { Executor } from '../db/client.js';
import { auditLogs } from '../db/schema.js';
import { DomainError } from '../domain/errors.js';
import type { App } from './app.js';
import { logWritten } from './useCase.js';

export type Actor =
  | { type: 'OPERATOR' }
  | { type: 'USER'; id: string }
  | { type: 'DEVICE'; id: string }
  | { type: 'ANONYMOUS' }
  | { type: 'SYSTEM' };

export interface AuditEntry {
  tenantId: string | null;
  actor: Actor;
  action: string;
  targetType?: string;
  targetId?: string | null;
  result?: 'SUCCESS' | 'FAILURE';
  reasonCode?: string;
  before?: unknown;
  after?: unknown;
}

/** Writes one audit record, in the caller's transaction so it stands or falls with the change. */
export async function audit(tx: Executor, entry: AuditEntry): Promise<void> {
  await tx.insert(auditLogs).values(auditRow(entry));
  logWritten(tx, entry.tenantId, 'AUDIT');
}

/** The insert of one audit record, unsent, for a use case's transaction: send it in one statement with another write (updateSignInLog). */
export function auditInsert(tx: Executor, entry: AuditEntry) {
  logWritten(tx, entry.tenantId, 'AUDIT');
  return tx.insert(auditLogs).values(auditRow(entry));
}

/** The audit_logs row of an entry. */
export function auditRow(entry: AuditEntry) {
  return {
    tenantId: entry.tenantId,
    actorType: entry.actor.type,
    actorId: 'id' in entry.actor ? entry.actor.id : null,
    action: entry.action,
    targetType: entry.targetType ?? null,
    targetId: entry.targetId ?? null,
    result: entry.result ?? 'SUCCESS',
    reasonCode: entry.reasonCode ?? null,
    before: entry.before ?? null,
    after: entry.after ?? null,
  };
}

/** Writes the audit record of a signed-in user (an admin, mostly) acting on their own tenant. */
export const auditByUser = (tx: Executor, caller: { tenantId: string; userId: string }, entry: Omit<AuditEntry, 'tenantId' | 'actor'>) =>
  audit(tx, { ...entry, tenantId: caller.tenantId, actor: { type: 'USER', id: caller.userId } });

/** The audit record a use case builds up as it learns who and what it concerns. */
export type Trail = Omit<AuditEntry, 'result'>;

/**
 * Runs a use case and, when it refuses with a DomainError, writes the refusal to the audit log in
 * its own write: the use case's transaction has rolled back, taking its own records with it.
 */
export async function auditingRefusals<T>(app: App, trail: Trail, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (error) {
    if (error instanceof DomainError) await audit(app.db, { ...trail, result: 'FAILURE', reasonCode: trail.reasonCode ?? error.code });
    throw error;
  }
}
