import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { deviceAuthorization } from './authenticatorClient.js';
import { type TestServer, startTestServer } from './harness.js';
import { auditOf, phoneUser } from './signInFlow.js';

let t: TestServer;
beforeAll(async () => {
  // The test runner is the trusted proxy, so the test speaks for client addresses of its own.
  t = await startTestServer({ TRUSTED_PROXIES: '127.0.0.1', RATE_LIMIT_REFUSED_CONNECTS_PER_IP: '5' });
}, 180_000);
afterAll(() => t.stop());

/** One connection attempt from `address`: the close code after connection_init, or the status refusing the upgrade. */
function connect(address: string, authorization: string): Promise<{ closed: number } | { status: number; retryAfter?: string } | 'ack'> {
  const socket = new WebSocket(`${t.url.replace(/^http/, 'ws')}/graphql`, 'graphql-transport-ws', { headers: { 'x-forwarded-for': address } });
  socket.on('error', () => {});
  return new Promise((resolve) => {
    socket.on('unexpected-response', (_req, res) => resolve({ status: res.statusCode!, retryAfter: res.headers['retry-after'] as string | undefined }));
    socket.on('open', () => socket.send(JSON.stringify({ type: 'connection_init', payload: { authorization } })));
    socket.on('message', (data) => {
      if (JSON.parse(data.toString()).type !== 'connection_ack') return;
      socket.close();
      resolve('ack');
    });
    socket.on('close', (code) => resolve({ closed: code }));
  });
}

describe('refused WebSocket connections', () => {
  // Attack: a device reconnecting in a tight loop with a refused credential (here a replayed
  // assertion), costing a signature check and an audit row per attempt.
  it('throttles refused connects of one address at the upgrade and audits them as one row with a count', async () => {
    const { phone } = await phoneUser(t);
    const replayed = await deviceAuthorization(t, phone);
    expect(await connect('192.0.2.1', replayed)).toBe('ack');

    const outcomes = [];
    for (let i = 0; i < 60; i++) outcomes.push(await connect('192.0.2.1', replayed));
    expect(outcomes.slice(0, 5)).toEqual(Array(5).fill({ closed: 4401 }));
    for (const outcome of outcomes.slice(5)) {
      expect(outcome).toMatchObject({ status: 429 });
      expect(Number((outcome as { retryAfter: string }).retryAfter)).toBeGreaterThanOrEqual(1);
    }

    const rows = (await auditOf(t, 'device.authenticate', phone.deviceId!)).filter((row) => row.reasonCode === 'ASSERTION_REPLAYED');
    expect(rows).toHaveLength(1);
    expect(rows[0]!.after).toEqual({ refusals: 5, windowSeconds: 60 });

    // Not a lockout of the device: from another address it connects with a fresh assertion.
    expect(await connect('192.0.2.2', await deviceAuthorization(t, phone))).toBe('ack');
    // Once the audit window has passed, a new refusal starts a new row.
    t.clock.advance(61);
    const another = await deviceAuthorization(t, phone);
    expect(await connect('192.0.2.3', another)).toBe('ack');
    expect(await connect('192.0.2.4', another)).toEqual({ closed: 4401 });
    const later = (await auditOf(t, 'device.authenticate', phone.deviceId!)).filter((row) => row.reasonCode === 'ASSERTION_REPLAYED');
    expect(later.map((row) => row.after)).toEqual([
      { refusals: 5, windowSeconds: 60 },
      { refusals: 1, windowSeconds: 60 },
    ]);
  });
});
