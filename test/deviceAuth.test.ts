import { randomUUID } from 'node:crypto';
import { and, eq, like } from 'drizzle-orm';
import { SignJWT, base64url } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { auditLogs, devices, usedAssertionIds, users } from '../src/db/schema.js';
import { AuthenticatorKeys, randomJti } from '../src/sdk/authenticator.js';
import { closeReason } from '../src/http/graphqlWs.js';
import { allowPhoneSignIn, deviceAuthorization, registerPhone } from './authenticatorClient.js';
import { createTenant, startTestServer, type TestServer } from './harness.js';

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer();
});
afterAll(() => t.stop());

const ME = '{ authenticatorDevice { id phoneSignInEnabled lastUsedAt } }';
const seconds = (date: Date) => Math.floor(date.getTime() / 1000);

async function phone() {
  const tenant = await createTenant(t);
  await allowPhoneSignIn(t, tenant.tenantId);
  return { tenant, keys: await registerPhone(t, tenant.adminToken) };
}

/** Sends one request as the device; resolves to the HTTP status and the first error, if any. */
async function asDevice(authorization: string) {
  const result = await t.gql(ME, {}, authorization);
  return { status: result.status, error: result.errors?.[0], data: result.data };
}

const refusals = (deviceId: string) =>
  t.server.app.db
    .select({ reasonCode: auditLogs.reasonCode })
    .from(auditLogs)
    .where(and(eq(auditLogs.action, 'device.authenticate'), eq(auditLogs.targetId, deviceId)))
    .orderBy(auditLogs.id)
    .then((rows) => rows.map((r) => r.reasonCode));

/**
 * A raw graphql-transport-ws connection: resolves once acknowledged, and exposes how it closed.
 * Sends `{ authorization }` in connection_init, or the payload given.
 */
function openDeviceSocket(authorization: string | Record<string, unknown>) {
  const socket = new WebSocket(`${t.url.replace(/^http/, 'ws')}/graphql`, 'graphql-transport-ws');
  const closed = new Promise<{ code: number; reason: string }>((resolve) => socket.on('close', (code, reason) => resolve({ code, reason: reason.toString() })));
  const payload = typeof authorization === 'string' ? { authorization } : authorization;
  const acknowledged = new Promise<boolean>((resolve) => {
    socket.on('open', () => socket.send(JSON.stringify({ type: 'connection_init', payload })));
    socket.on('message', (data) => resolve(JSON.parse(data.toString()).type === 'connection_ack'));
    socket.on('close', () => resolve(false));
  });
  return { socket, acknowledged, closed };
}

