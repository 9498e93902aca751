import { sql } from 'drizzle-orm';
import { afterEach, describe, expect, it } from 'vitest';
import { type DatabaseHandle, openDatabase } from '../src/db/client.js';
import { createThrowawayDatabase } from './support/throwawayDatabase.js';

const databaseUrl = process.env.DATABASE_URL;

describe.skipIf(!databaseUrl)('migrations on a shared Postgres', () => {
  const cleanups: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  // Fault: several nodes started at once on a new database each ran the migrations; without a
  // lock, one failed with a duplicate pg_type or "relation already exists" and the node exited.
  it('lets any number of nodes migrate a new database at the same time', async () => {
    const database = await createThrowawayDatabase(databaseUrl!, 'migrate');
    cleanups.push(database.drop);
    const nodes: DatabaseHandle[] = [];
    for (let i = 0; i < 6; i++) nodes.push(await openDatabase({ databaseUrl: database.url, dataDir: 'memory://' }));
    cleanups.push(async () => {
      await Promise.all(nodes.map((node) => node.close()));
    });
    const results = await Promise.allSettled(nodes.map((node) => node.migrate()));
    expect(results.filter((r) => r.status === 'rejected')).toEqual([]);
    // Every node then sees the same, complete schema.
    const tables = (await nodes[0]!.db.execute(
      sql`select count(*)::int as n from information_schema.tables where table_schema = 'public' and table_name = 'sign_in_attempts'`,
    )) as unknown as Array<{ n: number }>;
    expect(tables[0]).toEqual({ n: 1 });
  });
});
