import { describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { addUser } from './authenticatorClient.js';
import { createTenant, type TestServer } from './harness.js';
import { auditOf, passwordSignIn, serverPerFile, setSettings, sharedServices, twoNodesPerBlock } from './signInFlow.js';

const t = serverPerFile();

const ALERTS = 'subscription { securityAlerts { kind userId details } }';
const WAIT_MS = 10_000;
const SIGNED_OUT = { code: 4401, reason: 'Unauthorized: this session was signed out. Sign in again.' };

/** Fails after WAIT_MS (generous, for a busy machine) instead of hanging. */
function within<T>(promise: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: nothing within ${WAIT_MS} ms`)), WAIT_MS);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/**
 * A raw graphql-transport-ws connection signed in with a bearer token, acknowledged, optionally
 * running one subscription: what it received, and how it closed.
 */
async function openSocket(server: TestServer, token: string, subscription?: string) {
  const socket = new WebSocket(`${server.url.replace(/^http/, 'ws')}/graphql`, 'graphql-transport-ws');
  const received: unknown[] = [];
  const closed = new Promise<{ code: number; reason: string }>((resolve) => socket.on('close', (code, reason) => resolve({ code, reason: reason.toString() })));
  const acknowledged = new Promise<void>((resolve, reject) => {
    socket.on('open', () => socket.send(JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${token}` } })));
    socket.on('message', (data) => {
      const message = JSON.parse(data.toString());
      if (message.type === 'connection_ack') resolve();
      if (message.type === 'next') {
        received.push(message.payload);
      }
    });
    socket.on('close', (code) => reject(new Error(`closed with ${code} before connection_ack`)));
  });
  await within(acknowledged, 'connection_ack');
  if (subscription) socket.send(JSON.stringify({ id: '1', type: 'subscribe', payload: { query: subscription } }));
  return {
    socket,
    received,
    closed: () => within(closed, 'the socket closing'),
    /** Whether it is still open after `ms` (a wait that proves nothing happened, so only where an early close is the failure). */
    openAfter: (ms: number) => Promise.race([closed.then(() => false), new Promise<boolean>((resolve) => setTimeout(() => resolve(true), ms))]),
  };
}

const THRESHOLD = 3;

/** A tenant where a few wrong passwords lock a user out, raising a LOCKED_OUT alert: `lockOut` does it to a new user. */
async function lockableTenant(server: TestServer) {
  const tenant = await createTenant(server);
  await setSettings(server, tenant.tenantId, { failureLockoutThreshold: THRESHOLD });
  const lockOut = async () => {
    const victim = await addUser(server, tenant);
    for (let guess = 0; guess < THRESHOLD; guess++) await passwordSignIn(server, victim.userPrincipalName, 'not the password!');
    return victim;
  };
  return { tenant, lockOut };
}

/**
 * Raises alerts until the socket's subscription delivers one: graphql-ws does not say when a
 * subscription has started, and alerts are not replayed. Bounded.
 */
async function untilLive(socket: { received: unknown[]; openAfter(ms: number): Promise<boolean> }, lockOut: () => Promise<unknown>) {
  for (let tries = 0; tries < 5 && socket.received.length === 0; tries++) {
    await lockOut();
    for (let waited = 0; waited < 20 && socket.received.length === 0; waited++) await socket.openAfter(100);
  }
  expect(socket.received.length).toBeGreaterThan(0);
  return socket.received.length;
}

