import { randomUUID } from 'node:crypto';
import { and, eq, inArray, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DatabaseHandle, openDatabase } from '../src/db/client.js';
import { preparedOn } from '../src/db/prepared.js';
import { tenants } from '../src/db/schema.js';
import { createThrowawayDatabase } from './support/throwawayDatabase.js';

// On the database the suite runs on: PGlite, or a throwaway database on DATABASE_URL's Postgres.
let handle: DatabaseHandle;
let drop = async () => {};
beforeAll(async () => {
  const throwaway = process.env.DATABASE_URL ? await createThrowawayDatabase(process.env.DATABASE_URL, 'prepared') : undefined;
  if (throwaway) drop = throwaway.drop;
  handle = await openDatabase({ databaseUrl: throwaway?.url, dataDir: 'memory://' });
  await handle.migrate();
});
afterAll(async () => {
  await handle.close();
  await drop();
});

let builds = 0;
const tenantName = preparedOn((db) => {
  builds += 1;
  return db.select({ name: tenants.name }).from(tenants).where(eq(tenants.id, sql.placeholder('id'))).prepare('test_tenant_name');
});
const renameTenant = preparedOn((db) => db.update(tenants).set({ name: sql`${sql.placeholder('name')}` }).where(eq(tenants.id, sql.placeholder('id'))).prepare('test_rename_tenant'));

describe('a statement prepared once per database', () => {
  // Drizzle's prepared queries keep the connection they were built on; run on a transaction they
  // must use its connection, or they read past its uncommitted writes (Postgres) or wait for its
  // end, for ever (PGlite's one connection).
  it('runs on the transaction it is given, and is built once for the database and its transactions', async () => {
    const { db } = handle;
    const [tenant] = await db.insert(tenants).values({ name: 'Before', settings: {} as never }).returning({ id: tenants.id });
    const id = tenant!.id;
    await db.transaction(async (tx) => {
      await renameTenant(tx).execute({ id, name: 'Inside' });
      expect(await tenantName(tx).execute({ id })).toEqual([{ name: 'Inside' }]);
      if (process.env.DATABASE_URL) expect(await tenantName(db).execute({ id })).toEqual([{ name: 'Before' }]);
    });
    expect(await tenantName(db).execute({ id })).toEqual([{ name: 'Inside' }]);
    await expect(
      db.transaction(async (tx) => {
        await renameTenant(tx).execute({ id, name: 'Rolled back' });
        throw new Error('roll back');
      }),
    ).rejects.toThrow('roll back');
    expect(await tenantName(db).execute({ id })).toEqual([{ name: 'Inside' }]);
    expect(builds).toBe(1);
  }, 10_000);
});

describe('statements built by the query builder, on Postgres', () => {
  // Parsing and planning again at every execution cost more than running the push decision's
  // statement; db/client.ts has postgres.js prepare each one on the server once per connection.
  it.runIf(process.env.DATABASE_URL)('are prepared on the server once per connection, in transactions and savepoints too, while long lists are not', async () => {
    const { db } = handle;
    const [tenant] = await db.insert(tenants).values({ name: 'Prepared', settings: {} as never }).returning({ id: tenants.id });
    const id = tenant!.id;
    const serverPrepared = async (tx: Parameters<Parameters<typeof db.transaction>[0]>[0], marker: string) =>
      (await tx.execute(sql`select count(*)::int as n from pg_prepared_statements where statement like ${`%${marker}%`} and statement not like '%pg_prepared_statements%'`)) as unknown as Array<{ n: number }>;
    await db.transaction(async (tx) => {
      for (let i = 0; i < 3; i++) await tx.select({ name: tenants.name }).from(tenants).where(and(eq(tenants.id, id), sql`'outer' = 'outer'`));
      expect((await serverPrepared(tx, `'outer' = 'outer'`))[0]!.n).toBe(1);
      await tx.transaction(async (savepoint) => {
        await savepoint.select({ name: tenants.name }).from(tenants).where(and(eq(tenants.id, id), sql`'nested' = 'nested'`));
        expect((await serverPrepared(savepoint, `'nested' = 'nested'`))[0]!.n).toBe(1);
      });
      const many = Array.from({ length: 40 }, () => randomUUID());
      await tx.select({ name: tenants.name }).from(tenants).where(and(inArray(tenants.id, many), sql`'list' = 'list'`));
      expect((await serverPrepared(tx, `'list' = 'list'`))[0]!.n).toBe(0);
    });
  });
});
