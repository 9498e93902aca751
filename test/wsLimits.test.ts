import type { Client } from 'graphql-ws';
import { createClient } from 'graphql-ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { deviceAuthorization } from './authenticatorClient.js';
import { type TestServer, startTestServer } from './harness.js';
import { ATTEMPT, cancel, follow, onlyChallenge, phoneUser, started } from './signInFlow.js';

let t: TestServer;
beforeAll(async () => {
  // The test runner is the trusted proxy, so each test can speak for client addresses of its own.
  t = await startTestServer({ TRUSTED_PROXIES: '127.0.0.1' });
});
afterAll(() => t.stop());

const wsUrl = () => `${t.url.replace(/^http/, 'ws')}/graphql`;
let nextAddress = 0;
/** A client address no other test uses, so the per-IP cap of one test does not spill into another. */
const freshAddress = () => `198.51.100.${++nextAddress}`;

type Closed = { code: number; reason: string };
type Refused = { status: number; body: string };

/**
 * A raw graphql-transport-ws socket from `address` (sent as X-Forwarded-For): `opened` settles with
 * true once connection_ack comes, or with how the upgrade was refused; `closed` with the close.
 */
function rawSocket(address: string, payload?: Record<string, unknown>) {
  const socket = new WebSocket(wsUrl(), 'graphql-transport-ws', { headers: { 'x-forwarded-for': address } });
  const messages: any[] = [];
  const closed = new Promise<Closed>((resolve) => socket.on('close', (code, reason) => resolve({ code, reason: reason.toString() })));
  const opened = new Promise<true | Refused | Closed>((resolve) => {
    socket.on('unexpected-response', (_req, res) => {
      let body = '';
      res.on('data', (data) => (body += data)).on('end', () => resolve({ status: res.statusCode!, body }));
    });
    socket.on('open', () => socket.send(JSON.stringify({ type: 'connection_init', payload })));
    socket.on('message', (data) => {
      const message = JSON.parse(data.toString());
      messages.push(message);
      if (message.type === 'connection_ack') resolve(true);
    });
    void closed.then(resolve);
  });
  socket.on('error', () => {});
  return { socket, opened, closed, messages };
}

/** A graphql-ws client whose upgrade request carries X-Forwarded-For: `address`. */
function clientFrom(address: string, authorization?: string): Client {
  const client = createClient({
    url: wsUrl(),
    webSocketImpl: class extends WebSocket {
      constructor(url: string, protocols: string | string[]) {
        super(url, protocols, { headers: { 'x-forwarded-for': address } });
      }
    },
    connectionParams: authorization ? { authorization } : undefined,
    retryAttempts: 0,
    lazy: true,
  });
  clients.push(client);
  return client;
}
const clients: Client[] = [];
afterAll(() => Promise.all(clients.map((c) => c.dispose())));

