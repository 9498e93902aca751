import { once } from 'node:events';
import { connect } from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { deviceAuthorization } from './authenticatorClient.js';
import { startTestServer } from './harness.js';
import { CHALLENGES, phoneUser } from './signInFlow.js';
import { type ChildServer, startChildServer, untilReady } from './support/childServer.js';
import { createThrowawayDatabase } from './support/throwawayDatabase.js';

/** A graphql-ws socket past connection_ack, and how it was closed. */
async function openSocket(url: string, authorization?: string) {
  const socket = new WebSocket(`${url.replace(/^http/, 'ws')}/graphql`, 'graphql-transport-ws');
  const closed = new Promise<{ code: number; reason: string }>((resolve) => socket.on('close', (code, reason) => resolve({ code, reason: reason.toString() })));
  await once(socket, 'open');
  socket.send(JSON.stringify({ type: 'connection_init', payload: authorization ? { authorization } : {} }));
  const [ack] = await once(socket, 'message');
  expect(JSON.parse(String(ack)).type).toBe('connection_ack');
  return { socket, closed };
}

/** A raw HTTP/1.1 connection, so requests can be pipelined and its whole output read. */
async function rawConnection(url: string) {
  const { hostname, port } = new URL(url);
  const socket = connect(Number(port), hostname === 'localhost' ? '127.0.0.1' : hostname);
  let received = '';
  socket.on('data', (chunk) => (received += chunk));
  const ended = new Promise<string>((resolve) => socket.on('close', () => resolve(received)));
  await once(socket, 'connect');
  return { socket, ended, received: () => received };
}

// A server, a tenant and a registered phone: 45 s on a loaded 2-core machine.
const SLOW_SET_UP_MS = 120_000;

describe('graceful shutdown', () => {
  it('finishes an in-flight request, answers /ready 503, refuses new connections and closes a subscribed phone with 1012', async () => {
    // beginSignIn for an unknown account waits (app.sleep) before answering: held here, it is a request in flight.
    let entered!: () => void;
    const inside = new Promise<void>((resolve) => (entered = resolve));
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    const t = await startTestServer({}, { server: { sleep: () => (entered(), released) } });
    try {
      const { phone } = await phoneUser(t);
      const { socket: phoneSocket, closed } = await openSocket(t.url, await deviceAuthorization(t, phone));
      phoneSocket.send(JSON.stringify({ id: '1', type: 'subscribe', payload: { query: CHALLENGES } }));

      const raw = await rawConnection(t.url);
      const body = JSON.stringify({ query: 'mutation($i: BeginSignInInput!) { beginSignIn(input: $i) { __typename } }', variables: { i: { userPrincipalName: 'nobody@nowhere.example', appName: 'Mail' } } });
      raw.socket.write(`POST /graphql HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
      await inside;

      const stopping = t.server.stop();
      // Behind the request in flight, on its connection: a proxy's readiness check sees 503.
      raw.socket.write('GET /ready HTTP/1.1\r\nHost: x\r\n\r\n');
      await expect(fetch(`${t.url}/health`)).rejects.toThrow();
      // The phone is told to reconnect (elsewhere) without waiting for the slow request.
      expect(await closed).toEqual({ code: 1012, reason: 'Service Restart' });
      expect(raw.received()).toBe('');

      release();
      const answers = await raw.ended;
      expect(answers).toMatch(/^HTTP\/1\.1 200 OK[\s\S]*"__typename":"PasswordRequired"[\s\S]*HTTP\/1\.1 503 Service Unavailable[\s\S]*"status":"shutting down"/);
      await stopping;
    } finally {
      release();
      await t.stop();
    }
  }, SLOW_SET_UP_MS);
});

// The real entry point in its own process, as an orchestrator stops it: SIGTERM, then a bounded wait.
describe('SIGTERM to a running node', () => {
  const GRACE_MS = 3000;
  // Closing the database and Redis after the grace period, on a busy machine.
  const CLOSE_MARGIN_MS = 3000;
  let server: ChildServer | undefined;
  let dropDatabase = async () => {};
  afterAll(async () => {
    server?.kill();
    await dropDatabase();
  });

  it('closes sockets with 1012, cuts a request that outlives SHUTDOWN_GRACE_MS, and exits 0 within it', async () => {
    let databaseUrl: string | undefined;
    if (process.env.DATABASE_URL) {
      const database = await createThrowawayDatabase(process.env.DATABASE_URL, 'shutdown');
      databaseUrl = database.url;
      dropDatabase = database.drop;
    }
    server = await startChildServer(['--import', 'tsx', 'src/main.ts'], {
      DATA_DIR: 'memory://',
      DATABASE_URL: databaseUrl,
      REDIS_URL: process.env.REDIS_URL,
      SHUTDOWN_GRACE_MS: String(GRACE_MS),
    });
    await untilReady(server);
    const { closed } = await openSocket(server.url);

    // A request whose body never comes: "100 Continue" says the node has taken it in.
    const stuck = await rawConnection(server.url);
    stuck.socket.write('POST /graphql HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\nExpect: 100-continue\r\n\r\n');
    while (!stuck.received().includes('100 Continue')) await once(stuck.socket, 'data');

    const signalled = performance.now();
    server.child.kill('SIGTERM');
    expect(await closed).toEqual({ code: 1012, reason: 'Service Restart' });
    expect(await server.exited).toEqual({ code: 0, signal: null });
    const tookMs = performance.now() - signalled;
    expect(tookMs).toBeGreaterThanOrEqual(GRACE_MS * 0.9);
    expect(tookMs).toBeLessThan(GRACE_MS + CLOSE_MARGIN_MS);
    expect(await stuck.ended).not.toMatch(/HTTP\/1\.1 [2-5]\d\d/);
  }, 150_000);
});
