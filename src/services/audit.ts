import type { Executor } from '../db/client.js';
import { auditLogs } from '../db/schema.js';

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
  await tx.insert(auditLogs).values({
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
  });
}

/** Writes the audit record of a signed-in user (an admin, mostly) acting on their own tenant. */
export const auditByUser = (tx: Executor, caller: { tenantId: string; userId: string }, entry: Omit<AuditEntry, 'tenantId' | 'actor'>) =>
  audit(tx, { ...entry, tenantId: caller.tenantId, actor: { type: 'USER', id: caller.userId } });
