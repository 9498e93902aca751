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

function pageConditions(id: PgColumn, createdAt: PgColumn, page: IdPage, range: TimeRange): (SQL | undefined)[] {
  return [
    page.after !== undefined ? lt(id, page.after) : undefined,
    page.before !== undefined ? gt(id, page.before) : undefined,
    range.from ? gte(createdAt, range.from) : undefined,
    range.to ? lt(createdAt, range.to) : undefined,
  ];
}

export interface AuditLogFilter extends TimeRange {
  action?: string | null;
  actorId?: string | null;
  targetType?: string | null;
  targetId?: string | null;
  result?: 'SUCCESS' | 'FAILURE' | null;
}

/** The caller's tenant's audit records, newest first. */
export function listAuditLogs(app: App, tenantId: string, filter: AuditLogFilter, page: IdPage) {
  return app.db
    .select()
    .from(auditLogs)
    .where(
      and(
        eq(auditLogs.tenantId, tenantId),
        filter.action ? eq(auditLogs.action, filter.action) : undefined,
        filter.actorId ? eq(auditLogs.actorId, filter.actorId) : undefined,
        filter.targetType ? eq(auditLogs.targetType, filter.targetType) : undefined,
        filter.targetId ? eq(auditLogs.targetId, filter.targetId) : undefined,
        filter.result ? eq(auditLogs.result, filter.result) : undefined,
        ...pageConditions(auditLogs.id, auditLogs.createdAt, page, filter),
      ),
    )
    .orderBy(page.inverted ? asc(auditLogs.id) : desc(auditLogs.id))
    .limit(page.limit);
}

export interface SignInLogFilter extends TimeRange {
  userId?: string | null;
  status?: string | null;
  reasonCode?: string | null;
  method?: string | null;
}

/** The caller's tenant's sign-in records, newest first. */
export function listSignInLogs(app: App, tenantId: string, filter: SignInLogFilter, page: IdPage) {
  return app.db
    .select()
    .from(signInLogs)
    .where(
      and(
        eq(signInLogs.tenantId, tenantId),
        filter.userId ? eq(signInLogs.userId, filter.userId) : undefined,
        filter.status ? eq(signInLogs.status, filter.status) : undefined,
        filter.reasonCode ? eq(signInLogs.reasonCode, filter.reasonCode) : undefined,
        filter.method ? eq(signInLogs.method, filter.method) : undefined,
        ...pageConditions(signInLogs.id, signInLogs.createdAt, page, filter),
      ),
    )
    .orderBy(page.inverted ? asc(signInLogs.id) : desc(signInLogs.id))
    .limit(page.limit);
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
