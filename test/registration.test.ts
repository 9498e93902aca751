import { and, eq, isNull } from 'drizzle-orm';
import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { activationCodes, auditLogs, devices, phoneSignInCredentials, phoneSignInPolicies, tenants } from '../src/db/schema.js';
import { DEFAULT_TENANT_SETTINGS, type TenantSettings } from '../src/domain/settings.js';
import { jwkThumbprint } from '../src/domain/signedMessages/p256.js';
import { AuthenticatorApp, AuthenticatorKeys, newSigningKey, parseActivationUrl } from '../src/sdk/index.js';
import { A_PHONE, activate, addUser, allowPhoneSignIn, beginRegistration, deviceAuthorization, enablePhoneSignIn, registerPhone } from './authenticatorClient.js';
import { createTenant, startTestServer, type TestServer } from './harness.js';

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer();
});
afterAll(() => t.stop());

const db = () => t.server.app.db;
const seconds = (date: Date) => Math.floor(date.getTime() / 1000);

async function setSettings(tenantId: string, changes: Partial<TenantSettings>) {
  await db().update(tenants).set({ settings: { ...DEFAULT_TENANT_SETTINGS, ...changes } }).where(eq(tenants.id, tenantId));
}

const devicesOf = (userId: string) => db().select().from(devices).where(eq(devices.userId, userId));
const credentialsOf = (userId: string) => db().select().from(phoneSignInCredentials).where(eq(phoneSignInCredentials.userId, userId));
const liveCredentialsOf = (userId: string) =>
  db().select().from(phoneSignInCredentials).where(and(eq(phoneSignInCredentials.userId, userId), isNull(phoneSignInCredentials.revokedAt)));
const auditOf = (tenantId: string, action: string) =>
  db().select().from(auditLogs).where(and(eq(auditLogs.tenantId, tenantId), eq(auditLogs.action, action))).orderBy(auditLogs.id);

/** A tenant whose legacy switch allows phone sign-in, with its admin as the user under test. */
async function tenantWithPhoneSignIn() {
  const tenant = await createTenant(t);
  await allowPhoneSignIn(t, tenant.tenantId);
  return { ...tenant, userId: tenant.adminId, token: tenant.adminToken };
}

async function newLink(token: string) {
  const begun = await beginRegistration(t, token);
  return begun.data.beginAuthenticatorRegistration as { activationCode: string; activationUrl: string; expiresAt: string };
}

const METHODS = `{ viewer { authenticationMethods { id kind displayName platform osVersion appVersion createdAt lastUsedAt phoneSignInEnabled } } }`;

describe('registering the authenticator app', () => {
  it('adds a phone end to end: link, activation, phone sign-in, listed on security info, audited', async () => {
    const tenant = await tenantWithPhoneSignIn();
    const link = await newLink(tenant.token);
    expect(link.activationUrl).toBe(
      `phonesignin://activate?endpoint=${encodeURIComponent(`${t.url}/graphql`)}&code=${link.activationCode}&issuer=${encodeURIComponent(t.server.issuer)}`,
    );
    expect(parseActivationUrl(link.activationUrl)).toEqual({ endpoint: `${t.url}/graphql`, code: link.activationCode, issuer: t.server.issuer });
    expect(Buffer.from(link.activationCode, 'base64url').length).toBeGreaterThanOrEqual(16);
    expect(new Date(link.expiresAt).getTime() - t.clock.now().getTime()).toBe(600_000);
    // Stored hashed, never in clear.
    const [stored] = await db().select().from(activationCodes).where(eq(activationCodes.userId, tenant.userId));
    expect(stored!.codeHash).not.toContain(link.activationCode);
    expect(stored!.codeHash).toMatch(/^[0-9a-f]{64}$/);

    const keys = await AuthenticatorKeys.create();
    const activated = await activate(t, keys, link.activationUrl);
    expect(activated.data.activateAuthenticator).toEqual({ __typename: 'ActivatedAuthenticator', deviceId: expect.any(String), issuer: t.server.issuer });

    const enabled = await enablePhoneSignIn(t, keys);
    expect(enabled.data.enablePhoneSignIn).toEqual({ __typename: 'PhoneSignInEnabled', credentialId: keys.credentialId });

    const listed = await t.gql(METHODS, {}, tenant.token);
    expect(listed.data.viewer.authenticationMethods).toEqual([
      {
        id: keys.deviceId,
        kind: 'AUTHENTICATOR_APP',
        displayName: A_PHONE.displayName,
        platform: 'IOS',
        osVersion: '17.4.1',
        appVersion: '6.2403.1',
        createdAt: expect.any(String),
        lastUsedAt: expect.any(String),
        phoneSignInEnabled: true,
      },
    ]);
    const [credential] = await liveCredentialsOf(tenant.userId);
    expect(credential!.publicJwk).toEqual(keys.credentialKey!.publicJwk);

    const actions = (await db().select().from(auditLogs).where(eq(auditLogs.tenantId, tenant.tenantId))).map((a) => [a.action, a.result]);
    expect(actions).toEqual(
      expect.arrayContaining([
        ['authenticator.registration.begin', 'SUCCESS'],
        ['authenticator.activate', 'SUCCESS'],
        ['phoneSignIn.enable', 'SUCCESS'],
      ]),
    );
    const auditText = JSON.stringify(await db().select().from(auditLogs).where(eq(auditLogs.tenantId, tenant.tenantId)));
    expect(auditText).not.toContain(link.activationCode);
  });
});