describe('device assertions over HTTP', () => {
  it('authenticate the device, once per assertion, and record when it was last used', async () => {
    const { keys } = await phone();
    t.clock.advance(120);
    const authorization = await deviceAuthorization(t, keys);
    const first = await asDevice(authorization);
    expect(first.status).toBe(200);
    expect(first.data.authenticatorDevice).toEqual({ id: keys.deviceId, phoneSignInEnabled: true, lastUsedAt: t.clock.now().toISOString() });

    // Attack: replaying a captured assertion.
    const replay = await asDevice(authorization);
    expect(replay.status).toBe(401);
    expect(replay.error).toMatchObject({ extensions: { code: 'UNAUTHENTICATED' } });
    // Advice for a phone (sign a new assertion), not for a person (sign in again).
    expect(replay.error!.message).toBe('Device not authenticated: this device assertion was already used (its jti was seen before); sign a new one for each request.');
    expect(await refusals(keys.deviceId!)).toEqual(['ASSERTION_REPLAYED']);
  });

  it('refuses stale, future, long-lived, expired and wrong-audience assertions, saying why', async () => {
    const { keys } = await phone();
    const now = t.clock.now();
    const signed = (o: { now?: Date; lifetimeSeconds?: number; audience?: string }) =>
      keys.deviceAssertion({ audience: o.audience ?? t.server.issuer, now: o.now ?? now, lifetimeSeconds: o.lifetimeSeconds }).then((a) => `Device ${a}`);
    const cases: Array<[string, Promise<string>, string]> = [
      ['stale', signed({ now: new Date(now.getTime() - 61_000), lifetimeSeconds: 300 }), 'issued 61 s ago'],
      ['future', signed({ now: new Date(now.getTime() + 61_000) }), 'issued 61 s in the future'],
      ['long-lived', signed({ lifetimeSeconds: 301 }), 'valid for 301 s (exp - iat); at most 300 s'],
      ['wrong audience', signed({ audience: 'https://evil.example' }), `The aud claim is "https://evil.example"; expected "${t.server.issuer}"`],
      ['expired', signed({ now: new Date(now.getTime() - 30_000), lifetimeSeconds: 20 }), 'expired 10 s ago'],
    ];
    for (const [name, authorization, reason] of cases) {
      const result = await asDevice(await authorization);
      expect(result.status, name).toBe(401);
      expect(result.error!.message, name).toContain(reason);
      expect(result.error!.message, name).toMatch(/^Device not authenticated: /);
      expect(result.error!.message, name).not.toMatch(/sign in again/i);
    }
    expect(await refusals(keys.deviceId!)).toEqual(['ASSERTION_STALE', 'ASSERTION_NOT_YET_VALID', 'ASSERTION_LIFETIME_TOO_LONG', 'ASSERTION_WRONG_AUDIENCE', 'ASSERTION_EXPIRED']);
    expect((await asDevice(await signed({}))).status).toBe(200);
  });

  // Attack: impersonating a registered device without its private key.
  it('refuses an assertion signed by another key, alg none, HMAC and a short jti', async () => {
    const { keys } = await phone();
    const deviceId = keys.deviceId!;
    const impostor = await AuthenticatorKeys.create();
    impostor.deviceId = deviceId;
    const stolen = await asDevice(await deviceAuthorization(t, impostor));
    expect(stolen.status).toBe(401);
    expect(stolen.error!.message).toContain(`The signature does not verify with the registered key "${deviceId}"`);

    const iat = seconds(t.clock.now());
    const claims = { iss: deviceId, sub: deviceId, aud: t.server.issuer, iat, exp: iat + 60, jti: randomJti() };
    const none = `${base64url.encode(JSON.stringify({ alg: 'none', typ: 'device-assertion+jwt', kid: deviceId }))}.${base64url.encode(JSON.stringify(claims))}.`;
    expect((await asDevice(`Device ${none}`)).error!.message).toContain('The header alg is "none"');
    const hmac = await new SignJWT(claims)
      .setProtectedHeader({ alg: 'HS256', typ: 'device-assertion+jwt', kid: deviceId })
      .sign(new TextEncoder().encode(JSON.stringify(keys.deviceKey.publicJwk)));
    expect((await asDevice(`Device ${hmac}`)).status).toBe(401);
    expect((await asDevice(await deviceAuthorization(t, keys, { jti: 'short' }))).error!.message).toContain('at least 128 bits');
    // A header that is not ES256 is refused before the device is looked up, so it is not audited against it.
    expect(await refusals(deviceId)).toEqual(['ASSERTION_BAD_SIGNATURE', 'ASSERTION_WEAK_JTI']);
  });

  it('refuses unknown devices and garbage without a server error', async () => {
    const stranger = await AuthenticatorKeys.create();
    stranger.deviceId = '00000000-0000-4000-8000-000000000000';
    expect((await asDevice(await deviceAuthorization(t, stranger))).error!.message).toContain('names no registered device');
    stranger.deviceId = "x' or 1=1 --";
    expect((await asDevice(await deviceAuthorization(t, stranger))).status).toBe(401);
    for (const garbage of ['Device abc', 'Device a.b.c', `Device ${'a'.repeat(10_000)}.b.c`]) {
      const result = await asDevice(garbage);
      expect(result.status, garbage.slice(0, 20)).toBe(401);
    }
  });

  it('forgets used jtis once their assertions have expired, during maintenance', async () => {
    const { keys } = await phone();
    const authorization = await deviceAuthorization(t, keys, { lifetimeSeconds: 300 });
    expect((await asDevice(authorization)).status).toBe(200);
    const remembered = () => t.server.app.db.select().from(usedAssertionIds).where(like(usedAssertionIds.jti, `device:${keys.deviceId}:%`));
    // Registration's own enablePhoneSignIn request used one assertion too.
    expect(await remembered()).toHaveLength(2);
    t.clock.advance(299);
    await t.server.runMaintenance();
    expect(await remembered()).toHaveLength(1);
    t.clock.advance(2);
    await t.server.runMaintenance();
    expect(await remembered()).toHaveLength(0);
    // Forgotten, yet still refused: it is too old.
    expect((await asDevice(authorization)).error!.message).toContain('issued 301 s ago');
  });

  it('refuses the devices of a disabled user', async () => {
    const { keys, tenant } = await phone();
    await t.server.app.db.update(users).set({ disabled: true }).where(eq(users.id, tenant.adminId));
    expect((await asDevice(await deviceAuthorization(t, keys))).error!.message).toContain('the account of this device is disabled');
  });
});

