import { and, asc, eq } from 'drizzle-orm';
import type { Client } from 'graphql-ws';
import { afterAll, beforeAll } from 'vitest';
import { auditLogs, signInAttempts, signInLogs, tenants, users } from '../src/db/schema.js';
import type { TenantSettings } from '../src/domain/settings.js';
import type { PhoneSignInChallenge } from '../src/sdk/client.js';
import type { AuthenticatorKeys, Decision, UserVerification } from '../src/sdk/authenticator.js';
import { addUser, allowPhoneSignIn, deviceAuthorization, registerPhone } from './authenticatorClient.js';
import { createTenant, type TestServer, startTestServer } from './harness.js';

/**
 * The browser's and the phone's side of a number-matching sign-in, over the real API, for the
 * sign-in, challenge and race tests.
 */

const ERR = '... on Error { code message } ... on DomainError { field }';
export const ATTEMPT = 'id kind status failureReason expiresAt';
export const CHALLENGE = 'id kind nonce userPrincipalName appName location ipAddress expiresAt numberChoices';

/** An object that stands for the server `current` returns once it has started (a test file's top level runs before beforeAll). */
function standIn(current: () => TestServer | undefined): TestServer {
  return new Proxy({} as TestServer, {
    get(_, name) {
      const server = current();
      if (!server) throw new Error('The test server starts in beforeAll; use it inside tests.');
      const value = (server as any)[name];
      return typeof value === 'function' ? value.bind(server) : value;
    },
  });
}

/** The server of one test file: started before its tests, stopped after them. */
export function serverPerFile(options: Parameters<typeof startTestServer>[1] = {}): TestServer {
  let current: TestServer | undefined;
  beforeAll(async () => {
    current = await startTestServer({}, options);
  });
  afterAll(() => current?.stop());
  return standIn(() => current);
}

/** Whether the suite runs on a shared Postgres and Redis, where several API nodes can run side by side. */
export const sharedServices = Boolean(process.env.DATABASE_URL && process.env.REDIS_URL);

/**
 * Two API nodes behind one PUBLIC_URL on the same Postgres and Redis (sharedServices), started
 * before the tests of the describe block that calls this and stopped after them.
 */
export function twoNodesPerBlock(): [TestServer, TestServer] {
  let a: TestServer | undefined;
  let b: TestServer | undefined;
  beforeAll(async () => {
    a = await startTestServer();
    b = await startTestServer({ PUBLIC_URL: a.url }, { nodeOf: a });
  });
  afterAll(async () => {
    await b?.stop();
    await a?.stop();
  });
  return [standIn(() => a), standIn(() => b)];
}

export interface Started {
  attemptId: string;
  attemptSecret: string;
  number: string;
  expiresAt: string;
}

/** What the phone receives, as the SDK types it. */
export type Challenge = PhoneSignInChallenge;

/** A tenant with the legacy switch on, one user with a password, and that user's phone. */
export async function phoneUser(t: TestServer, tenant?: Awaited<ReturnType<typeof createTenant>>) {
  const d = tenant ?? (await createTenant(t));
  await allowPhoneSignIn(t, d.tenantId);
  const user = await addUser(t, d);
  const phone = await registerPhone(t, user.token);
  return { tenant: d, user, phone };
}

/** Saves a phone sign-in policy through the admin API: one include target per user id, or ALL_USERS. */
export async function setPolicy(
  t: TestServer,
  tenant: { adminToken: string },
  mode: 'ANY' | 'PUSH' | 'DEVICE_BASED_PUSH',
  userIds?: string[],
) {
  const includeTargets = userIds
    ? userIds.map((targetId) => ({ targetType: 'USER', targetId, authenticationMode: mode }))
    : [{ targetType: 'ALL_USERS', authenticationMode: mode }];
  const saved = await t.gql(
    `mutation($i: UpdatePhoneSignInPolicyInput!) { updatePhoneSignInPolicy(input: $i) { __typename ${ERR} } }`,
    { i: { enabled: true, includeTargets, excludeTargets: [] } },
    tenant.adminToken,
  );
  if (saved.data?.updatePhoneSignInPolicy?.__typename !== 'PhoneSignInPolicy') throw new Error(`updatePhoneSignInPolicy failed: ${JSON.stringify(saved)}`);
}

