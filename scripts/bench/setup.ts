/**
 * The benchmark's directory: one tenant with phone sign-in on (through the API), and `users` users
 * each with `devicesPerUser` authenticators holding the phone sign-in credential (at most 5 a user,
 * the tenant default). The first API_USERS users and their phones go through the API (createUser,
 * a reusable Temporary Access Pass, beginAuthenticatorRegistration, activateAuthenticator,
 * enablePhoneSignIn); activation through the API ran at about 5 authenticators a second on this
 * shared 2-core machine, so the rest are written straight to the users, devices and
 * phone_sign_in_credentials tables as activation writes them, with real P-256 keys that the phones
 * then sign with.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import postgres from 'postgres';
import { AuthenticatorKeys, newSigningKey } from '../../src/sdk/authenticator.js';
import { AuthenticatorApp, graphqlRequest } from '../../src/sdk/index.js';
import { jwkThumbprint } from '../../src/domain/signedMessages/p256.js';
import { inPool, progress } from './util.js';

export interface BenchUser {
  userPrincipalName: string;
  phones: AuthenticatorApp[];
}

const ERROR = '... on Error { code message }';
const ADMIN_PASSWORD = 'benchmark admin password 123';
const SETUP_CONCURRENCY = 8;
const API_USERS = 2;
const INSERT_BATCH = 1000;
const DEVICE = { platform: 'ANDROID', os_version: '14', app_version: '6.2403.1' } as const;

export async function createDirectory(url: string, databaseUrl: string, operatorToken: string, o: { users: number; devicesPerUser: number }) {
  const began = performance.now();
  const endpoint = `${url}/graphql`;
  const domain = `bench${randomBytes(3).toString('hex')}.example.com`;
  const tenant = await graphqlRequest(
    endpoint,
    `mutation($i: CreateTenantInput!) { createTenant(input: $i) { ... on CreateTenantPayload { tenant { id } } ${ERROR} } }`,
    { i: { name: 'Bench', domain, adminUserPrincipalName: `admin@${domain}`, adminPassword: ADMIN_PASSWORD } },
    `Bearer ${operatorToken}`,
  );
  const tenantId: string = tenant.createTenant.tenant.id;
  const admin = await bootstrapAdmin(endpoint, `admin@${domain}`);
  await graphqlRequest(endpoint, `mutation { setLegacyPhoneSignInPolicy(enabled: true) { __typename ${ERROR} } }`, {}, admin);
  // The bench signs each user in many times a minute: the per-user push limit and lockout at their maxima.
  await graphqlRequest(
    endpoint,
    `mutation($i: UpdateTenantSettingsInput!) { updateTenantSettings(input: $i) { __typename ${ERROR} } }`,
    { i: { pushRateLimit: { maxPushes: 100, windowMinutes: 1 }, failureLockoutThreshold: 100 } },
    admin,
  );

  const users: BenchUser[] = Array.from({ length: o.users }, (_, i) => ({ userPrincipalName: `user${i}@${domain}`, phones: [] }));
  const viaApi = users.slice(0, Math.min(API_USERS, users.length));
  await inPool(viaApi, SETUP_CONCURRENCY, (user, i) => throughApi(endpoint, admin, user, i, o.devicesPerUser));
  const audience = viaApi[0]?.phones[0]?.audience ?? url;
  await inSql(databaseUrl, tenantId, endpoint, audience, users.slice(viaApi.length), o.devicesPerUser);
  return { endpoint, users, setupSeconds: (performance.now() - began) / 1000, apiAuthenticators: viaApi.length * o.devicesPerUser };
}

/**
 * The first admin's way in, as a person takes it: the password alone gives a session that may only
 * register an authenticator (admins need a second factor); then the password again, approved on it.
 */
async function bootstrapAdmin(endpoint: string, userPrincipalName: string): Promise<string> {
  const SIGN_IN = `mutation($i: SignInWithPasswordInput!) { signInWithPassword(input: $i) { ... on SignInSuccess { accessToken } ... on MfaRequired { attemptId attemptSecret number } ${ERROR} } }`;
  const restricted = await graphqlRequest(endpoint, SIGN_IN, { i: { userPrincipalName, password: ADMIN_PASSWORD } });
  const registration = await graphqlRequest(
    endpoint,
    `mutation { beginAuthenticatorRegistration { ... on AuthenticatorRegistration { activationUrl } ${ERROR} } }`,
    {},
    `Bearer ${restricted.signInWithPassword.accessToken}`,
  );
  const phone = await AuthenticatorApp.activate(registration.beginAuthenticatorRegistration.activationUrl, { displayName: 'Admin phone', ...apiDevice });
  const mfa = (await graphqlRequest(endpoint, SIGN_IN, { i: { userPrincipalName, password: ADMIN_PASSWORD } })).signInWithPassword;
  const [challenge] = (await phone.pendingChallenges()).filter((c) => c.id === mfa.attemptId);
  if (!challenge) throw new Error('the admin phone got no push for the second factor');
  await phone.respond(challenge, { decision: 'approve', number: String(mfa.number), uv: 'pin', key: 'device' });
  const done = await graphqlRequest(
    endpoint,
    `mutation($i: SignInAttemptKeyInput!) { completeSignIn(input: $i) { ... on SignInSuccess { accessToken } ${ERROR} } }`,
    { i: { attemptId: mfa.attemptId, attemptSecret: mfa.attemptSecret } },
  );
  return `Bearer ${done.completeSignIn.accessToken}`;
}