describe('removing a device', () => {
  const REMOVE = `mutation($id: ID!) { removeAuthenticationMethod(id: $id) { __typename } }`;

  it('refuses its later assertions and closes its open WebSockets at once', async () => {
    const { keys, tenant } = await phone();
    const open = openDeviceSocket(await deviceAuthorization(t, keys));
    expect(await open.acknowledged).toBe(true);
    const bystander = await phone();
    const other = openDeviceSocket(await deviceAuthorization(t, bystander.keys));
    expect(await other.acknowledged).toBe(true);

    const removed = await t.gql(REMOVE, { id: keys.deviceId }, tenant.adminToken);
    expect(removed.data.removeAuthenticationMethod.__typename).toBe('RemovedAuthenticationMethod');
    expect(await open.closed).toEqual({ code: 4403, reason: 'Forbidden: this device was removed' });
    // Served still, not merely not closed yet (its close frame could be on the way): it answers a ping.
    const answer = new Promise<string>((resolve) => other.socket.on('message', (data) => resolve(JSON.parse(data.toString()).type)));
    other.socket.send(JSON.stringify({ type: 'ping' }));
    expect(await Promise.race([answer, other.closed.then(() => 'closed')])).toBe('pong');
    other.socket.close();

    const [row] = await t.server.app.db.select().from(devices).where(eq(devices.id, keys.deviceId!));
    expect(row!.revokedAt).not.toBeNull();
    const later = await asDevice(await deviceAuthorization(t, keys));
    expect(later.status).toBe(401);
    expect(later.error!.message).toContain('this device was removed from the account');

    // A new graphql-ws connection is refused in connection_init, saying why: register again.
    const client = t.ws(await deviceAuthorization(t, keys));
    const closeEvent = await new Promise<{ code: number; reason: string }>((resolve) => {
      client.on('closed', (event) => resolve(event as { code: number; reason: string }));
      client.subscribe({ query: ME }, { next: () => {}, error: () => {}, complete: () => {} });
    });
    expect(closeEvent).toMatchObject({ code: 4401, reason: 'Device not authenticated: this device was removed from the account; add it again from Security info.' });
    // Both refusals (HTTP, then graphql-ws) are one audit row with their count: see refusalAudit.ts.
    const revoked = await t.server.app.db
      .select({ after: auditLogs.after })
      .from(auditLogs)
      .where(and(eq(auditLogs.action, 'device.authenticate'), eq(auditLogs.targetId, keys.deviceId!), eq(auditLogs.reasonCode, 'DEVICE_REVOKED')));
    expect(revoked).toEqual([{ after: { refusals: 2, windowSeconds: 60 } }]);
  });

  it('accepts device assertions in graphql-ws connection_init', async () => {
    const { keys } = await phone();
    const client = t.ws(await deviceAuthorization(t, keys));
    const result = await new Promise<any>((resolve, reject) => {
      client.subscribe({ query: ME }, { next: resolve, error: reject, complete: () => {} });
    });
    expect(result.data.authenticatorDevice.id).toBe(keys.deviceId);
  });
});

