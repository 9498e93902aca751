import { and, eq } from 'drizzle-orm';
import { z } from 'zod';
import type { Executor } from '../db/client.js';
import { auditLogs } from '../db/schema.js';
import type { App } from './app.js';
import { logWritten } from './useCase.js';

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
  logWritten(tx, alert.tenantId, 'AUDIT');
  return String(row!.id);
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
  return app.live.alerts.subscribe(tenantId, {});
}

/**
 * One raised alert for every local watcher of its tenant, one statement (the hub in live.ts). The
 * id comes from an event and is not trusted: the row must be an alert of that tenant.
 */
export async function raisedAlert<S>(app: App, tenantId: string, id: string, watchers: S[]): Promise<Map<string, Map<S, SecurityAlertView[]>>> {
  if (!alertId.safeParse(id).success) return new Map();
  const [row] = await app.db
    .select()
    .from(auditLogs)
    .where(and(eq(auditLogs.id, Number(id)), eq(auditLogs.tenantId, tenantId)));
  if (!row || !row.action.startsWith(ALERT_ACTION_PREFIX)) return new Map();
  const { attemptId, ...details } = (row.after ?? {}) as Record<string, unknown>;
  const alert: SecurityAlertView = {
    id: String(row.id),
    kind: row.action.slice(ALERT_ACTION_PREFIX.length) as SecurityAlertKind,
    userId: row.targetId!,
    attemptId: typeof attemptId === 'string' ? attemptId : null,
    details,
    createdAt: row.createdAt,
  };
  return new Map([[tenantId, new Map(watchers.map((watcher) => [watcher, [alert]]))]]);
}
