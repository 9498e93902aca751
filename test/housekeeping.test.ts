import { eq } from 'drizzle-orm';
import { afterAll, describe, expect, it } from 'vitest';
import { signInAttempts } from '../src/db/schema.js';
import { createTenant, type TestServer, startTestServer } from './harness.js';
import { addUser } from './authenticatorClient.js';
import { unpublishedAttempt } from './signInFlow.js';
import { scrape, until } from './support/metrics.js';

/** Housekeeping every 20 ms instead of every second, so a test sees many periods in a moment. */
const PERIOD_MS = 20;
const housekeeping = { server: { maintenanceIntervalMs: PERIOD_MS } };

/** Housekeeping periods a node counted with this outcome so far, read from its /metrics. */
const periods = async (t: TestServer, outcome: 'ran' | 'skipped' | 'failed') => (await scrape(t.url)).value(`signin_housekeeping_runs_total{outcome="${outcome}"}`);

describe('housekeeping on a timer', () => {
  let t: TestServer;
  afterAll(() => t?.stop());

  it('expires an overdue attempt without being asked', async () => {
    t = await startTestServer({}, housekeeping);
    const tenant = await createTenant(t);
    const user = await addUser(t, tenant);
    const attempt = await unpublishedAttempt(t, { tenantId: tenant.tenantId, userId: user.userId });
    t.clock.advance(61);
    const status = async () => (await t.server.app.db.select().from(signInAttempts).where(eq(signInAttempts.id, attempt.id)))[0]!.status;
    await until(async () => (await status()) === 'EXPIRED', 'the attempt expired');
    expect(await periods(t, 'ran')).toBeGreaterThan(0);
    expect(await periods(t, 'failed')).toBe(0);
  });
});

// Several nodes on one database: each period's housekeeping is done by one of them, not by each.
describe.runIf(process.env.DATABASE_URL)('housekeeping with several nodes on one Postgres', () => {
  let a: TestServer;
  let b: TestServer;
  afterAll(async () => {
    await b?.stop();
    await a?.stop();
  });

  it('is done by one node while it leads, and by the other once it stops', async () => {
    a = await startTestServer({}, housekeeping);
    b = await startTestServer({ PUBLIC_URL: a.url }, { ...housekeeping, nodeOf: a });
    // Both nodes have asked for the lead a few times.
    await until(async () => (await periods(a, 'ran')) + (await periods(a, 'skipped')) >= 5 && (await periods(b, 'ran')) + (await periods(b, 'skipped')) >= 5, 'both nodes ticking');
    const before = { a: await periods(a, 'ran'), b: await periods(b, 'ran') };
    await new Promise((resolve) => setTimeout(resolve, 20 * PERIOD_MS));
    const after = { a: await periods(a, 'ran'), b: await periods(b, 'ran') };
    const ran = { a: after.a - before.a, b: after.b - before.b };
    // Exactly one node did the work in the window; the other skipped every period.
    expect([ran.a > 0, ran.b > 0].filter(Boolean)).toHaveLength(1);
    const [leader, follower] = ran.a > 0 ? [a, b] : [b, a];
    expect(await periods(follower, 'skipped')).toBeGreaterThan(0);

    const followerRan = await periods(follower, 'ran');
    // The leader's session ends with it, and with it the lock: the other node takes over.
    await leader.server.stop();
    await until(async () => (await periods(follower, 'ran')) > followerRan, 'the other node took over');
    expect(await periods(follower, 'failed')).toBe(0);
  });
});
