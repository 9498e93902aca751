import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { CONNECTION_INIT_WAIT_MS } from '../src/http/wsTransport.js';
import { type TestServer, startTestServer } from './harness.js';

/** A heartbeat tick of 20 ms instead of a second: every socket is pinged each 600 ms (30 ticks). */
const TICK_MS = 20;

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer({}, { server: { heartbeatTickMs: TICK_MS } });
});
afterAll(() => t.stop());

/** A graphql-transport-ws socket, acknowledged; `answersPings: false` is a peer that has silently gone. */
async function socket(answersPings: boolean) {
  const ws = new WebSocket(`${t.url.replace(/^http/, 'ws')}/graphql`, 'graphql-transport-ws', { autoPong: answersPings });
  let pings = 0;
  ws.on('ping', () => pings++);
  const closed = new Promise<number>((resolve) => ws.on('close', (code) => resolve(code)));
  await new Promise<void>((resolve, reject) => {
    ws.on('open', () => ws.send(JSON.stringify({ type: 'connection_init' })));
    ws.on('message', (data) => JSON.parse(data.toString()).type === 'connection_ack' && resolve());
    ws.on('error', reject);
  });
  return { ws, closed, pings: () => pings };
}

describe('the WebSocket heartbeat (one timer for the node)', () => {
  // Attack (or plain loss): peers that vanish without closing (a phone out of coverage) would hold
  // their sockets, subscriptions and per-device slots for ever.
  it('cuts a socket that stops answering pings and keeps one that answers', async () => {
    const alive = await socket(true);
    const silent = await socket(false);
    let silentOpen = true;
    void silent.closed.then(() => (silentOpen = false));
    for (const until = Date.now() + 30_000; silentOpen && Date.now() < until; ) await new Promise((resolve) => setTimeout(resolve, TICK_MS));
    // Cut, not closed: a peer that is gone cannot take part in a closing handshake.
    expect(await silent.closed).toBe(1006);
    expect(silent.pings()).toBeGreaterThanOrEqual(1);
    // The answering socket was pinged at least as often, answered, and is still served.
    const pingsSoFar = alive.pings();
    for (const until = Date.now() + 30_000; alive.pings() < pingsSoFar + 2 && Date.now() < until; ) await new Promise((resolve) => setTimeout(resolve, TICK_MS));
    expect(alive.pings()).toBeGreaterThanOrEqual(pingsSoFar + 2);
    expect(alive.ws.readyState).toBe(WebSocket.OPEN);
    alive.ws.close();
  });

  // Attack: sockets opened and never initialised, each holding a slot of its address's limit.
  it('closes a socket that sends no connection_init within the wait, and keeps one that did', async () => {
    const initialised = await socket(true);
    const idle = new WebSocket(`${t.url.replace(/^http/, 'ws')}/graphql`, 'graphql-transport-ws');
    const openedAt = Date.now();
    const closed = await new Promise<{ code: number; reason: string }>((resolve) => idle.on('close', (code, reason) => resolve({ code, reason: String(reason) })));
    expect(closed).toEqual({ code: 4408, reason: 'Connection initialisation timeout' });
    expect(Date.now() - openedAt).toBeGreaterThanOrEqual(CONNECTION_INIT_WAIT_MS - 100);
    expect(initialised.ws.readyState).toBe(WebSocket.OPEN);
    initialised.ws.close();
  });
});
