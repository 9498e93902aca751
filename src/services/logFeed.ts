import { GraphQLError } from 'graphql';
import { and, asc, count, eq, sql } from 'drizzle-orm';
import { auditLogs, signInLogs } from '../db/schema.js';
import type { LogKind } from '../realtime/events.js';
import type { App } from './app.js';
import type { AuditLogFilter, SignInLogFilter } from './logs.js';
import { rowsOf } from '../db/client.js';

// The admins' live sign-in and audit logs. A row's place in a feed is (the transaction that last
// wrote it, its id), and a feed only shows rows of transactions older than every transaction still
// running: a later row can then never be committed before an earlier one, so a follower that
// resumes after the last place it saw misses nothing and sees nothing twice. A sign-in log row
// that changes (IN_PROGRESS to SUCCESS) moves to its new transaction's place and is sent again.

export type SignInLogRow = typeof signInLogs.$inferSelect;
export type AuditLogRow = typeof auditLogs.$inferSelect;
type LogTable = typeof signInLogs | typeof auditLogs;

/** Rows one read takes; a longer backlog is read in pages of this many, one after another. */
const FEED_PAGE = 200;
/** Rows a subscription may replay from its cursor; further behind, the console pages the query instead. */
export const FEED_REPLAY_MAX = 1000;
/** How soon a feed reads again when rows were held back by an older transaction still running. */
const HELD_RETRY_MS = 100;

interface Position {
  tx: bigint;
  id: number;
}

const CURSOR = /^(\d{1,20})\.(\d{1,18})$/;

/** The cursor of a row's current place in its feed. */
export const feedCursorOf = (row: { feedTx: string; id: number }) => `${row.feedTx}.${row.id}`;

const after = (a: Position, b: Position) => a.tx > b.tx || (a.tx === b.tx && a.id > b.id);
const positionOf = (row: { feedTx: string; id: number }): Position => ({ tx: BigInt(row.feedTx), id: row.id });

/** An admin following a log: what they asked for, and the last place handed to them. */
export interface LogFollower<R> {
  matches(row: R): boolean;
  position: Position;
}

const inRange = (createdAt: Date, filter: { from?: Date | null; to?: Date | null }) =>
  (!filter.from || createdAt >= filter.from) && (!filter.to || createdAt < filter.to);
const equalWhereSet = (pairs: Array<[unknown, string | null | undefined]>) => pairs.every(([value, wanted]) => !wanted || value === wanted);

/** The sign-in log filter as the query applies it (logs.ts), for rows already read. */
export const signInLogMatcher = (filter: SignInLogFilter) => (row: SignInLogRow) =>
  equalWhereSet([
    [row.userId, filter.userId],
    [row.status, filter.status],
    [row.reasonCode, filter.reasonCode],
    [row.method, filter.method],
  ]) && inRange(row.createdAt, filter);

/** The audit log filter as the query applies it (logs.ts), for rows already read. */
export const auditLogMatcher = (filter: AuditLogFilter) => (row: AuditLogRow) =>
  equalWhereSet([
    [row.action, filter.action],
    [row.actorId, filter.actorId],
    [row.targetType, filter.targetType],
    [row.targetId, filter.targetId],
    [row.result, filter.result],
  ]) && inRange(row.createdAt, filter);

const TABLES: Record<LogKind, LogTable> = { SIGN_IN: signInLogs, AUDIT: auditLogs };
/** The oldest transaction still running: rows of older ones are final. */
const horizon = sql<string>`pg_snapshot_xmin(pg_current_snapshot())::text`;
const pastPosition = (table: LogTable, from: Position) => sql`(${table.feedTx}, ${table.id}) > (${String(from.tx)}::xid8, ${from.id}::bigint)`;

/**
 * Where a new follower starts: after `cursor`, or, without one, at the oldest transaction still
 * running (so every change not yet final is still to come). A cursor further back than
 * FEED_REPLAY_MAX rows, or not one of ours, is refused with a sentence saying what to do.
 */
