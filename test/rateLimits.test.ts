import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import WebSocket from 'ws';
import { RateLimitedError, RateLimits } from '../src/services/rateLimits.js';
import { AuthenticatorKeys } from '../src/sdk/authenticator.js';
import { beginRegistration, deviceAuthorization } from './authenticatorClient.js';
import { type TestServer, startTestServer } from './harness.js';
import { phoneUser, signInLogsOf } from './signInFlow.js';

const LIMITS = {
  RATE_LIMIT_SIGN_IN_PER_IP: '3',
  RATE_LIMIT_SIGN_IN_PER_ACCOUNT: '5',
  RATE_LIMIT_ACTIVATION_PER_IP: '2',
  RATE_LIMIT_DEVICE_PER_IP: '3',
  RATE_LIMIT_DEVICE_PER_DEVICE: '5',
};

let t: TestServer;
let setup: Awaited<ReturnType<typeof phoneUser>>;
beforeAll(async () => {
  // The test runner is the trusted proxy, so each test speaks for client addresses of its own.
  // Set-up (tenant, user, phone) calls from 127.0.0.1: two password sign-ins, one activation, one device request.
  t = await startTestServer({ TRUSTED_PROXIES: '127.0.0.1', ...LIMITS });
  setup = await phoneUser(t);
});
afterAll(() => t.stop());

let nextAddress = 0;
const freshAddress = () => `203.0.113.${++nextAddress}`;
const from = (address: string) => ({ 'x-forwarded-for': address });
const nobody = () => `nobody-${randomBytes(4).toString('hex')}@${setup.tenant.domain}`;
const RESULT = '__typename ... on Error { code message } ... on DomainError { retryAfterSeconds }';

const begin = async (userPrincipalName: string, address: string) =>
  (await t.gql(`mutation($i: BeginSignInInput!) { beginSignIn(input: $i) { ${RESULT} } }`, { i: { userPrincipalName, appName: 'Mail' } }, undefined, from(address))).data
    ?.beginSignIn;

function expectRateLimited(result: any, who: RegExp) {
  expect(result).toMatchObject({ __typename: 'DomainError', code: 'RATE_LIMITED' });
  expect(result.message).toMatch(who);
  expect(result.message).toMatch(/Try again in \d+ seconds?\.$/);
  expect(result.retryAfterSeconds).toBeGreaterThanOrEqual(1);
  expect(result.retryAfterSeconds).toBeLessThanOrEqual(60);
}

