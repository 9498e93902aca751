import { mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { PGlite } from '@electric-sql/pglite';
import { sql } from 'drizzle-orm';
import type { PgDatabase, PgQueryResultHKT } from 'drizzle-orm/pg-core';
import { drizzle as drizzlePglite } from 'drizzle-orm/pglite';
import { migrate as migratePglite } from 'drizzle-orm/pglite/migrator';
import { drizzle as drizzlePostgres } from 'drizzle-orm/postgres-js';
import { migrate as migratePostgres } from 'drizzle-orm/postgres-js/migrator';
import postgres from 'postgres';
import * as schema from './schema.js';
import { StatementCounts } from './statementCounts.js';

export type Database = PgDatabase<PgQueryResultHKT, typeof schema>;
/** A transaction or the database itself: services accept either. */
export type Executor = Parameters<Parameters<Database['transaction']>[0]>[0] | Database;

/** The rows of `execute`: postgres.js answers with the rows, PGlite with a result holding them. */
export const rowsOf = <T>(result: unknown): T[] => (Array.isArray(result) ? result : (result as { rows: T[] }).rows);

export interface DatabaseHandle {
  db: Database;
  kind: 'postgres' | 'pglite';
  /** Statements and transactions this handle has run (see statementCounts.ts). */
  counts: StatementCounts;
  /** Applies the migrations in drizzle/ (the same on PGlite and Postgres). */
  migrate(): Promise<void>;
  ping(): Promise<void>;
  close(): Promise<void>;
}

const MIGRATIONS_FOLDER = fileURLToPath(new URL('../../drizzle', import.meta.url));
const POOL_SIZE = 10;
/** Advisory-lock key under which one node at a time migrates a shared Postgres ('phmig' in ASCII). */
const MIGRATION_LOCK_KEY = 0x7068_6d69_67;

/** How long to wait for Postgres before answering "service unavailable". */
export interface DatabaseTimeouts {
  /** For a new connection, from the TCP connect to ready for queries. */
  connectTimeoutMs: number;
  /** For one statement, enforced by the server (statement_timeout, SQLSTATE 57014). */
  statementTimeoutMs: number;
}

// The defaults of DB_CONNECT_TIMEOUT_MS and DB_STATEMENT_TIMEOUT_MS, for callers without a Config.
const DEFAULT_TIMEOUTS: DatabaseTimeouts = { connectTimeoutMs: 5000, statementTimeoutMs: 5000 };

// postgres.js waits longer and longer (up to 20 s) before reconnecting after failed attempts: after
// an outage that would keep the service down long after the database is back.
const MAX_RECONNECT_DELAY_S = 0.5;
const reconnectDelay = (attempts: number) => Math.min(0.05 * 2 ** attempts, MAX_RECONNECT_DELAY_S);

/** Options of every postgres.js client of the service, for a link that may drop at any time. */
export function linkOptions(timeouts: DatabaseTimeouts = DEFAULT_TIMEOUTS) {
  return {
    onnotice: () => {},
    connect_timeout: timeouts.connectTimeoutMs / 1000,
    backoff: reconnectDelay,
    // On every new connection postgres.js would first read the array types, in a promise nobody
    // awaits: a link dropped during that read ended the process (unhandled ECONNRESET). Our
    // columns hold no arrays, and drizzle expands `in (...)` lists.
    fetch_types: false,
  };
}

type Sql = ReturnType<typeof postgres>;

/** More parameters than this is a list (`in (...)`) of varying length: each length would be a statement of its own. */
const MAX_PREPARED_PARAMETERS = 32;

/**
 * The postgres.js client as drizzle should use it: every statement with parameters (all of
 * drizzle's, whose values are always parameters) is prepared on the server once per connection and
 * reused, instead of being parsed and planned again each time, which for the push decision's
 * statement cost more than running it. Drizzle asks postgres.js for that only for `.prepare(name)`
 * statements (src/db/prepared.ts, which also skip the query builder); postgres.js keeps a
 * connection's statements until the connection ends (at most an hour, its max_lifetime), and
 * statements differ only by their text, which drizzle builds from a bounded set of query shapes.
 * Transactions' and savepoints' clients are wrapped alike.
 */
function preparing<T extends Sql>(client: T): T {
  return new Proxy(client, {
    get(target, prop, receiver) {
      if (prop === 'unsafe') {
        return (query: string, args: unknown[] = [], options: { prepare?: boolean } = {}) =>
          target.unsafe(query, args as never, { ...options, prepare: options.prepare || (args.length > 0 && args.length <= MAX_PREPARED_PARAMETERS) });
      }
      if (prop === 'begin' || prop === 'savepoint') {
        return (...args: unknown[]) => {
          const work = args.pop() as (tx: Sql) => unknown;
          return (Reflect.get(target, prop) as (...a: unknown[]) => unknown)(...args, (tx: Sql) => work(preparing(tx)));
        };
      }
      return Reflect.get(target, prop, receiver);
    },
  });
}

/**
 * Opens Postgres through postgres.js when a URL is given; otherwise the embedded PGlite database,
 * kept on disk under dataDir (or in memory for `memory://`).
 */
export async function openDatabase(options: { databaseUrl?: string; dataDir: string; timeouts?: DatabaseTimeouts }): Promise<DatabaseHandle> {
  if (options.databaseUrl) {
    const timeouts = options.timeouts ?? DEFAULT_TIMEOUTS;
    const client = postgres(options.databaseUrl, {
      ...linkOptions(timeouts),
      max: POOL_SIZE,
      onnotice: () => {},
      connection: { statement_timeout: timeouts.statementTimeoutMs },
    });
    const counts = new StatementCounts();
    const db = drizzlePostgres(preparing(client), { schema, logger: counts.logger }) as unknown as Database;
    counts.watch(db);
    return {
      db,
      kind: 'postgres',
      counts,
      // Nodes started at once would each create the same tables: each migrates on a connection of
      // its own holding a session-level advisory lock, so the first does the work and the others
      // wait, then find it done.
      migrate: async () => {
        const connection = postgres(options.databaseUrl!, { ...linkOptions(timeouts), max: 1 });
        try {
          await connection`select pg_advisory_lock(${MIGRATION_LOCK_KEY})`;
          await migratePostgres(drizzlePostgres(connection), { migrationsFolder: MIGRATIONS_FOLDER });
        } finally {
          // Ending the session releases the lock, also when a migration failed.
          await connection.end({ timeout: 5 });
        }
      },
      ping: async () => {
        await db.execute(sql`select 1`);
      },
      close: () => client.end({ timeout: 5 }),
    };
  }
  const inMemory = options.dataDir === 'memory://';
  if (!inMemory) mkdirSync(options.dataDir, { recursive: true });
  const client = inMemory ? new PGlite() : new PGlite(options.dataDir);
  await client.waitReady;
  const counts = new StatementCounts();
  const db = drizzlePglite(client, { schema, logger: counts.logger }) as unknown as Database;
  counts.watch(db);
  return {
    db,
    kind: 'pglite',
    counts,
    migrate: async () => {
      await migratePglite(drizzlePglite(client), { migrationsFolder: MIGRATIONS_FOLDER });
    },
    ping: async () => {
      await db.execute(sql`select 1`);
    },
    close: () => client.close(),
  };
}