/**
 * A pending attempt written straight to the database, as if its event had been lost on the way
 * (or made before a deploy): nothing is published.
 */
export async function unpublishedAttempt(t: TestServer, o: { tenantId: string; userId: string }) {
  const [row] = await t.server.app.db
    .insert(signInAttempts)
    .values({
      tenantId: o.tenantId,
      userId: o.userId,
      kind: 'PHONE_SIGN_IN',
      number: '42',
      numberStyle: 'TYPED',
      nonce: 'n'.repeat(43),
      secretHash: 'x',
      appName: 'Old',
      createdAt: t.clock.now(),
      expiresAt: new Date(t.clock.now().getTime() + 60_000),
    })
    .returning();
  return row!;
}

/** Changes some tenant settings straight in the database (set-up, not under test). */
export async function setSettings(t: TestServer, tenantId: string, change: Partial<TenantSettings>) {
  const [row] = await t.server.app.db.select({ settings: tenants.settings }).from(tenants).where(eq(tenants.id, tenantId));
  await t.server.app.db.update(tenants).set({ settings: { ...row!.settings, ...change } }).where(eq(tenants.id, tenantId));
}

export async function userRow(t: TestServer, userId: string) {
  const [row] = await t.server.app.db.select().from(users).where(eq(users.id, userId));
  return row!;
}

export const begin = async (t: TestServer, userPrincipalName: string, appName = 'Contoso Mail') =>
  (
    await t.gql(
      `mutation($i: BeginSignInInput!) { beginSignIn(input: $i) { __typename ... on PhoneSignInStarted { attemptId attemptSecret number expiresAt } ... on PasswordRequired { reason } ${ERR} } }`,
      { i: { userPrincipalName, appName } },
    )
  ).data?.beginSignIn;

/** beginSignIn that must start; returns the browser's side. */
export async function started(t: TestServer, userPrincipalName: string, appName?: string): Promise<Started> {
  const result = await begin(t, userPrincipalName, appName);
  if (result?.__typename !== 'PhoneSignInStarted') throw new Error(`beginSignIn did not start: ${JSON.stringify(result)}`);
  return result;
}

export const pending = async (t: TestServer, phone: AuthenticatorKeys) =>
  t.gql(`{ pendingPhoneSignInChallenges { ${CHALLENGE} } }`, {}, await deviceAuthorization(t, phone));

/** The one challenge waiting for this phone. */
export async function onlyChallenge(t: TestServer, phone: AuthenticatorKeys): Promise<Challenge> {
  const list = (await pending(t, phone)).data?.pendingPhoneSignInChallenges;
  if (list?.length !== 1) throw new Error(`expected one pending challenge, got ${JSON.stringify(list)}`);
  return list[0];
}

export interface Answer {
  decision?: Decision;
  number?: string;
  uv?: UserVerification;
  now?: Date;
  nonce?: string;
  /** Which key signs: the credential key (default) or the device key (push MFA). */
  key?: 'credential' | 'device';
}

export const signResponse = (t: TestServer, phone: AuthenticatorKeys, challenge: { id: string; nonce: string }, a: Answer & { number: string }) =>
  phone.challengeResponse({
    challengeId: challenge.id,
    nonce: a.nonce ?? challenge.nonce,
    decision: a.decision ?? 'approve',
    number: a.number,
    uv: a.uv ?? 'pin',
    now: a.now ?? t.clock.now(),
    key: a.key,
  });

export async function sendResponse(t: TestServer, phone: AuthenticatorKeys, response: string) {
  return t.gql(
    `mutation($i: RespondToPhoneSignInChallengeInput!) { respondToPhoneSignInChallenge(input: $i) { __typename ... on SignInAttempt { ${ATTEMPT} } ${ERR} } }`,
    { i: { response } },
    await deviceAuthorization(t, phone),
  );
}

/** The phone answers a challenge (approve with the given number and a PIN unless told otherwise). */
export const respond = async (t: TestServer, phone: AuthenticatorKeys, challenge: { id: string; nonce: string }, a: Answer & { number: string }) =>
  sendResponse(t, phone, await signResponse(t, phone, challenge, a));