describe('rate limits on anonymous sign-in', () => {
  // Attack: an anonymous flood of beginSignIn for made-up names in a real domain from one address,
  // probing accounts and writing a sign-in log row for each.
  it('refuses an address past its limit before any work, writing no sign-in log row for the refused calls', async () => {
    const address = freshAddress();
    const names = Array.from({ length: 6 }, nobody);
    const answers = [];
    for (const name of names) answers.push(await begin(name, address));
    expect(answers.slice(0, 3).map((a) => a.__typename)).toEqual(['PasswordRequired', 'PasswordRequired', 'PasswordRequired']);
    for (const refused of answers.slice(3)) expectRateLimited(refused, /from your network/);
    const logged = await Promise.all(names.map((userPrincipalName) => signInLogsOf(t, { userPrincipalName })));
    expect(logged.map((rows) => rows.length)).toEqual([1, 1, 1, 0, 0, 0]);
    // Another address is not held back by this one.
    expect((await begin(names[5]!, freshAddress())).__typename).toBe('PasswordRequired');
  });

  // Attack: one account sprayed from many addresses, each under its own limit.
  it('limits one account across addresses, leaving other accounts and the addresses alone', async () => {
    const target = nobody();
    for (let i = 0; i < 5; i++) expect((await begin(target, freshAddress())).__typename).toBe('PasswordRequired');
    const address = freshAddress();
    expectRateLimited(await begin(target, address), /for this account/);
    expect((await begin(nobody(), address)).__typename).toBe('PasswordRequired');
  });

  // Attack: password spraying and Temporary Access Pass guessing from one address.
  it('limits password and Temporary Access Pass sign-ins per address', async () => {
    const operations = [
      { name: 'signInWithPassword', input: 'SignInWithPasswordInput', secret: { password: 'Winter2026!' }, refusal: 'INVALID_CREDENTIALS' },
      { name: 'signInWithTemporaryAccessPass', input: 'SignInWithTemporaryAccessPassInput', secret: { pass: 'ABCD-EFGH-JKLM' }, refusal: 'TEMPORARY_ACCESS_PASS_INVALID' },
    ];
    for (const { name, input, secret, refusal } of operations) {
      const address = freshAddress();
      const answers = [];
      for (let i = 0; i < 4; i++) {
        const response = await t.gql(`mutation($i: ${input}!) { ${name}(input: $i) { ${RESULT} } }`, { i: { userPrincipalName: nobody(), ...secret } }, undefined, from(address));
        answers.push(response.data?.[name]);
      }
      expect(answers.slice(0, 3).map((a) => a.code), name).toEqual([refusal, refusal, refusal]);
      expectRateLimited(answers[3], /from your network/);
    }
  });

  // Attack: guessing activation codes from one address.
  it('limits authenticator activations per address', async () => {
    const link = (await beginRegistration(t, setup.user.token)).data.beginAuthenticatorRegistration;
    const keys = await AuthenticatorKeys.create();
    const address = freshAddress();
    const answers = [];
    for (let i = 0; i < 3; i++) {
      const activationCode = `${link.activationCode}x${i}`;
      const proof = await keys.activationProof({ activationCode, audience: t.server.issuer, now: t.clock.now() });
      const response = await t.gql(
        `mutation($i: ActivateAuthenticatorInput!) { activateAuthenticator(input: $i) { ${RESULT} } }`,
        { i: { activationCode, device: { displayName: 'Phone', platform: 'IOS', osVersion: '17.4.1', appVersion: '6.2403.1' }, proof } },
        undefined,
        from(address),
      );
      answers.push(response.data?.activateAuthenticator);
    }
    expect(answers.slice(0, 2).map((a) => a.code)).toEqual(['ACTIVATION_CODE_INVALID', 'ACTIVATION_CODE_INVALID']);
    expectRateLimited(answers[2], /activations from your network/);
  });
});

