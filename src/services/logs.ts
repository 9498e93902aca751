import { type SQL, and, asc, desc, eq, gt, gte, inArray, lt } from 'drizzle-orm';
import type { PgColumn } from 'drizzle-orm/pg-core';
import { auditLogs, devices, signInLogs, users } from '../db/schema.js';
import type { App } from './app.js';

/** A page over rows numbered by a bigserial id, newest first; cursors are row ids. */
export interface IdPage {
  /** Rows older than this id. */
  after?: number;
  /** Rows newer than this id. */
  before?: number;
  limit: number;
  /** Walk oldest first (for `last`/`before`); the caller reverses the page. */
  inverted: boolean;
}

export interface TimeRange {
  /** Inclusive. */
  from?: Date | null;
  /** Exclusive. */
  to?: Date | null;
}

/** The conditions of one page of a log within a time range, filtered by column equality where a filter is set. */
function logConditions(
  log: { tenantId: PgColumn; id: PgColumn; createdAt: PgColumn },
  tenantId: string,
  equal: Array<[PgColumn, string | null | undefined]>,
  page: IdPage,
  range: TimeRange,
): SQL | undefined {
  return and(
    eq(log.tenantId, tenantId),
    ...equal.map(([column, value]) => (value ? eq(column, value) : undefined)),
    page.after !== undefined ? lt(log.id, page.after) : undefined,
    page.before !== undefined ? gt(log.id, page.before) : undefined,
    range.from ? gte(log.createdAt, range.from) : undefined,
    range.to ? lt(log.createdAt, range.to) : undefined,
  );
}

/** Newest first, or oldest first when the page walks backwards. */
const pageOrder = (id: PgColumn, page: IdPage) => (page.inverted ? asc(id) : desc(id));

export interface AuditLogFilter extends TimeRange {
  action?: string | null;
  actorId?: string | null;
  targetType?: string | null;
  targetId?: string | null;
  result?: 'SUCCESS' | 'FAILURE' | null;
}

/** The caller's tenant's audit records, newest first. */
export function listAuditLogs(app: App, tenantId: string, filter: AuditLogFilter, page: IdPage) {
  const equal: Array<[PgColumn, string | null | undefined]> = [
    [auditLogs.action, filter.action],
    [auditLogs.actorId, filter.actorId],
    [auditLogs.targetType, filter.targetType],
    [auditLogs.targetId, filter.targetId],
    [auditLogs.result, filter.result],
  ];
  return app.db.select().from(auditLogs).where(logConditions(auditLogs, tenantId, equal, page, filter)).orderBy(pageOrder(auditLogs.id, page)).limit(page.limit);
}

export interface SignInLogFilter extends TimeRange {
  userId?: string | null;
  status?: string | null;
  reasonCode?: string | null;
  method?: string | null;
}

/** The caller's tenant's sign-in records, newest first. */
export function listSignInLogs(app: App, tenantId: string, filter: SignInLogFilter, page: IdPage) {
  const equal: Array<[PgColumn, string | null | undefined]> = [
    [signInLogs.userId, filter.userId],
    [signInLogs.status, filter.status],
    [signInLogs.reasonCode, filter.reasonCode],
    [signInLogs.method, filter.method],
  ];
  return app.db.select().from(signInLogs).where(logConditions(signInLogs, tenantId, equal, page, filter)).orderBy(pageOrder(signInLogs.id, page)).limit(page.limit);
}

/** The users log rows name that still exist in that tenant, in no order (one read for a whole page). */
export function logUsers(app: App, tenantId: string, userIds: readonly string[]) {
  return app.db.select().from(users).where(and(eq(users.tenantId, tenantId), inArray(users.id, [...userIds])));
}

/** The devices sign-in log rows name that still exist in that tenant, in no order (one read for a whole page). */
export function logDevices(app: App, tenantId: string, deviceIds: readonly string[]) {
  return app.db
    .select({ id: devices.id, displayName: devices.displayName, platform: devices.platform })
    .from(devices)
    .where(and(eq(devices.tenantId, tenantId), inArray(devices.id, [...deviceIds])));
}
