import { setTimeout as delay } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { type TestServer, startTestServer } from './harness.js';
import { onlyChallenge, phoneUser, respond, started, watchAttempt } from './signInFlow.js';
import { startTcpProxy, targetOf } from './support/tcpProxy.js';

const { DATABASE_URL, REDIS_URL } = process.env;

const eventsOf = async (t: TestServer) => ((await (await fetch(`${t.url}/ready`)).json()) as { events: string }).events;

async function until(what: string, check: () => Promise<boolean>) {
  for (const start = Date.now(); !(await check()); await delay(100)) {
    if (Date.now() - start > 20_000) throw new Error(`${what} did not happen within 20 s`);
  }
}

/**
 * The node that began a sign-in gives its browser the first view without a read, from what it
 * wrote and the events since (liveHub.ts knownAttempt). Events can be lost while the transport is
 * away: then, and after it returns, the node reads the database instead.
 */
describe.skipIf(!DATABASE_URL || !REDIS_URL)('the first view of an attempt begun on this node', () => {
  it('comes from the database while this node\'s events are away and after they return, so an answer given elsewhere meanwhile is seen', async () => {
    const proxy = await startTcpProxy(targetOf(REDIS_URL!));
    const here = await startTestServer({ REDIS_URL: proxy.via(REDIS_URL!) });
    const elsewhere = await startTestServer({}, { nodeOf: here });
    try {
      const { user, phone } = await phoneUser(here);
      await until('the events transport connects', async () => (await eventsOf(here)) === 'up');
      const attempt = await started(here, user.userPrincipalName);
      proxy.cut();
      await until('the node notices', async () => (await eventsOf(here)) === 'down');
      // Approved through the other node: the event about it never reaches this one.
      const answered = await respond(elsewhere, phone, await onlyChallenge(elsewhere, phone), { number: attempt.number });
      expect(answered.data.respondToPhoneSignInChallenge.status).toBe('APPROVED');
      const duringOutage = watchAttempt(here, attempt);
      expect(await duringOutage.next()).toMatchObject({ data: { signInAttempt: { status: 'APPROVED' } } });
      await duringOutage.close();

      proxy.restore();
      await until('the events transport is back', async () => (await eventsOf(here)) === 'up');
      const afterwards = watchAttempt(here, attempt);
      expect(await afterwards.next()).toMatchObject({ data: { signInAttempt: { status: 'APPROVED' } } });
      await afterwards.close();
    } finally {
      await elsewhere.stop();
      await here.stop();
      await proxy.close();
    }
  }, 120_000);
});