describe('WebSocket limits', () => {
  // Attack: one 8 MB frame, which `ws` would buffer and graphql-ws parse (its default allows 100 MiB).
  it('closes a socket sending a frame over 64 KiB with 1009', async () => {
    const { socket, opened, closed, messages } = rawSocket(freshAddress());
    expect(await opened).toBe(true);
    const query = '{ __typename }';
    socket.send(JSON.stringify({ id: '1', type: 'subscribe', payload: { query, variables: { pad: 'a'.repeat(8_000_000) } } }));
    expect((await closed).code).toBe(1009);
    expect(messages.map((m) => m.type)).toEqual(['connection_ack']);
  });

  // Attack: 500 subscriptions on one socket, each holding server resources.
  it('refuses the 21st operation on a socket with an error naming the limit, and the first 20 go on', async () => {
    const { user } = await phoneUser(t);
    const attempt = await started(t, user.userPrincipalName);
    const client = clientFrom(freshAddress());
    const watch = () => follow(client, `subscription($id: ID!, $s: String!) { signInAttempt(attemptId: $id, attemptSecret: $s) { ${ATTEMPT} } }`, { id: attempt.attemptId, s: attempt.attemptSecret });
    const first = Array.from({ length: 20 }, watch);
    for (const sub of first) expect(await sub.next()).toMatchObject({ data: { signInAttempt: { status: 'PENDING' } } });

    const extra = watch();
    await expect(extra.next()).rejects.toEqual([
      expect.objectContaining({ message: 'Too many operations on this connection: at most 20 at a time. Complete one first.', extensions: { code: 'TOO_MANY_OPERATIONS' } }),
    ]);

    expect((await cancel(t, attempt)).data?.cancelSignIn?.status).toBe('CANCELLED');
    for (const sub of first) expect(await sub.next()).toMatchObject({ data: { signInAttempt: { status: 'CANCELLED' } } });
  });

  // Attack: a subscription whose one root field depends on a variable, which graphql-js's validation throws on.
  it('refuses a subscription whose root field hangs on a variable as invalid, and the socket goes on', async () => {
    const { user } = await phoneUser(t);
    const attempt = await started(t, user.userPrincipalName);
    const client = clientFrom(freshAddress());
    let closes = 0;
    client.on('closed', () => closes++);
    const watching = follow(client, `subscription($id: ID!, $s: String!) { signInAttempt(attemptId: $id, attemptSecret: $s) { ${ATTEMPT} } }`, { id: attempt.attemptId, s: attempt.attemptSecret });
    expect(await watching.next()).toMatchObject({ data: { signInAttempt: { status: 'PENDING' } } });
    const tricky = follow(client, 'subscription($on: Boolean!) { signInAttempt(attemptId: "x", attemptSecret: "y") @include(if: $on) { id } }', { on: true });
    await expect(tricky.next()).rejects.toEqual([expect.objectContaining({ extensions: { code: 'GRAPHQL_VALIDATION_FAILED' } })]);
    // The same socket still serves the first subscription: the refusal was one operation's, not the connection's.
    expect((await cancel(t, attempt)).data?.cancelSignIn?.status).toBe('CANCELLED');
    expect(await watching.next()).toMatchObject({ data: { signInAttempt: { status: 'CANCELLED' } } });
    expect(closes).toBe(0);
  });

  // Attack: one address opening sockets until the node runs out of memory or file descriptors.
  it('refuses the 51st socket of one client address at the upgrade with 429, counting addresses behind the trusted proxy', async () => {
    const address = freshAddress();
    const held = Array.from({ length: 50 }, () => rawSocket(address));
    for (const s of held) expect(await s.opened).toBe(true);

    expect(await rawSocket(address).opened).toEqual({ status: 429, body: `Too many connections from ${address}: at most 50 at a time.` });
    // Another client behind the same proxy has its own count.
    expect(await rawSocket(freshAddress()).opened).toBe(true);
    // A closed socket gives its place back.
    held[0]!.socket.close();
    await held[0]!.closed;
    expect(await rawSocket(address).opened).toBe(true);
    for (const s of held) s.socket.close();
  });

  // Attack: a stolen or buggy authenticator reconnecting without closing its old sockets.
  it('refuses a sixth socket of one device at connection_init with 4429', async () => {
    const { phone } = await phoneUser(t);
    const sockets = [];
    for (let i = 0; i < 5; i += 1) {
      const s = rawSocket(freshAddress(), { authorization: await deviceAuthorization(t, phone) });
      expect(await s.opened).toBe(true);
      sockets.push(s);
    }
    const sixth = rawSocket(freshAddress(), { authorization: await deviceAuthorization(t, phone) });
    expect(await sixth.opened).toEqual({ code: 4429, reason: 'Too many connections of this device: at most 5 at a time.' });
    for (const s of sockets) s.socket.close();
  });

  // Attack: 20,000 graphql-ws pings in a burst, each answered with a pong.
  it('closes a socket flooding messages with 4429 long before answering them all', async () => {
    const { socket, opened, closed, messages } = rawSocket(freshAddress());
    expect(await opened).toBe(true);
    for (let i = 0; i < 20_000; i += 1) socket.send('{"type":"ping"}');
    expect(await closed).toEqual({ code: 4429, reason: 'Too many messages: at most 20 a second.' });
    // The burst of 100, and what trickles back meanwhile: nowhere near the 20,000 asked for.
    expect(messages.filter((m) => m.type === 'pong').length).toBeLessThan(1000);
  });

  // Attack: the same flood as WebSocket protocol pings, which `ws` answers by itself. Sent in rounds
  // of 50, each after the last one's pongs, as a client reading its pongs does (`ws` cuts off only
  // a client that lets more than 60 pongs pile up unread).
  it('closes a socket flooding protocol pings with 4429', async () => {
    const { socket, opened, closed } = rawSocket(freshAddress());
    expect(await opened).toBe(true);
    let pongs = 0;
    let isClosed = false;
    void closed.then(() => (isClosed = true));
    for (let round = 0; round < 40 && !isClosed; round += 1) {
      const answered = new Promise<void>((resolve) => {
        const onPong = () => (++pongs % 50 === 0 ? resolve() : undefined);
        socket.on('pong', onPong);
        void closed.then(() => resolve());
      });
      for (let i = 0; i < 50; i += 1) socket.ping();
      await answered;
      socket.removeAllListeners('pong');
    }
    expect(await closed).toEqual({ code: 4429, reason: 'Too many messages: at most 20 a second.' });
    expect(pongs).toBeLessThan(2000);
  });
});

describe('the client IP of a WebSocket', () => {
  // Attack (on the user's judgement): behind a proxy, a sign-in begun over graphql-ws showed the
  // proxy's address on the phone, so the user could not tell where the request came from.
  it('is the forwarded address when the socket comes through a trusted proxy', async () => {
    const { user, phone } = await phoneUser(t);
    const client = clientFrom('203.0.113.7');
    const begun = await new Promise<any>((resolve, reject) => {
      client.subscribe(
        {
          query: 'mutation($i: BeginSignInInput!) { beginSignIn(input: $i) { __typename } }',
          variables: { i: { userPrincipalName: user.userPrincipalName, appName: 'Contoso Mail' } },
        },
        { next: resolve, error: reject, complete: () => {} },
      );
    });
    expect(begun.data).toEqual({ beginSignIn: { __typename: 'PhoneSignInStarted' } });
    expect(await onlyChallenge(t, phone)).toMatchObject({ ipAddress: '203.0.113.7' });
  });
});