// The issuer (PUBLIC_URL) is the aud of everything a phone signs, and need not be where the phone
// reaches the API: the link says what it is, and the SDK signs for it, not for the endpoint's origin.
describe('behind a PUBLIC_URL on another origin', () => {
  const PUBLIC_URL = 'https://id.example.test';
  let p: TestServer;
  beforeAll(async () => {
    p = await startTestServer({ PUBLIC_URL });
  });
  afterAll(() => p.stop());

  async function link() {
    const tenant = await createTenant(p);
    await allowPhoneSignIn(p, tenant.tenantId);
    const begun = await beginRegistration(p, tenant.adminToken);
    return { tenant, ...(begun.data.beginAuthenticatorRegistration as { activationCode: string; activationUrl: string }) };
  }
  /** The link as a phone on the test network sees it: the same code and issuer, the endpoint where this server listens. */
  const reachable = (activationUrl: string) => {
    const url = new URL(activationUrl);
    url.searchParams.set('endpoint', `${p.url}/graphql`);
    return url.href;
  };
  const phone = { displayName: 'Pixel', platform: 'ANDROID', osVersion: '14', appVersion: '6.2403.1' } as const;

  it('names the issuer in the link and in the activation result; the helpers sign for it end to end', async () => {
    expect(p.server.issuer).toBe(PUBLIC_URL);
    const { tenant, activationUrl, activationCode } = await link();
    expect(parseActivationUrl(activationUrl)).toEqual({ endpoint: `${PUBLIC_URL}/graphql`, code: activationCode, issuer: PUBLIC_URL });
    const keys = await AuthenticatorKeys.create();
    expect((await activate(p, keys, activationUrl)).data.activateAuthenticator).toMatchObject({ __typename: 'ActivatedAuthenticator', issuer: PUBLIC_URL });
    expect((await enablePhoneSignIn(p, keys)).data.enablePhoneSignIn.__typename).toBe('PhoneSignInEnabled');
    const me = await p.gql('{ authenticatorDevice { id phoneSignInEnabled } }', {}, await deviceAuthorization(p, keys));
    expect(me.data.authenticatorDevice).toEqual({ id: keys.deviceId, phoneSignInEnabled: true });
    // Signing for where the API was reached is refused, saying what was expected.
    const origin = await keys.deviceAssertion({ audience: p.url, now: p.clock.now() });
    expect((await p.gql('{ authenticatorDevice { id } }', {}, `Device ${origin}`)).errors?.[0]?.message).toContain(`expected "${PUBLIC_URL}"`);
    expect((await p.gql(METHODS, {}, tenant.adminToken)).data.viewer.authenticationMethods).toHaveLength(1);
  });

  it("lets the SDK's AuthenticatorApp sign for the link's issuer, not the endpoint's origin", async () => {
    const { activationUrl } = await link();
    const app = await AuthenticatorApp.activate(reachable(activationUrl), phone);
    expect(app.audience).toBe(PUBLIC_URL);
    expect(app.endpoint).toBe(`${p.url}/graphql`);
    expect(await app.enablePhoneSignIn()).toEqual(expect.any(String));
    expect(await app.pendingChallenges()).toEqual([]);
  });

  it('falls back, for a link without issuer, to the issuer of the OpenID configuration beside the endpoint', async () => {
    const { activationUrl } = await link();
    const old = new URL(reachable(activationUrl));
    old.searchParams.delete('issuer');
    expect(parseActivationUrl(old.href).issuer).toBeUndefined();
    const app = await AuthenticatorApp.activate(old.href, phone);
    expect(app.audience).toBe(PUBLIC_URL);
    expect(await app.pendingChallenges()).toEqual([]);
  });
});