export const attemptQuery = (t: TestServer, s: { attemptId: string; attemptSecret: string }) =>
  t.gql(`query($id: ID!, $secret: String!) { signInAttempt(attemptId: $id, attemptSecret: $secret) { ${ATTEMPT} } }`, { id: s.attemptId, secret: s.attemptSecret });

export const complete = (t: TestServer, s: { attemptId: string; attemptSecret: string }) =>
  t.gql(
    `mutation($i: SignInAttemptKeyInput!) { completeSignIn(input: $i) { __typename ... on SignInSuccess { accessToken expiresAt } ${ERR} } }`,
    { i: { attemptId: s.attemptId, attemptSecret: s.attemptSecret } },
  );

export const cancel = (t: TestServer, s: { attemptId: string; attemptSecret: string }) =>
  t.gql(
    `mutation($i: SignInAttemptKeyInput!) { cancelSignIn(input: $i) { __typename ... on SignInAttempt { ${ATTEMPT} } ${ERR} } }`,
    { i: { attemptId: s.attemptId, attemptSecret: s.attemptSecret } },
  );

export const passwordSignIn = (t: TestServer, userPrincipalName: string, password: string) =>
  t.gql(
    `mutation($i: SignInWithPasswordInput!) { signInWithPassword(input: $i) { __typename ... on SignInSuccess { accessToken } ... on MfaRequired { attemptId attemptSecret number expiresAt } ... on FederationRedirect { signInUrl } ${ERR} } }`,
    { i: { userPrincipalName, password, appName: 'Contoso Portal' } },
  );

/** The `amr` claim of an access token (its signature is checked elsewhere). */
export const amrOf = (accessToken: string) => JSON.parse(Buffer.from(accessToken.split('.')[1]!, 'base64url').toString()).amr as string[];

/** How long a test waits for a live event that must come; generous so slow CI machines do not flake. */
const EVENT_TIMEOUT_MS = 10_000;

/** A graphql-ws subscription read one event at a time; `next()` fails the test if nothing comes. */
export function follow<T = any>(client: Client, query: string, variables?: Record<string, unknown>) {
  const iterator = client.iterate<T>({ query, variables })[Symbol.asyncIterator]();
  return {
    async next(): Promise<{ data?: T; errors?: any[] } | 'done'> {
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no event within ${EVENT_TIMEOUT_MS} ms on ${query}`)), EVENT_TIMEOUT_MS);
      });
      try {
        const result = await Promise.race([iterator.next(), timeout]);
        return result.done ? 'done' : (result.value as { data?: T; errors?: any[] });
      } finally {
        clearTimeout(timer);
      }
    },
    close: () => iterator.return?.(),
  };
}

export const CHALLENGES = `subscription { phoneSignInChallenges { ${CHALLENGE} } }`;

/** The phone's live challenge feed (a new connection, so a fresh device assertion). */
export const watchChallenges = async (t: TestServer, phone: AuthenticatorKeys) => follow(t.ws(await deviceAuthorization(t, phone)), CHALLENGES);

/** The browser's live view of its attempt. */
export const watchAttempt = (t: TestServer, s: { attemptId: string; attemptSecret: string }) =>
  follow(t.ws(), `subscription($id: ID!, $s: String!) { signInAttempt(attemptId: $id, attemptSecret: $s) { ${ATTEMPT} } }`, {
    id: s.attemptId,
    s: s.attemptSecret,
  });

/** The sign-in log rows of one user (or one name), oldest first. */
export const signInLogsOf = (t: TestServer, who: { userId: string } | { userPrincipalName: string }) =>
  t.server.app.db
    .select()
    .from(signInLogs)
    .where('userId' in who ? eq(signInLogs.userId, who.userId) : eq(signInLogs.userPrincipalName, who.userPrincipalName))
    .orderBy(asc(signInLogs.id));

/** Audit rows of one action on one target. */
export const auditOf = (t: TestServer, action: string, targetId: string) =>
  t.server.app.db.select().from(auditLogs).where(and(eq(auditLogs.action, action), eq(auditLogs.targetId, targetId)));