describe('rate limits on device assertions', () => {
  const asDevice = async (address: string) => {
    const response = await fetch(`${t.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...from(address), authorization: await deviceAuthorization(t, setup.phone) },
      body: JSON.stringify({ query: '{ __typename }' }),
    });
    return { status: response.status, retryAfter: response.headers.get('retry-after'), body: (await response.json()) as any };
  };

  // Attack: a flood of (valid or forged) device assertions, each costing a signature check and database work.
  it('refuses an address past its limit with 429 before verifying, and a device past its own on any address', async () => {
    const address = freshAddress();
    for (let i = 0; i < 3; i++) expect((await asDevice(address)).status).toBe(200);
    const refused = await asDevice(address);
    expect(refused.status).toBe(429);
    expect(refused.body.errors[0].extensions.code).toBe('RATE_LIMITED');
    expect(refused.body.errors[0].message).toMatch(/from your network\. Try again in \d+ seconds?\./);
    expect(Number(refused.retryAfter)).toBeGreaterThanOrEqual(1);
    // Set-up's enablePhoneSignIn and the three above: the device's fifth request passes, its sixth does not.
    expect((await asDevice(freshAddress())).status).toBe(200);
    const device = await asDevice(freshAddress());
    expect(device.status).toBe(429);
    expect(device.body.errors[0].message).toMatch(/from this authenticator/);
    // Over graphql-ws the connection_init is refused with graphql-ws's "too many" close code.
    const socket = new WebSocket(`${t.url.replace(/^http/, 'ws')}/graphql`, 'graphql-transport-ws', { headers: from(freshAddress()) });
    const authorization = await deviceAuthorization(t, setup.phone);
    socket.on('open', () => socket.send(JSON.stringify({ type: 'connection_init', payload: { authorization } })));
    const closed = await new Promise<{ code: number; reason: string }>((resolve) => socket.on('close', (code, reason) => resolve({ code, reason: reason.toString() })));
    expect(closed.code).toBe(4429);
    expect(closed.reason).toMatch(/from this authenticator/);
  });
});

describe('rate limits while Redis is away', () => {
  // Attack: flooding while the shared counter store is unreachable, hoping the gate fails open.
  it('counts on the node meanwhile, neither opening nor shutting the gate, and answers at once', async () => {
    // Port 9 (discard) on loopback: nothing listens, so Redis never becomes ready.
    const away = await startTestServer({ TRUSTED_PROXIES: '127.0.0.1', ...LIMITS, REDIS_URL: 'redis://127.0.0.1:9' });
    try {
      const address = freshAddress();
      const ask = async () =>
        (await away.gql(`mutation($i: BeginSignInInput!) { beginSignIn(input: $i) { ${RESULT} } }`, { i: { userPrincipalName: 'someone@nowhere.example', appName: 'Mail' } }, undefined, from(address)))
          .data?.beginSignIn;
      const started = performance.now();
      for (let i = 0; i < 3; i++) expect((await ask()).__typename).toBe('PasswordRequired');
      expectRateLimited(await ask(), /from your network/);
      // Three answers held to beginSignIn's 250 ms floor and one refusal: no wait for Redis on top.
      expect(performance.now() - started).toBeLessThan(10_000);
    } finally {
      await away.stop();
    }
  }, 180_000);

  it.skipIf(!process.env.REDIS_URL)('shares the counts between nodes through Redis', async () => {
    const publicUrl = `http://localhost:1${randomBytes(2).readUInt16BE() % 10000}`;
    const first = await startTestServer({ TRUSTED_PROXIES: '127.0.0.1', ...LIMITS, PUBLIC_URL: publicUrl });
    const second = await startTestServer({ TRUSTED_PROXIES: '127.0.0.1', ...LIMITS, PUBLIC_URL: publicUrl }, { nodeOf: first });
    try {
      const address = freshAddress();
      const ask = async (node: TestServer) =>
        (await node.gql(`mutation($i: BeginSignInInput!) { beginSignIn(input: $i) { ${RESULT} } }`, { i: { userPrincipalName: 'someone@nowhere.example', appName: 'Mail' } }, undefined, from(address)))
          .data?.beginSignIn;
      for (const node of [first, second, first]) expect((await ask(node)).__typename).toBe('PasswordRequired');
      expectRateLimited(await ask(second), /from your network/);
    } finally {
      await second.stop();
      await first.stop();
    }
  }, 180_000);

  it.skipIf(!process.env.REDIS_URL)('counts a new node\'s very first calls in Redis, not in a window of its own while it connects', async () => {
    const settings = { signInPerIp: 2, signInPerAccount: 2, activationPerIp: 2, devicePerIp: 2, devicePerDevice: 2, refusedConnectsPerIp: 2 };
    const issuer = `http://localhost:fresh-${randomBytes(6).toString('hex')}`;
    const logger = pino({ level: 'silent' });
    // Two nodes, asked the moment they exist (the CI run once saw a fresh node allow one over).
    const [one, two] = await Promise.all([RateLimits.create(settings, issuer, process.env.REDIS_URL, logger), RateLimits.create(settings, issuer, process.env.REDIS_URL, logger)]);
    try {
      await one.consume('setup', { ip: '198.51.100.7' });
      await two.consume('setup', { ip: '198.51.100.7' });
      await expect(one.consume('setup', { ip: '198.51.100.7' })).rejects.toBeInstanceOf(RateLimitedError);
    } finally {
      await Promise.all([one.close(), two.close()]);
    }
  });
});