describe('activation refusals', () => {
  const activationError = (result: Awaited<ReturnType<typeof activate>>) => {
    expect(result.status).toBe(200);
    expect(result.errors).toBeUndefined();
    return result.data.activateAuthenticator as { __typename: string; code: string; message: string; field: string | null };
  };

  // Attack: replaying an activation link that already activated a device, with another key.
  it('refuses a reused code and registers nothing more', async () => {
    const tenant = await tenantWithPhoneSignIn();
    const link = await newLink(tenant.token);
    expect((await activate(t, await AuthenticatorKeys.create(), link.activationUrl)).data.activateAuthenticator.deviceId).toBeTruthy();
    const again = activationError(await activate(t, await AuthenticatorKeys.create(), link.activationUrl));
    expect(again).toMatchObject({ __typename: 'DomainError', code: 'ACTIVATION_CODE_USED', field: 'activationCode' });
    expect(again.message).toMatch(/already used.*Security info/);
    expect(await devicesOf(tenant.userId)).toHaveLength(1);
    const failures = (await auditOf(tenant.tenantId, 'authenticator.activate')).filter((a) => a.result === 'FAILURE');
    expect(failures.map((a) => a.reasonCode)).toEqual(['ACTIVATION_CODE_USED']);
  });

  it('replaces an unused link with a new one, and forgets expired codes', async () => {
    const tenant = await tenantWithPhoneSignIn();
    const first = await newLink(tenant.token);
    const second = await newLink(tenant.token);
    expect(activationError(await activate(t, await AuthenticatorKeys.create(), first.activationUrl)).code).toBe('ACTIVATION_CODE_INVALID');
    expect(await db().select().from(activationCodes).where(eq(activationCodes.userId, tenant.userId))).toHaveLength(1);
    t.clock.advance(601);
    await t.server.runMaintenance();
    expect(await db().select().from(activationCodes).where(eq(activationCodes.userId, tenant.userId))).toHaveLength(0);
    expect(activationError(await activate(t, await AuthenticatorKeys.create(), second.activationUrl)).code).toBe('ACTIVATION_CODE_INVALID');
  });

  it('refuses an expired code and an unknown code', async () => {
    const tenant = await tenantWithPhoneSignIn();
    const link = await newLink(tenant.token);
    t.clock.advance(601);
    const expired = activationError(await activate(t, await AuthenticatorKeys.create(), link.activationUrl));
    expect(expired).toMatchObject({ code: 'ACTIVATION_CODE_EXPIRED', field: 'activationCode' });
    expect(expired.message).toContain(link.expiresAt);
    const unknown = activationError(await activate(t, await AuthenticatorKeys.create(), link.activationUrl.replace(/code=.*/, 'code=not-a-code')));
    expect(unknown.code).toBe('ACTIVATION_CODE_INVALID');
    expect(await devicesOf(tenant.userId)).toHaveLength(0);
    expect((await auditOf(tenant.tenantId, 'authenticator.activate')).map((a) => [a.result, a.reasonCode])).toEqual([['FAILURE', 'ACTIVATION_CODE_EXPIRED']]);
  });

  // Attack: a proof whose header carries one key while another key signed it (claiming a key one does not hold).
  it('refuses a proof signed by another key, then still accepts the right proof for the same code', async () => {
    const tenant = await tenantWithPhoneSignIn();
    const link = await newLink(tenant.token);
    const { code } = parseActivationUrl(link.activationUrl);
    const keys = await AuthenticatorKeys.create();
    const thief = await newSigningKey();
    const forged = await new SignJWT({ activationCode: code })
      .setProtectedHeader({ alg: 'ES256', typ: 'device-activation+jwt', jwk: keys.deviceKey.publicJwk })
      .setAudience(t.url)
      .setIssuedAt(seconds(t.clock.now()))
      .sign(thief.privateKey);
    const refused = activationError(await activate(t, keys, link.activationUrl, { proof: forged }));
    expect(refused).toMatchObject({ code: 'INVALID_PROOF', field: 'proof' });
    expect(refused.message).toBe('The activation proof was refused: The signature does not verify with the key embedded in the header.');
    expect(await devicesOf(tenant.userId)).toHaveLength(0);
    // The code was not spent by the refusal (see activateAuthenticator).
    expect((await activate(t, keys, link.activationUrl)).data.activateAuthenticator.__typename).toBe('ActivatedAuthenticator');
    const reasons = (await auditOf(tenant.tenantId, 'authenticator.activate')).map((a) => a.reasonCode);
    expect(reasons).toEqual(['PROOF_BAD_SIGNATURE', null]);
  });

  it('refuses a wrong typ, alg, audience, a stale iat and a proof for another code, each saying what was expected', async () => {
    const tenant = await tenantWithPhoneSignIn();
    const link = await newLink(tenant.token);
    const { code } = parseActivationUrl(link.activationUrl);
    const keys = await AuthenticatorKeys.create();
    const sign = (o: { typ?: string; aud?: string; iat?: number; activationCode?: string }) =>
      new SignJWT({ activationCode: o.activationCode ?? code })
        .setProtectedHeader({ alg: 'ES256', typ: o.typ ?? 'device-activation+jwt', jwk: keys.deviceKey.publicJwk })
        .setAudience(o.aud ?? t.url)
        .setIssuedAt(o.iat ?? seconds(t.clock.now()))
        .sign(keys.deviceKey.privateKey);
    const refuse = async (proof: string) => activationError(await activate(t, keys, link.activationUrl, { proof }));

    expect((await refuse(await sign({ typ: 'JWT' }))).message).toBe('The activation proof was refused: The header typ is "JWT"; expected "device-activation+jwt".');
    const hs256 = await new SignJWT({ activationCode: code })
      .setProtectedHeader({ alg: 'HS256', typ: 'device-activation+jwt', jwk: keys.deviceKey.publicJwk })
      .setAudience(t.url)
      .setIssuedAt(seconds(t.clock.now()))
      .sign(new TextEncoder().encode(JSON.stringify(keys.deviceKey.publicJwk)));
    expect((await refuse(hs256)).message).toContain('The header alg is "HS256"; only "ES256"');
    expect((await refuse(await sign({ aud: 'https://evil.example' }))).message).toContain(`The aud claim is "https://evil.example"; expected "${t.url}"`);
    expect((await refuse(await sign({ iat: seconds(t.clock.now()) - 120 }))).message).toContain('issued 120 s ago');
    const otherCode = await refuse(await sign({ activationCode: 'a'.repeat(43) }));
    expect(otherCode.message).toBe('The activation proof was signed for another activation code; sign it with the code of this activation link.');
    expect(otherCode.message).not.toContain(code);

    expect(await devicesOf(tenant.userId)).toHaveLength(0);
    expect((await auditOf(tenant.tenantId, 'authenticator.activate')).map((a) => a.reasonCode)).toEqual([
      'PROOF_WRONG_TYPE',
      'PROOF_UNSUPPORTED_ALGORITHM',
      'PROOF_WRONG_AUDIENCE',
      'PROOF_STALE',
      'PROOF_WRONG_CODE',
    ]);
  });

  it('refuses an OS or app older than the tenant minimum, saying what is needed, and accepts the updated phone with the same code', async () => {
    const tenant = await tenantWithPhoneSignIn();
    const link = await newLink(tenant.token);
    const keys = await AuthenticatorKeys.create();
    const oldIos = activationError(await activate(t, keys, link.activationUrl, { device: { platform: 'IOS', osVersion: '7.1.2' } }));
    expect(oldIos).toMatchObject({ code: 'OS_VERSION_UNSUPPORTED', field: 'device.osVersion' });
    expect(oldIos.message).toBe('iOS 7.1.2 is not supported: your organisation requires iOS 8.0 or later. Update the phone, then scan the QR code again.');
    const oldAndroid = activationError(await activate(t, keys, link.activationUrl, { device: { platform: 'ANDROID', osVersion: '5.1' } }));
    expect(oldAndroid.message).toContain('requires Android 6.0 or later');

    await setSettings(tenant.tenantId, { minimumAppVersion: '6.2500', minimumOsVersion: { ios: '16.0', android: '6.0' } });
    const raisedOs = activationError(await activate(t, keys, link.activationUrl, { device: { osVersion: '15.8' } }));
    expect(raisedOs.message).toContain('requires iOS 16.0 or later');
    const oldApp = activationError(await activate(t, keys, link.activationUrl, { device: { appVersion: '6.2403.1' } }));
    expect(oldApp).toMatchObject({ code: 'APP_VERSION_UNSUPPORTED', field: 'device.appVersion' });
    expect(oldApp.message).toBe('Authenticator app version 6.2403.1 is not supported: your organisation requires version 6.2500 or later. Update the app, then scan the QR code again.');
    expect(await devicesOf(tenant.userId)).toHaveLength(0);

    const updated = await activate(t, keys, link.activationUrl, { device: { appVersion: '6.2500.0', osVersion: '17.0' } });
    expect(updated.data.activateAuthenticator.__typename).toBe('ActivatedAuthenticator');
    expect((await auditOf(tenant.tenantId, 'authenticator.activate')).map((a) => a.reasonCode)).toEqual([
      'OS_VERSION_UNSUPPORTED',
      'OS_VERSION_UNSUPPORTED',
      'OS_VERSION_UNSUPPORTED',
      'APP_VERSION_UNSUPPORTED',
      null,
    ]);
  });

  it('refuses malformed device details as input errors', async () => {
    const tenant = await tenantWithPhoneSignIn();
    const link = await newLink(tenant.token);
    const keys = await AuthenticatorKeys.create();
    for (const [device, path] of [
      [{ osVersion: '17.4-beta' }, 'input.device.osVersion'],
      [{ appVersion: 'latest' }, 'input.device.appVersion'],
      [{ displayName: '' }, 'input.device.displayName'],
    ] as const) {
      const result = activationError(await activate(t, keys, link.activationUrl, { device }));
      expect(result).toMatchObject({ __typename: 'InputValidationError', code: 'INVALID_INPUT' });
      expect((result as any).issues.map((i: any) => i.path.join('.'))).toEqual([path]);
    }
    expect(await devicesOf(tenant.userId)).toHaveLength(0);
  });

  // One work account per device: a device key registered in one tenant cannot join another.
  it('refuses a device already registered in another tenant (or again in the same one)', async () => {
    const contoso = await tenantWithPhoneSignIn();
    const fabrikam = await tenantWithPhoneSignIn();
    const keys = await registerPhone(t, contoso.token);
    const elsewhere = activationError(await activate(t, keys, (await newLink(fabrikam.token)).activationUrl));
    expect(elsewhere.code).toBe('DEVICE_ALREADY_REGISTERED');
    expect(elsewhere.message).toContain('Remove that account from the app');
    const twice = activationError(await activate(t, keys, (await newLink(contoso.token)).activationUrl));
    expect(twice.code).toBe('DEVICE_ALREADY_REGISTERED');
    expect(await devicesOf(fabrikam.userId)).toHaveLength(0);
    expect(await devicesOf(contoso.userId)).toHaveLength(1);
    expect((await auditOf(fabrikam.tenantId, 'authenticator.activate')).map((a) => a.reasonCode)).toEqual(['DEVICE_ALREADY_REGISTERED']);

    // Once removed from the first account, the same phone may join the other.
    await t.gql(`mutation($id: ID!) { removeAuthenticationMethod(id: $id) { __typename } }`, { id: keys.deviceId }, contoso.token);
    const moved = await activate(t, keys, (await newLink(fabrikam.token)).activationUrl);
    expect(moved.data.activateAuthenticator.__typename).toBe('ActivatedAuthenticator');
  });

  // Attack: racing two activations with one code (double spend), and one key into two accounts at once.
  it('spends a code once and registers a key once under concurrent activations', async () => {
    const tenant = await tenantWithPhoneSignIn();
    const link = await newLink(tenant.token);
    const racers = await Promise.all([1, 2, 3].map(() => AuthenticatorKeys.create()));
    const results = await Promise.all(racers.map((keys) => activate(t, keys, link.activationUrl)));
    const outcomes = results.map((r) => r.data.activateAuthenticator.__typename === 'ActivatedAuthenticator' ? 'OK' : r.data.activateAuthenticator.code).sort();
    expect(outcomes).toEqual(['ACTIVATION_CODE_USED', 'ACTIVATION_CODE_USED', 'OK']);
    expect(await devicesOf(tenant.userId)).toHaveLength(1);

    const other = await tenantWithPhoneSignIn();
    const keys = await AuthenticatorKeys.create();
    const links = [await newLink(tenant.token), await newLink(other.token)];
    const both = await Promise.all(links.map((l) => activate(t, keys, l.activationUrl)));
    expect(both.map((r) => r.data.activateAuthenticator.__typename === 'ActivatedAuthenticator' ? 'OK' : r.data.activateAuthenticator.code).sort()).toEqual([
      'DEVICE_ALREADY_REGISTERED',
      'OK',
    ]);
    const registered = await db().select().from(devices).where(eq(devices.keyThumbprint, await jwkThumbprint(keys.deviceKey.publicJwk)));
    expect(registered).toHaveLength(1);
  });

  it('refuses to start when the tenant has push notifications or combined registration off, with distinct errors', async () => {
    const tenant = await tenantWithPhoneSignIn();
    await setSettings(tenant.tenantId, { pushNotificationsAllowed: false });
    const push = (await beginRegistration(t, tenant.token)).data.beginAuthenticatorRegistration;
    expect(push).toMatchObject({ __typename: 'DomainError', code: 'PUSH_NOTIFICATIONS_DISABLED' });
    expect(push.message).toMatch(/Ask an administrator to allow them/);
    await setSettings(tenant.tenantId, { combinedRegistrationEnabled: false });
    const combined = (await beginRegistration(t, tenant.token)).data.beginAuthenticatorRegistration;
    expect(combined).toMatchObject({ __typename: 'DomainError', code: 'COMBINED_REGISTRATION_DISABLED' });
    expect(combined.message).toMatch(/combined security-info registration/);
    expect(await db().select().from(activationCodes).where(eq(activationCodes.userId, tenant.userId))).toHaveLength(0);
    expect((await auditOf(tenant.tenantId, 'authenticator.registration.begin')).map((a) => [a.result, a.reasonCode])).toEqual([
      ['FAILURE', 'PUSH_NOTIFICATIONS_DISABLED'],
      ['FAILURE', 'COMBINED_REGISTRATION_DISABLED'],
    ]);
  });

  it('refuses a link when push was turned off after it was issued', async () => {
    const tenant = await tenantWithPhoneSignIn();
    const link = await newLink(tenant.token);
    await setSettings(tenant.tenantId, { pushNotificationsAllowed: false });
    expect(activationError(await activate(t, await AuthenticatorKeys.create(), link.activationUrl)).code).toBe('PUSH_NOTIFICATIONS_DISABLED');
    expect(await devicesOf(tenant.userId)).toHaveLength(0);
  });

  it('needs a signed-in user to start', async () => {
    expect((await t.gql('mutation { beginAuthenticatorRegistration { __typename } }')).errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
  });
});

describe('enabling phone sign-in', () => {
  const enableError = (result: Awaited<ReturnType<typeof enablePhoneSignIn>>) => {
    expect(result.errors).toBeUndefined();
    return result.data.enablePhoneSignIn as { __typename: string; code: string; message: string };
  };

  it('is refused while the policy does not allow the user, and allowed once it does', async () => {
    const tenant = await createTenant(t);
    const keys = await registerPhone(t, tenant.adminToken, { enable: false });
    // No saved policy and the legacy switch off (the default).
    const legacyOff = enableError(await enablePhoneSignIn(t, keys));
    expect(legacyOff).toMatchObject({ code: 'PHONE_SIGN_IN_NOT_ALLOWED' });
    expect(legacyOff.message).toBe("Your organisation's phone sign-in policy does not include your account. Ask an administrator to enable phone sign-in for you.");

    const target = (targetType: string, targetId: string | null, authenticationMode = 'ANY') => ({ targetType, targetId, authenticationMode }) as never;
    await db().insert(phoneSignInPolicies).values({ tenantId: tenant.tenantId, enabled: true, includeTargets: [target('ALL_USERS', null, 'PUSH')], excludeTargets: [] });
    const pushOnly = enableError(await enablePhoneSignIn(t, keys));
    expect(pushOnly.message).toContain('allows this app for push approvals only');

    await db().update(phoneSignInPolicies).set({ includeTargets: [target('ALL_USERS', null)], excludeTargets: [target('USER', tenant.adminId)] });
    expect(enableError(await enablePhoneSignIn(t, keys)).code).toBe('PHONE_SIGN_IN_NOT_ALLOWED');
    expect(await credentialsOf(tenant.adminId)).toHaveLength(0);

    await db().update(phoneSignInPolicies).set({ excludeTargets: [] });
    expect(enableError(await enablePhoneSignIn(t, keys)).__typename).toBe('PhoneSignInEnabled');
    expect((await auditOf(tenant.tenantId, 'phoneSignIn.enable')).map((a) => [a.result, a.reasonCode])).toEqual([
      ['FAILURE', 'PHONE_SIGN_IN_NOT_ALLOWED'],
      ['FAILURE', 'PHONE_SIGN_IN_NOT_ALLOWED'],
      ['FAILURE', 'PHONE_SIGN_IN_NOT_ALLOWED'],
      ['SUCCESS', null],
    ]);
  });

  it('refuses a sixth phone with phone sign-in, but lets an existing phone renew its key', async () => {
    const tenant = await tenantWithPhoneSignIn();
    const phones: AuthenticatorKeys[] = [];
    for (let i = 0; i < 5; i++) {
      phones.push(await registerPhone(t, tenant.token, { device: { displayName: `Phone ${i + 1}` } }));
      t.clock.advance(1);
    }
    const sixth = await registerPhone(t, tenant.token, { enable: false, device: { displayName: 'Phone 6' } });
    const refused = enableError(await enablePhoneSignIn(t, sixth));
    expect(refused.code).toBe('TOO_MANY_AUTHENTICATORS');
    expect(refused.message).toBe(
      'You already use phone sign-in on 5 phones, the most your organisation allows (5). Remove one in Security info, or turn phone sign-in off in the app on that phone, then try again.',
    );
    expect(await liveCredentialsOf(tenant.userId)).toHaveLength(5);

    // Re-enabling replaces the phone's own credential: one transaction, still five live.
    const oldCredentialId = phones[0]!.credentialId;
    expect(enableError(await enablePhoneSignIn(t, phones[0]!)).__typename).toBe('PhoneSignInEnabled');
    expect(phones[0]!.credentialId).not.toBe(oldCredentialId);
    const live = await liveCredentialsOf(tenant.userId);
    expect(live).toHaveLength(5);
    expect(live.map((c) => c.id)).toContain(phones[0]!.credentialId);
    const [old] = await db().select().from(phoneSignInCredentials).where(eq(phoneSignInCredentials.id, oldCredentialId!));
    expect(old!.revokedAt).not.toBeNull();

    // Turning one off in the app frees a place.
    const off = await t.gql('mutation { disablePhoneSignIn }', {}, await deviceAuthorization(t, phones[1]!));
    expect(off.data.disablePhoneSignIn).toBe(true);
    expect((await t.gql('mutation { disablePhoneSignIn }', {}, await deviceAuthorization(t, phones[1]!))).data.disablePhoneSignIn).toBe(false);
    expect(enableError(await enablePhoneSignIn(t, sixth)).__typename).toBe('PhoneSignInEnabled');
    const methods = (await t.gql(METHODS, {}, tenant.token)).data.viewer.authenticationMethods;
    expect(methods.map((m: any) => [m.displayName, m.phoneSignInEnabled])).toEqual([
      ['Phone 1', true],
      ['Phone 2', false],
      ['Phone 3', true],
      ['Phone 4', true],
      ['Phone 5', true],
      ['Phone 6', true],
    ]);
    expect((await auditOf(tenant.tenantId, 'phoneSignIn.disable')).map((a) => a.reasonCode)).toEqual([null, 'ALREADY_OFF']);
  });

  it('refuses a bad credential proof: another device, replayed jti, stale iat, wrong audience, the device key itself', async () => {
    const tenant = await tenantWithPhoneSignIn();
    const keys = await registerPhone(t, tenant.token, { enable: false });
    const other = await registerPhone(t, tenant.token, { enable: false });

    // Attack: a proof lifted from another device's enrollment.
    const foreign = await other.credentialProof({ audience: t.url, now: t.clock.now() });
    expect(enableError(await enablePhoneSignIn(t, keys, { proof: foreign })).message).toBe(
      `The credential proof was refused: The claim "deviceId" is "${other.deviceId}"; expected "${keys.deviceId}".`,
    );
    // Attack: replaying a proof that was already accepted.
    const proof = await keys.credentialProof({ audience: t.url, now: t.clock.now() });
    expect(enableError(await enablePhoneSignIn(t, keys, { proof })).__typename).toBe('PhoneSignInEnabled');
    const replay = enableError(await enablePhoneSignIn(t, keys, { proof }));
    expect(replay).toMatchObject({ code: 'INVALID_PROOF', message: 'This credential proof was already used (its jti was seen before); make a new one.' });

    const stale = await keys.credentialProof({ audience: t.url, now: new Date(t.clock.now().getTime() - 90_000) });
    expect(enableError(await enablePhoneSignIn(t, keys, { proof: stale })).message).toContain('issued 90 s ago');
    const wrongAud = await keys.credentialProof({ audience: 'https://evil.example', now: t.clock.now() });
    expect(enableError(await enablePhoneSignIn(t, keys, { proof: wrongAud })).code).toBe('INVALID_PROOF');
    const deviceKeyReused = await new SignJWT({ deviceId: keys.deviceId, jti: 'x'.repeat(22) })
      .setProtectedHeader({ alg: 'ES256', typ: 'phone-sign-in-credential+jwt', jwk: keys.deviceKey.publicJwk })
      .setAudience(t.url)
      .setIssuedAt(seconds(t.clock.now()))
      .sign(keys.deviceKey.privateKey);
    expect(enableError(await enablePhoneSignIn(t, keys, { proof: deviceKeyReused })).message).toContain('the device key');

    const live = await liveCredentialsOf(tenant.userId);
    expect(live).toHaveLength(1);
    expect(live[0]!.deviceId).toBe(keys.deviceId);
    const reasons = (await auditOf(tenant.tenantId, 'phoneSignIn.enable')).filter((a) => a.result === 'FAILURE').map((a) => a.reasonCode);
    expect(reasons).toEqual(['PROOF_WRONG_CLAIM', 'PROOF_REPLAYED', 'PROOF_STALE', 'PROOF_WRONG_AUDIENCE', 'PROOF_DEVICE_KEY_REUSED']);
  });

  it('is for devices only', async () => {
    const tenant = await tenantWithPhoneSignIn();
    const query = 'mutation { enablePhoneSignIn(input: { proof: "x" }) { __typename } }';
    expect((await t.gql(query)).errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    expect((await t.gql(query, {}, tenant.token)).errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
  });
});

describe('authentication methods', () => {
  const REMOVE = `mutation($id: ID!) { removeAuthenticationMethod(id: $id) { __typename ... on RemovedAuthenticationMethod { id userId } ... on Error { code message } } }`;

  it('lets users remove their own, admins any in their tenant, and nobody else', async () => {
    const tenant = await tenantWithPhoneSignIn();
    const user = await addUser(t, tenant);
    const colleague = await addUser(t, tenant);
    const outsider = await tenantWithPhoneSignIn();
    const phone = await registerPhone(t, user.token);
    t.clock.advance(1);
    const second = await registerPhone(t, user.token, { device: { displayName: 'Work Android', platform: 'ANDROID', osVersion: '14' } });

    // Tenant isolation: a foreign or unknown id is NOT_FOUND, exactly alike.
    for (const token of [colleague.token, outsider.token]) {
      const refused = await t.gql(REMOVE, { id: phone.deviceId }, token);
      expect(refused.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
    }
    const unknown = await t.gql(REMOVE, { id: '00000000-0000-4000-8000-000000000000' }, user.token);
    expect(unknown.errors?.[0]).toMatchObject({ message: 'No such authentication method in your tenant. Check the id.', extensions: { code: 'NOT_FOUND' } });
    expect((await t.gql(REMOVE, { id: 'nope' }, user.token)).data.removeAuthenticationMethod.code).toBe('INVALID_INPUT');
    expect((await devicesOf(user.userId)).every((d) => d.revokedAt === null)).toBe(true);

    // An admin of the tenant reads and removes the user's methods.
    const read = await t.gql(`query($id: ID!) { user(id: $id) { authenticationMethods { id displayName platform } } }`, { id: user.userId }, tenant.token);
    expect(read.data.user.authenticationMethods).toEqual([
      { id: phone.deviceId, displayName: A_PHONE.displayName, platform: 'IOS' },
      { id: second.deviceId, displayName: 'Work Android', platform: 'ANDROID' },
    ]);
    const byAdmin = await t.gql(REMOVE, { id: phone.deviceId }, tenant.token);
    expect(byAdmin.data.removeAuthenticationMethod).toEqual({ __typename: 'RemovedAuthenticationMethod', id: phone.deviceId, userId: user.userId });
    const bySelf = await t.gql(REMOVE, { id: second.deviceId }, user.token);
    expect(bySelf.data.removeAuthenticationMethod.id).toBe(second.deviceId);
    expect((await t.gql(REMOVE, { id: second.deviceId }, user.token)).errors?.[0]?.extensions?.code).toBe('NOT_FOUND');

    expect((await t.gql(METHODS, {}, user.token)).data.viewer.authenticationMethods).toEqual([]);
    expect(await liveCredentialsOf(user.userId)).toHaveLength(0);
    expect((await devicesOf(user.userId)).every((d) => d.revokedAt !== null)).toBe(true);
    const removals = await auditOf(tenant.tenantId, 'authenticationMethod.remove');
    expect(removals.map((a) => [a.actorId, a.result, a.reasonCode])).toEqual([
      [colleague.userId, 'FAILURE', 'NOT_FOUND'],
      [user.userId, 'FAILURE', 'NOT_FOUND'],
      [tenant.adminId, 'SUCCESS', null],
      [user.userId, 'SUCCESS', null],
      [user.userId, 'FAILURE', 'NOT_FOUND'],
    ]);
  });
});