// A refused connection_init says why, as HTTP does, so the app can tell a clock to fix (sign again)
// from a removed device (register again) or a bad token; 4401, not the 4403 of a device removed while connected.
describe('refused graphql-ws connections', () => {
  /** The 401 message HTTP gives for the same Authorization value. */
  const httpMessage = async (authorization: string) => (await t.gql(ME, {}, authorization)).errors![0]!.message;

  // Attack: replaying an assertion captured from an HTTP request to open a live connection.
  it('close with 4401 and the reason: replayed, stale, garbage, bad bearer token', async () => {
    const { keys } = await phone();
    const used = await deviceAuthorization(t, keys);
    expect((await asDevice(used)).status).toBe(200);
    const replayed = openDeviceSocket(used);
    expect(await replayed.acknowledged).toBe(false);
    // The HTTP message, cut to the 123 bytes a close frame carries.
    const replayMessage = 'Device not authenticated: this device assertion was already used (its jti was seen before); sign a new one for each request.';
    expect(await httpMessage(used)).toBe(replayMessage);
    expect(await replayed.closed).toEqual({ code: 4401, reason: replayMessage.slice(0, 123) });

    // Stale (a phone clock to fix): the reason keeps the refusal code.
    const stale = `Device ${await keys.deviceAssertion({ audience: t.server.issuer, now: new Date(t.clock.now().getTime() - 61_000), lifetimeSeconds: 300 })}`;
    const message = await httpMessage(stale);
    expect(message).toContain('(STALE)');
    expect(Buffer.byteLength(message)).toBeGreaterThan(123);
    const staleSocket = openDeviceSocket(stale);
    const { code, reason } = await staleSocket.closed;
    expect(code).toBe(4401);
    expect(reason).toBe(message.slice(0, 123));
    expect(reason).toContain('(STALE)');

    for (const [authorization, expected] of [
      ['Device abc', /^Device not authenticated: the device assertion was refused/],
      ['Bearer not-a-token', /^The bearer token is neither the operator token nor a valid access token\.$/],
      ['Basic dXNlcjpwYXNz', /^The Authorization value must be/],
    ] as const) {
      const socket = openDeviceSocket(authorization);
      const closed = await socket.closed;
      expect(closed.code, authorization).toBe(4401);
      expect(closed.reason, authorization).toMatch(expected);
      expect(closed.reason, authorization).toBe(closeReason(await httpMessage(authorization)));
    }
    // A value that is not a string is refused, not taken for an anonymous connection.
    expect((await openDeviceSocket({ authorization: 123 }).closed).code).toBe(4401);
  });

  it('read the connection_init key authorization without regard to case', async () => {
    const { keys } = await phone();
    const capitalised = openDeviceSocket({ Authorization: await deviceAuthorization(t, keys) });
    expect(await capitalised.acknowledged).toBe(true);
    capitalised.socket.close();
    // A bad credential under another spelling is refused, never taken for an anonymous connection.
    expect(await openDeviceSocket({ Authorization: 'Bearer not-a-token' }).closed).toEqual({
      code: 4401,
      reason: 'The bearer token is neither the operator token nor a valid access token.',
    });
    const twice = openDeviceSocket({ authorization: await deviceAuthorization(t, keys), AUTHORIZATION: 'Bearer x' });
    expect((await twice.closed).code).toBe(4401);
    expect(await twice.acknowledged).toBe(false);
  });

  it('cut reasons to 123 bytes without splitting a character', () => {
    expect(closeReason('short')).toBe('short');
    const accented = closeReason('é'.repeat(100));
    expect(accented).toBe('é'.repeat(61));
    expect(Buffer.byteLength(accented)).toBe(122);
    const emoji = closeReason(`${'a'.repeat(121)}📱`);
    expect(emoji).toBe('a'.repeat(121));
  });
});

describe('auditing refused assertions of another type', () => {
  // Attack: a challenge response (or any other message the device signed) replayed as its assertion.
  it('audits a wrong typ once the kid names a registered device, and ignores it for an unknown kid', async () => {
    const { keys } = await phone();
    const response = await keys.challengeResponse({ challengeId: randomUUID(), nonce: 'n', decision: 'approve', number: '42', uv: 'pin', now: t.clock.now(), key: 'device' });
    const refused = await asDevice(`Device ${response}`);
    expect(refused.status).toBe(401);
    expect(refused.error!.message).toContain('expected "device-assertion+jwt"');
    expect(await refusals(keys.deviceId!)).toEqual(['ASSERTION_WRONG_TYPE']);

    const stranger = await AuthenticatorKeys.create();
    stranger.deviceId = randomUUID();
    const before = await t.server.app.db.select().from(auditLogs).where(eq(auditLogs.action, 'device.authenticate'));
    const unknown = await stranger.challengeResponse({ challengeId: randomUUID(), nonce: 'n', decision: 'approve', number: '42', uv: 'pin', now: t.clock.now(), key: 'device' });
    expect((await asDevice(`Device ${unknown}`)).status).toBe(401);
    expect(await t.server.app.db.select().from(auditLogs).where(eq(auditLogs.action, 'device.authenticate'))).toHaveLength(before.length);
  });
});