export async function startingPosition(app: App, log: LogKind, tenantId: string, cursor: string | null | undefined, query: string): Promise<Position> {
  const table = TABLES[log];
  if (cursor == null) {
    const [row] = rowsOf<{ horizon: string }>(await app.db.execute(sql`select ${horizon} as horizon`));
    return { tx: BigInt(row!.horizon), id: 0 };
  }
  const parsed = CURSOR.exec(cursor);
  if (!parsed) throw new GraphQLError(`"after" is not a feed cursor. Use the feedCursor of a ${query} record, or leave it out to follow from now.`, { extensions: { code: 'BAD_USER_INPUT' } });
  const from = { tx: BigInt(parsed[1]!), id: Number(parsed[2]) };
  const backlog = app.db
    .select({ id: table.id })
    .from(table)
    .where(and(eq(table.tenantId, tenantId), pastPosition(table, from)))
    .limit(FEED_REPLAY_MAX + 1)
    .as('backlog');
  const [{ rows }] = (await app.db.select({ rows: count() }).from(backlog)) as [{ rows: number }];
  if (rows > FEED_REPLAY_MAX) {
    throw new GraphQLError(
      `More than ${FEED_REPLAY_MAX} records were written after this cursor. Read them with the ${query} query, then subscribe again from the newest record's feedCursor.`,
      { extensions: { code: 'CURSOR_TOO_OLD' } },
    );
  }
  return from;
}

/**
 * One read of a tenant's log for all of this node's followers of it: the page after the follower
 * furthest behind, each follower handed the final rows past its own place that match its filter.
 * `again` asks for another read: at once when the page was full, shortly when rows were held back.
 */
export async function readFeed<R extends { feedTx: string; id: number }>(
  app: App,
  log: LogKind,
  tenantIds: string[],
  followersOf: (tenantId: string) => LogFollower<R>[],
  again: (tenantId: string, delayMs: number) => void,
): Promise<Map<string, Map<LogFollower<R>, R[]>>> {
  const table = TABLES[log];
  const found = new Map<string, Map<LogFollower<R>, R[]>>();
  for (const tenantId of tenantIds) {
    const followers = followersOf(tenantId);
    if (followers.length === 0) continue;
    const from = followers.map((f) => f.position).reduce((a, b) => (after(a, b) ? b : a));
    const page = (await app.db
      .select({ row: table, horizon })
      .from(table)
      .where(and(eq(table.tenantId, tenantId), pastPosition(table, from)))
      .orderBy(asc(table.feedTx), asc(table.id))
      .limit(FEED_PAGE)) as Array<{ row: R; horizon: string }>;
    const final = page.filter(({ row, horizon }) => BigInt(row.feedTx) < BigInt(horizon)).map(({ row }) => row);
    const last = final.at(-1);
    found.set(
      tenantId,
      new Map(
        followers.map((follower) => {
          const items = final.filter((row) => after(positionOf(row), follower.position) && follower.matches(row));
          if (last && after(positionOf(last), follower.position)) follower.position = positionOf(last);
          return [follower, items];
        }),
      ),
    );
    if (final.length < page.length) again(tenantId, HELD_RETRY_MS);
    else if (page.length === FEED_PAGE) again(tenantId, 0);
  }
  return found;
}

/** The tenant's sign-in log as it is written: the rows after `cursor` first (or from now), then live ones. */
export async function watchSignInLogs(app: App, tenantId: string, filter: SignInLogFilter, cursor: string | null | undefined): Promise<AsyncIterable<SignInLogRow>> {
  const position = await startingPosition(app, 'SIGN_IN', tenantId, cursor, 'signInLogs');
  return app.live.signInLogs.subscribe(tenantId, { matches: signInLogMatcher(filter), position });
}

/** The tenant's audit log as it is written: the rows after `cursor` first (or from now), then live ones. */
export async function watchAuditLogs(app: App, tenantId: string, filter: AuditLogFilter, cursor: string | null | undefined): Promise<AsyncIterable<AuditLogRow>> {
  const position = await startingPosition(app, 'AUDIT', tenantId, cursor, 'auditLogs');
  return app.live.auditLogs.subscribe(tenantId, { matches: auditLogMatcher(filter), position });
}
