import { randomBytes } from 'node:crypto';
import { eq } from 'drizzle-orm';
import { tenants, users } from '../src/db/schema.js';
import { AuthenticatorKeys, parseActivationUrl } from '../src/sdk/index.js';
import { hashPassword } from '../src/services/passwords.js';
import { adminSession, signIn, type TestServer } from './harness.js';

/**
 * Drives the authenticator SDK against the test server the way a phone app would: scan the
 * activation link, activate, enable phone sign-in, and authenticate with device assertions.
 */

export interface DeviceInput {
  displayName: string;
  platform: 'IOS' | 'ANDROID';
  osVersion: string;
  appVersion: string;
}

export const A_PHONE: DeviceInput = { displayName: "Adele's iPhone", platform: 'IOS', osVersion: '17.4.1', appVersion: '6.2403.1' };

const ERROR_FIELDS = '... on Error { code message } ... on DomainError { field }';

/** Authorization value for one request from this device: a fresh assertion on the test clock. */
export async function deviceAuthorization(t: TestServer, keys: AuthenticatorKeys, o: { lifetimeSeconds?: number; jti?: string } = {}) {
  return `Device ${await keys.deviceAssertion({ audience: t.server.issuer, now: t.clock.now(), ...o })}`;
}

/** The user's security-info page asks for an activation link. */
export async function beginRegistration(t: TestServer, userToken: string) {
  return t.gql(
    `mutation { beginAuthenticatorRegistration { __typename ... on AuthenticatorRegistration { activationCode activationUrl expiresAt } ${ERROR_FIELDS} } }`,
    {},
    userToken,
  );
}

/**
 * The app scans the link and activates, signing for the link's issuer; on success keys.deviceId is
 * set. Returns the raw response. The link's endpoint is reached on the test server, as through the
 * proxy a PUBLIC_URL names.
 */
export async function activate(t: TestServer, keys: AuthenticatorKeys, activationUrl: string, o: { device?: Partial<DeviceInput>; proof?: string } = {}) {
  const { endpoint, code, issuer } = parseActivationUrl(activationUrl);
  const proof = o.proof ?? (await keys.activationProof({ activationCode: code, audience: issuer ?? t.server.issuer, now: t.clock.now() }));
  const response = await fetch(new URL(new URL(endpoint).pathname, t.url), {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json' },
    body: JSON.stringify({
      query: `mutation($input: ActivateAuthenticatorInput!) { activateAuthenticator(input: $input) { __typename ... on ActivatedAuthenticator { deviceId issuer } ${ERROR_FIELDS} ... on InputValidationError { issues { path message } } } }`,
      variables: { input: { activationCode: code, device: { ...A_PHONE, ...o.device }, proof } },
    }),
  });
  const result = { status: response.status, ...((await response.json()) as { data?: any; errors?: any[] }) };
  const deviceId = result.data?.activateAuthenticator?.deviceId;
  if (deviceId) keys.deviceId = deviceId;
  return result;
}

/** The app turns phone sign-in on with a new credential key; on success keys.credentialId is set. */
export async function enablePhoneSignIn(t: TestServer, keys: AuthenticatorKeys, o: { proof?: string } = {}) {
  const proof = o.proof ?? (await keys.credentialProof({ audience: t.server.issuer, now: t.clock.now() }));
  const result = await t.gql(
    `mutation($input: EnablePhoneSignInInput!) { enablePhoneSignIn(input: $input) { __typename ... on PhoneSignInEnabled { credentialId } ${ERROR_FIELDS} } }`,
    { input: { proof } },
    await deviceAuthorization(t, keys),
  );
  const credentialId = result.data?.enablePhoneSignIn?.credentialId;
  if (credentialId) keys.credentialId = credentialId;
  return result;
}

/**
 * Registers a phone for a user end to end — beginAuthenticatorRegistration, activateAuthenticator,
 * enablePhoneSignIn — and returns its keys with deviceId and credentialId set. Throws on any refusal.
 * The user's policy must allow phone sign-in (see allowPhoneSignIn) unless enable is false.
 */
export async function registerPhone(t: TestServer, userToken: string, o: { device?: Partial<DeviceInput>; enable?: boolean } = {}): Promise<AuthenticatorKeys> {
  const begun = await beginRegistration(t, userToken);
  const activationUrl = begun.data?.beginAuthenticatorRegistration?.activationUrl;
  if (!activationUrl) throw new Error(`beginAuthenticatorRegistration failed: ${JSON.stringify(begun)}`);
  const keys = await AuthenticatorKeys.create();
  const activated = await activate(t, keys, activationUrl, { device: o.device });
  if (!keys.deviceId) throw new Error(`activateAuthenticator failed: ${JSON.stringify(activated)}`);
  if (o.enable === false) return keys;
  const enabled = await enablePhoneSignIn(t, keys);
  if (!keys.credentialId) throw new Error(`enablePhoneSignIn failed: ${JSON.stringify(enabled)}`);
  return keys;
}

/** Turns on the legacy directory-wide phone sign-in switch (applies while the tenant has saved no policy). */
export async function allowPhoneSignIn(t: TestServer, tenantId: string) {
  await t.server.app.db.update(tenants).set({ legacyPhoneSignInEnabled: true }).where(eq(tenants.id, tenantId));
}

/** Adds a user with a password straight to the directory and signs them in (test set-up, not under test). */
export async function addUser(t: TestServer, tenant: { tenantId: string; domain: string }, o: { isAdmin?: boolean } = {}) {
  const userPrincipalName = `u${randomBytes(4).toString('hex')}@${tenant.domain}`;
  const password = 'correct horse battery staple';
  const [user] = await t.server.app.db
    .insert(users)
    .values({ tenantId: tenant.tenantId, userPrincipalName, displayName: userPrincipalName, passwordHash: await hashPassword(password), isAdmin: o.isAdmin ?? false })
    .returning({ id: users.id });
  const token = await signIn(t, userPrincipalName, password);
  // An admin's password alone only lets them register a second factor; the tests need a full admin.
  return { userId: user!.id, userPrincipalName, password, token: o.isAdmin ? await adminSession(t, { tenantId: tenant.tenantId, userId: user!.id }) : token };
}