async function throughApi(endpoint: string, admin: string, user: BenchUser, i: number, devicesPerUser: number) {
  const created = await graphqlRequest(
    endpoint,
    `mutation($i: CreateUserInput!) { createUser(input: $i) { ... on User { id } ${ERROR} } }`,
    { i: { userPrincipalName: user.userPrincipalName, displayName: `User ${i}` } },
    admin,
  );
  const pass = await graphqlRequest(
    endpoint,
    `mutation($i: CreateTemporaryAccessPassInput!) { createTemporaryAccessPass(input: $i) { ... on TemporaryAccessPass { pass } ${ERROR} } }`,
    { i: { userId: created.createUser.id, isUsableOnce: false, lifetimeMinutes: 60 } },
    admin,
  );
  const tap = await graphqlRequest(
    endpoint,
    `mutation($i: SignInWithTemporaryAccessPassInput!) { signInWithTemporaryAccessPass(input: $i) { ... on SignInSuccess { accessToken } ${ERROR} } }`,
    { i: { userPrincipalName: user.userPrincipalName, pass: pass.createTemporaryAccessPass.pass } },
  );
  const userToken = `Bearer ${tap.signInWithTemporaryAccessPass.accessToken}`;
  for (let d = 0; d < devicesPerUser; d++) {
    const registration = await graphqlRequest(endpoint, `mutation { beginAuthenticatorRegistration { ... on AuthenticatorRegistration { activationUrl } ${ERROR} } }`, {}, userToken);
    const phone = await AuthenticatorApp.activate(registration.beginAuthenticatorRegistration.activationUrl, { displayName: `Phone ${d}`, ...apiDevice });
    await phone.enablePhoneSignIn();
    user.phones.push(phone);
  }
}

const apiDevice = { platform: DEVICE.platform, osVersion: DEVICE.os_version, appVersion: DEVICE.app_version };

async function inSql(databaseUrl: string, tenantId: string, endpoint: string, audience: string, users: BenchUser[], devicesPerUser: number) {
  const sql = postgres(databaseUrl, { max: 1, onnotice: () => {} });
  try {
    for (let from = 0; from < users.length; from += INSERT_BATCH / devicesPerUser) {
      const chunk = users.slice(from, from + INSERT_BATCH / devicesPerUser);
      const userRows = chunk.map((user) => ({ id: randomUUID(), tenant_id: tenantId, user_principal_name: user.userPrincipalName, display_name: user.userPrincipalName }));
      const deviceRows: Record<string, string>[] = [];
      const credentialRows: Record<string, string>[] = [];
      for (const [u, user] of chunk.entries()) {
        for (let d = 0; d < devicesPerUser; d++) {
          const deviceKey = await newSigningKey();
          const credentialKey = await newSigningKey();
          const deviceId = randomUUID();
          const credentialId = randomUUID();
          const userId = userRows[u]!.id;
          deviceRows.push({ id: deviceId, tenant_id: tenantId, user_id: userId, display_name: `Phone ${d}`, ...DEVICE, public_jwk: JSON.stringify(deviceKey.publicJwk), key_thumbprint: await jwkThumbprint(deviceKey.publicJwk) });
          credentialRows.push({ id: credentialId, tenant_id: tenantId, user_id: userId, device_id: deviceId, public_jwk: JSON.stringify(credentialKey.publicJwk) });
          user.phones.push(AuthenticatorApp.restore(AuthenticatorKeys.restore({ deviceKey, deviceId, credentialKey, credentialId }), endpoint, audience));
        }
      }
      await sql.begin(async (tx) => {
        await tx`insert into users ${tx(userRows)}`;
        await tx`insert into devices ${tx(deviceRows)}`;
        await tx`insert into phone_sign_in_credentials ${tx(credentialRows)}`;
      });
      progress(`set-up: ${Math.min(users.length, from + chunk.length)}/${users.length} users written in SQL`);
    }
  } finally {
    await sql.end({ timeout: 5 });
  }
}
