import { readFileSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { exportJWK } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { type AppOptions, AuthenticatorApp, FeedRefusedError, type FeedState, MemoryKeyStore, type PhoneSignInChallenge } from '../src/sdk/index.js';
import { addUser, allowPhoneSignIn, beginRegistration } from './authenticatorClient.js';
import { createTenant } from './harness.js';
import { attemptQuery, cancel, serverPerFile, started } from './signInFlow.js';
import { startTcpProxy } from './support/tcpProxy.js';

// The SDK on its own, against the running server: what an authenticator app built on it sees when
// the connection drops, when WebSockets are blocked, and when the device is removed.

const t = serverPerFile();
const PHONE = { displayName: 'SDK phone', platform: 'ANDROID', osVersion: '14', appVersion: '6.2403.1' } as const;

/** A user allowed phone sign-in and an app activated for them with phone sign-in on. */
async function activatedApp(options: AppOptions = {}) {
  const tenant = await createTenant(t);
  await allowPhoneSignIn(t, tenant.tenantId);
  const user = await addUser(t, tenant);
  const activationUrl = (await beginRegistration(t, user.token)).data.beginAuthenticatorRegistration.activationUrl;
  const app = await AuthenticatorApp.activate(activationUrl, PHONE, { webSocketImpl: WebSocket, now: () => t.clock.now(), ...options });
  await app.enablePhoneSignIn();
  return { user, app };
}

/** Records what a feed delivers and the states it goes through. */
function recorder() {
  const challenges: PhoneSignInChallenge[] = [];
  const states: FeedState[] = [];
  const errors: FeedRefusedError[] = [];
  const until = async (what: string, done: () => boolean, timeoutMs = 60_000) => {
    for (const end = Date.now() + timeoutMs; !done(); await new Promise((r) => setTimeout(r, 20))) {
      if (Date.now() > end) throw new Error(`timed out waiting for ${what}; states ${states.join(' → ')}, challenges ${challenges.map((c) => c.id).join(', ')}`);
    }
  };
  return {
    challenges,
    states,
    errors,
    until,
    options: { onChallenge: (c: PhoneSignInChallenge) => challenges.push(c), onState: (s: FeedState) => states.push(s), onError: (e: FeedRefusedError) => errors.push(e) },
  };
}

describe('the authenticator SDK', () => {
  let clockSync: ReturnType<typeof setInterval>;
  beforeAll(() => {
    // Reconnects wait real seconds; the server's hand-moved clock keeps pace so assertions stay fresh.
    clockSync = setInterval(() => t.clock.advance((Date.now() - t.clock.now().getTime()) / 1000), 500);
  });
  afterAll(() => clearInterval(clockSync));

  it('imports nothing of Node or of the server: only jose, graphql-ws and its own files', () => {
    const dir = resolve(import.meta.dirname, '../src/sdk');
    const specifiers = readdirSync(dir).flatMap((file) => [...readFileSync(join(dir, file), 'utf8').matchAll(/^(?:import|export)[^'"]*from '([^']+)'/gm)].map((m) => m[1]!));
    expect(new Set(specifiers.filter((s) => !s.startsWith('./')))).toEqual(new Set(['jose', 'graphql-ws']));
  });

  it('keeps new keys non-extractable unless asked, and a store gets the state after each change', async () => {
    const store = new MemoryKeyStore();
    const { app } = await activatedApp({ store });
    await expect(exportJWK(app.keys.deviceKey.privateKey)).rejects.toThrow();
    expect(app.keys.credentialKey!.privateKey.extractable).toBe(false);
    expect(await store.load()).toMatchObject({ deviceId: app.keys.deviceId, credentialId: app.keys.credentialId, audience: t.server.issuer });
    expect(await app.disablePhoneSignIn()).toBe(true);
    expect((await store.load())?.credentialId).toBeUndefined();
    expect(await app.disablePhoneSignIn()).toBe(false);
  });

  it('delivers each challenge once across a dropped connection, reconnecting with a fresh assertion', async () => {
    const { user, app } = await activatedApp();
    const proxy = await startTcpProxy({ host: '127.0.0.1', port: Number(new URL(t.url).port) });
    const viaProxy = AuthenticatorApp.fromState({ ...app.state(), endpoint: proxy.via(app.endpoint) }, { webSocketImpl: WebSocket, now: () => t.clock.now() });
    const seen = recorder();
    const feed = viaProxy.listen({ ...seen.options, keepAliveMs: 1_000, pongTimeoutMs: 1_000, pollIntervalMs: 500 });
    try {
      await seen.until('live', () => seen.states.includes('live'));
      const first = await started(t, user.userPrincipalName);
      await seen.until('the first challenge', () => seen.challenges.length === 1);
      expect(seen.challenges[0]).toMatchObject({ id: first.attemptId, appName: 'Contoso Mail', userPrincipalName: user.userPrincipalName });

      proxy.cut('reset');
      await seen.until('polling', () => seen.states.at(-1) === 'polling');
      proxy.restore();
      await seen.until('live again', () => seen.states.filter((s) => s === 'live').length === 2);
      // On reconnect the server replays every pending challenge: the first is still pending, and is not delivered again.
      expect((await cancel(t, first)).data.cancelSignIn.status).toBe('CANCELLED');
      const second = await started(t, user.userPrincipalName);
      await seen.until('the second challenge', () => seen.challenges.length === 2);
      await new Promise((r) => setTimeout(r, 1_500));
      expect(seen.challenges.map((c) => c.id)).toEqual([first.attemptId, second.attemptId]);
      expect(await viaProxy.approve(seen.challenges[1]!, second.number, 'pin')).toBe('APPROVED');
      expect(seen.errors).toEqual([]);
    } finally {
      await feed.stop();
      await proxy.close();
    }
    expect(seen.states.at(-1)).toBe('stopped');
  }, 120_000);

  it('answers on the live connection while the feed has one, and over HTTP once it has not', async () => {
    const posted: string[] = [];
    const counting: AppOptions['fetch'] = (input, init) => {
      posted.push(String(init?.body ?? ''));
      return fetch(input, init);
    };
    const { user, app } = await activatedApp({ fetch: counting });
    const seen = recorder();
    const feed = app.listen(seen.options);
    const answersOverHttp = () => posted.filter((body) => body.includes('respondToPhoneSignInChallenge')).length;
    try {
      await seen.until('live', () => seen.states.includes('live'));
      const first = await started(t, user.userPrincipalName);
      await seen.until('the first challenge', () => seen.challenges.length === 1);
      expect(await app.approve(seen.challenges[0]!, first.number, 'biometric')).toBe('APPROVED');
      expect(answersOverHttp()).toBe(0);
      await feed.stop();
      expect(app.liveSocket).toBeUndefined();
      await cancel(t, first);
      const second = await started(t, user.userPrincipalName);
      const [pending] = await app.pendingChallenges();
      expect(await app.deny(pending!)).toBe('DENIED');
      expect(answersOverHttp()).toBe(1);
      expect((await attemptQuery(t, second)).data.signInAttempt.status).toBe('DENIED');
    } finally {
      await feed.stop();
    }
  }, 120_000);

  it('falls back to polling where WebSockets are blocked, still delivering each challenge once', async () => {
    // A network that refuses WebSocket connections (some proxies do): every socket goes nowhere.
    class Blocked extends WebSocket {
      constructor(_url: string, protocols?: string | string[]) {
        super('ws://127.0.0.1:9/graphql', protocols);
      }
    }
    const { user, app } = await activatedApp();
    const blocked = AuthenticatorApp.fromState(app.state(), { webSocketImpl: Blocked, now: () => t.clock.now() });
    const seen = recorder();
    const feed = blocked.listen({ ...seen.options, pollIntervalMs: 300 });
    try {
      await seen.until('polling', () => seen.states.includes('polling'));
      const browser = await started(t, user.userPrincipalName);
      await seen.until('the challenge', () => seen.challenges.length === 1);
      // Several more polls return it again; it is not delivered again.
      await new Promise((r) => setTimeout(r, 1_500));
      expect(seen.challenges.map((c) => c.id)).toEqual([browser.attemptId]);
      expect(await blocked.deny(seen.challenges[0]!)).toBe('DENIED');
      expect((await attemptQuery(t, browser)).data.signInAttempt.status).toBe('DENIED');
      expect(seen.states).not.toContain('live');
    } finally {
      await feed.stop();
    }
  }, 120_000);

  it('stops and says why when the device is removed', async () => {
    const { user, app } = await activatedApp();
    const seen = recorder();
    const feed = app.listen(seen.options);
    await seen.until('live', () => seen.states.includes('live'));
    await t.gql(`mutation($id: ID!) { removeAuthenticationMethod(id: $id) { __typename } }`, { id: app.keys.deviceId }, user.token);
    await seen.until('the refusal', () => seen.errors.length === 1);
    expect(seen.errors[0]).toBeInstanceOf(FeedRefusedError);
    expect(seen.errors[0]!.message).toMatch(/removed/);
    expect(feed.state).toBe('stopped');
  }, 60_000);
});
