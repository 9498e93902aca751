import { describe, expect, it, vi } from 'vitest';
import { registerPhone } from './authenticatorClient.js';
import { type TestServer, startTestServer } from './harness.js';
import { CuttableProxy } from './support/cuttableProxy.js';
import { cancel, phoneUser, serverPerFile, started, unpublishedAttempt, watchChallenges } from './signInFlow.js';
import { scrape } from './support/metrics.js';

// Live delivery costs the database per node and per event, never per open subscription: idle
// phones cost nothing, and a push is one read for every local phone of its user.
const t = serverPerFile();
const idOf = (event: any) => event.data.phoneSignInChallenges.id as string;

/** SELECT statements the server issues while `during` runs. */
async function countingSelects(server: TestServer, during: () => Promise<unknown>): Promise<number> {
  const spy = vi.spyOn(server.server.app.db, 'select');
  try {
    await during();
    return spy.mock.calls.length;
  } finally {
    spy.mockRestore();
  }
}

/** Until this node holds `n` authenticator subscriptions. */
const subscribed = (server: TestServer, n: number) => expect.poll(() => server.server.app.live.challenges.size(), { timeout: 10_000 }).toBe(n);

describe('live delivery per node', () => {
  it('delivers to every phone of a user, with as many reads for four phones as for one', async () => {
    const single = await phoneUser(t);
    const several = await phoneUser(t);
    // One at a time: a new activation link replaces the user's unused one.
    const phones = [several.phone];
    for (let i = 0; i < 3; i++) phones.push(await registerPhone(t, several.user.token));
    // Replay on subscribe: a challenge begun before the phones listen reaches them all.
    const earlier = await started(t, several.user.userPrincipalName);
    const earlierAlone = await started(t, single.user.userPrincipalName);
    const feeds = await Promise.all(phones.map((phone) => watchChallenges(t, phone)));
    for (const feed of feeds) expect(idOf(await feed.next())).toBe(earlier.attemptId);
    const alone = await watchChallenges(t, single.phone);
    expect(idOf(await alone.next())).toBe(earlierAlone.attemptId);
    await subscribed(t, 5);
    await cancel(t, earlier);
    await cancel(t, earlierAlone);

    const pushTo = async (user: { userPrincipalName: string }, to: Array<{ next(): Promise<unknown> }>) => {
      const attempt = await started(t, user.userPrincipalName);
      for (const feed of to) expect(idOf(await feed.next())).toBe(attempt.attemptId);
    };
    const oneRead = await countingSelects(t, () => pushTo(single.user, [alone]));
    const fourRead = await countingSelects(t, () => pushTo(several.user, feeds));
    expect(fourRead).toBe(oneRead);
    await Promise.all([...feeds, alone].map((feed) => feed.close()));
  });

  it('reads nothing for idle subscriptions, however long they stay open', async () => {
    const users = await Promise.all([1, 2, 3].map(() => phoneUser(t)));
    const begun = await Promise.all(users.map(({ user }) => started(t, user.userPrincipalName)));
    const feeds = await Promise.all(users.map(({ phone }) => watchChallenges(t, phone)));
    // Each subscription has made its one replay read once its pending challenge arrived.
    for (const [i, feed] of feeds.entries()) expect(idOf(await feed.next())).toBe(begun[i]!.attemptId);
    await subscribed(t, 3);
    // Longer than the 5 s re-read period that every subscription used to have.
    const idle = await countingSelects(t, () => new Promise((resolve) => setTimeout(resolve, 6_000)));
    expect(idle).toBe(0);
    await cancel(t, begun[0]!);
    const attempt = await started(t, users[0]!.user.userPrincipalName);
    expect(idOf(await feeds[0]!.next())).toBe(attempt.attemptId);
    await Promise.all(feeds.map((feed) => feed.close()));
  }, 30_000);
});

const redisUrl = process.env.REDIS_URL;

describe.runIf(redisUrl)('the event transport drops and comes back', () => {
  // Fault: the node's link to Redis is cut while a challenge is begun, so its event is lost. When the
  // link is back the node reads its subscribers' state once, and the phone still gets the challenge.
  it('delivers a challenge whose event was lost within seconds of the transport returning', async () => {
    const target = new URL(redisUrl!);
    const proxy = await CuttableProxy.start({ host: target.hostname, port: Number(target.port || 6379) });
    const node = await startTestServer({ REDIS_URL: `redis://127.0.0.1:${proxy.port}` });
    try {
      const { tenant, user, phone } = await phoneUser(node);
      const feed = await watchChallenges(node, phone);
      const live = await started(node, user.userPrincipalName);
      expect(idOf(await feed.next())).toBe(live.attemptId);

      await proxy.cut();
      await expect.poll(async () => (await scrape(node.url)).value('signin_event_transport_up'), { timeout: 10_000 }).toBe(0);
      const lost = await unpublishedAttempt(node, { tenantId: tenant.tenantId, userId: user.userId });
      await proxy.restore();
      const restored = Date.now();
      expect(idOf(await feed.next())).toBe(lost.id);
      expect(Date.now() - restored).toBeLessThan(8_000);
      await feed.close();
    } finally {
      await node.stop();
      await proxy.close();
    }
  }, 60_000);
});