describe('sockets signed in with an access token', () => {
  // Attack: an admin subscribed to securityAlerts signs out (or a stolen token's session is ended);
  // the socket was authorised once, at connection_init, and kept receiving alerts naming users,
  // their IP addresses and locations.
  it('are closed when their session signs out, before the next alert', async () => {
    const { tenant, lockOut } = await lockableTenant(t);
    const admin = await openSocket(t, tenant.adminToken, ALERTS);
    const delivered = await untilLive(admin, lockOut);
    expect(admin.received.at(-1)).toMatchObject({ data: { securityAlerts: { kind: 'LOCKED_OUT' } } });

    expect((await t.gql('mutation { signOut }', {}, tenant.adminToken)).data).toEqual({ signOut: true });
    expect(await admin.closed()).toEqual(SIGNED_OUT);
    const next = await lockOut();
    expect(await auditOf(t, 'securityAlert.LOCKED_OUT', next.userId)).toHaveLength(1);
    expect(admin.received).toHaveLength(delivered);
    expect((await t.gql('{ viewer { id } }', {}, tenant.adminToken)).errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
  });

  it("close only that session's sockets: the user's other sessions stay connected", async () => {
    const tenant = await createTenant(t);
    const user = await addUser(t, tenant);
    const other = await passwordSignIn(t, user.userPrincipalName, user.password);
    const kept = await openSocket(t, other.data.signInWithPassword.accessToken);
    const ended = await openSocket(t, user.token);
    await t.gql('mutation { signOut }', {}, user.token);
    expect(await ended.closed()).toEqual(SIGNED_OUT);
    expect(kept.socket.readyState).toBe(WebSocket.OPEN);
    kept.socket.close();
  });

  // Attack: an admin removed from the role, or a disabled or deleted user, keeps what an open socket
  // was allowed when it connected.
  it('are closed when the user is demoted (those opened as admin), disabled or deleted', async () => {
    const tenant = await createTenant(t);
    const demoted = await addUser(t, tenant, { isAdmin: true });
    const bystander = await addUser(t, tenant);
    const disabled = await addUser(t, tenant);
    const deleted = await addUser(t, tenant);
    const sockets = {
      demoted: await openSocket(t, demoted.token, ALERTS),
      bystander: await openSocket(t, bystander.token),
      disabled: await openSocket(t, disabled.token),
      deleted: await openSocket(t, deleted.token),
    };
    const update = (input: Record<string, unknown>) =>
      t.gql('mutation($i: UpdateUserInput!) { updateUser(input: $i) { __typename } }', { i: input }, tenant.adminToken);

    expect((await update({ id: demoted.userId, isAdmin: false })).data.updateUser.__typename).toBe('User');
    expect(await sockets.demoted.closed()).toEqual({ code: 4403, reason: 'Forbidden: the admin role was removed. Connect again for what you may still see.' });
    expect((await update({ id: disabled.userId, disabled: true })).data.updateUser.__typename).toBe('User');
    expect(await sockets.disabled.closed()).toEqual({ code: 4401, reason: 'Unauthorized: this account was disabled.' });
    await t.gql('mutation($id: ID!) { deleteUser(id: $id) { __typename } }', { id: deleted.userId }, tenant.adminToken);
    expect(await sockets.deleted.closed()).toEqual({ code: 4401, reason: 'Unauthorized: this account was deleted.' });
    expect(sockets.bystander.socket.readyState).toBe(WebSocket.OPEN);
    sockets.bystander.socket.close();
  });

  // Attack: a socket opened with an access token outlives the token by hours.
  it('are closed when their access token expires', async () => {
    const tenant = await createTenant(t);
    const user = await addUser(t, tenant);
    const socket = await openSocket(t, user.token);
    const ttlSeconds = t.server.app.config.accessTokenTtlSeconds;
    t.clock.advance(ttlSeconds - 30);
    expect(await socket.openAfter(2500)).toBe(true);
    t.clock.advance(31);
    expect(await socket.closed()).toEqual({ code: 4401, reason: 'Unauthorized: the access token has expired. Sign in again.' });
  });
});


describe.runIf(sharedServices)('sockets signed in with an access token, on several nodes', () => {
  const [a, b] = twoNodesPerBlock();

  // Attack: signing out on one node while the socket lives on another.
  it('are closed on every node when their session signs out on one', async () => {
    const { tenant, lockOut } = await lockableTenant(a);
    const admin = await openSocket(b, tenant.adminToken, ALERTS);
    await untilLive(admin, lockOut);
    await a.gql('mutation { signOut }', {}, tenant.adminToken);
    expect(await admin.closed()).toEqual(SIGNED_OUT);
  });
});
