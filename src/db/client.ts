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

/**
 * Opens Postgres through postgres.js when a URL is given; otherwise the embedded PGlite database,
 * kept on disk under dataDir (or in memory for `memory://`).
 */
export async function openDatabase(options: { databaseUrl?: string; dataDir: string }): Promise<DatabaseHandle> {
  if (options.databaseUrl) {
    const client = postgres(options.databaseUrl, { max: POOL_SIZE, onnotice: () => {} });
    const counts = new StatementCounts();
    const db = drizzlePostgres(client, { schema, logger: counts.logger }) as unknown as Database;
    counts.watch(db);
    return {
      db,
      kind: 'postgres',
      counts,
      // Nodes started at once would each create the same tables: each migrates on a connection of
      // its own holding a session-level advisory lock, so the first does the work and the others
      // wait, then find it done.
      migrate: async () => {
        const connection = postgres(options.databaseUrl!, { max: 1, onnotice: () => {} });
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
