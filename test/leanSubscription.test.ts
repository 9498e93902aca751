import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { LeanSubscription } from '../src/http/leanSubscription.js';
import { deviceAuthorization } from './authenticatorClient.js';
import { type TestServer, startTestServer } from './harness.js';
import { CHALLENGE, cancel, phoneUser, started } from './signInFlow.js';
import { startTcpProxy, targetOf } from './support/tcpProxy.js';

const MAX_OPERATIONS = 3;
const FIELDS = `__typename ${CHALLENGE} riskWarning`;
/** Served by the lean path (http/leanSubscription.ts). */
const LEAN = `subscription { phoneSignInChallenges { ${FIELDS} } }`;
/** The same selection with a variable: graphql-ws's and yoga's own path. */
const REGULAR = `subscription Regular($on: Boolean!) { phoneSignInChallenges { __typename @include(if: $on) ${CHALLENGE} riskWarning } }`;

/** A raw graphql-transport-ws socket of a phone, keeping every frame as sent. */
async function phoneSocket(t: TestServer, authorization: string) {
  const socket = new WebSocket(`${t.url.replace(/^http/, 'ws')}/graphql`, 'graphql-transport-ws');
  const frames: string[] = [];
  lastFrames = frames;
  const closed = new Promise<number>((resolve) => socket.on('close', (code) => resolve(code)));
  await new Promise((resolve) => socket.on('open', resolve));
  socket.on('message', (data) => frames.push(String(data)));
  socket.send(JSON.stringify({ type: 'connection_init', payload: { authorization } }));
  await until(() => frames.includes('{"type":"connection_ack"}'));
  return {
    frames,
    closed,
    /** The frames of one operation, with its id taken out, so two operations' frames compare. */
    of: (id: string) => frames.filter((f) => JSON.parse(f).id === id).map((f) => f.replace(`"id":"${id}"`, '"id":"*"')),
    subscribe: (id: string, query: string, variables?: Record<string, unknown>) => socket.send(JSON.stringify({ id, type: 'subscribe', payload: { query, variables } })),
    complete: (id: string) => socket.send(JSON.stringify({ id, type: 'complete' })),
    close: () => socket.close(),
  };
}

let lastFrames: string[] = [];
async function until(check: () => boolean, ms = 10_000) {
  for (const end = Date.now() + ms; !check(); await new Promise((resolve) => setTimeout(resolve, 20))) {
    if (Date.now() > end) throw new Error(`not within ${ms} ms: ${check} ${JSON.stringify(lastFrames)}`);
  }
}

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer({ WS_MAX_SUBSCRIPTIONS_PER_SOCKET: String(MAX_OPERATIONS) });
}, 180_000);
afterAll(() => t?.stop());

describe('lean challenge subscriptions', () => {
  it('send, byte for byte, what the regular path sends: the replay, then live challenges', async () => {
    const { user, phone } = await phoneUser(t);
    const before = await started(t, user.userPrincipalName, 'Before');
    const socket = await phoneSocket(t, await deviceAuthorization(t, phone));
    const leanBefore = LeanSubscription.active;
    socket.subscribe('lean', LEAN);
    socket.subscribe('regular', REGULAR, { on: true });
    await until(() => socket.of('lean').length === 1 && socket.of('regular').length === 1);
    // Only the plain subscription took the lean path.
    expect(LeanSubscription.active).toBe(leanBefore + 1);
    await cancel(t, before);
    await started(t, user.userPrincipalName, 'After');
    await until(() => socket.of('lean').length === 2 && socket.of('regular').length === 2);
    expect(socket.of('lean')).toEqual(socket.of('regular'));
    expect(socket.of('lean').map((f) => JSON.parse(f).payload.data.phoneSignInChallenges.appName)).toEqual(['Before', 'After']);
    expect(JSON.parse(socket.of('lean')[0]!).payload.data.phoneSignInChallenges.__typename).toBe('PhoneSignInChallenge');
    socket.close();
    await socket.closed;
    await until(() => LeanSubscription.active === leanBefore);
  });

  it('stop at a complete message, count against the operation limit, and refuse a second subscription with one id', async () => {
    const { user, phone } = await phoneUser(t);
    const socket = await phoneSocket(t, await deviceAuthorization(t, phone));
    const subscribers = t.server.app.live.challenges.size();
    for (const id of ['a', 'b', 'c']) socket.subscribe(id, LEAN);
    await until(() => t.server.app.live.challenges.size() === subscribers + 3);
    socket.subscribe('d', LEAN);
    await until(() => socket.of('d').length === 1);
    expect(JSON.parse(socket.of('d')[0]!)).toMatchObject({ type: 'error', payload: [{ extensions: { code: 'TOO_MANY_OPERATIONS' } }] });

    socket.complete('b');
    await until(() => t.server.app.live.challenges.size() === subscribers + 2);
    await started(t, user.userPrincipalName);
    await until(() => socket.of('a').length === 1 && socket.of('c').length === 1);
    // Its id is free again, and a new subscription under it replays what is pending.
    socket.subscribe('b', LEAN);
    await until(() => socket.of('b').length === 1);
    expect(JSON.parse(socket.of('b')[0]!).type).toBe('next');

    socket.subscribe('a', LEAN);
    expect(await socket.closed).toBe(4409);
    await until(() => t.server.app.live.challenges.size() === subscribers);
  });
});

// Postgres only: the embedded database has no link to cut.
describe.skipIf(!process.env.DATABASE_URL)('a lean subscription whose reads fail', () => {
  it('ends with the error frame the regular path sends', async () => {
    const proxy = await startTcpProxy(targetOf(process.env.DATABASE_URL!));
    const cut = await startTestServer({}, { databaseVia: proxy.via });
    try {
      const { user, phone } = await phoneUser(cut);
      const socket = await phoneSocket(cut, await deviceAuthorization(cut, phone));
      socket.subscribe('lean', LEAN);
      socket.subscribe('regular', REGULAR, { on: true });
      await until(() => cut.server.app.live.challenges.size() === 2);
      await new Promise((resolve) => setTimeout(resolve, 500));
      proxy.cut();
      cut.server.app.events.publish('userChallenge', { userId: user.userId, challengeId: 'none' });
      await until(() => socket.of('lean').length === 1 && socket.of('regular').length === 1, 20_000);
      expect(JSON.parse(socket.of('lean')[0]!)).toMatchObject({ type: 'error', payload: [{ extensions: { code: 'SERVICE_UNAVAILABLE' } }] });
      expect(socket.of('lean')).toEqual(socket.of('regular'));
      socket.close();
    } finally {
      proxy.restore();
      await cut.stop();
      await proxy.close();
    }
  }, 60_000);
});
