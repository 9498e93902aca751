import { createRemoteJWKSet, jwtVerify } from 'jose';
import { describe, expect, it } from 'vitest';
import { eq, sql } from 'drizzle-orm';
import { sessions, tenantDomains, tenants, users } from '../src/db/schema.js';
import type { UserVerification } from '../src/sdk/authenticator.js';
import { PASSWORD_REQUIRED_FLOOR_MS } from '../src/services/signIn.js';
import { addUser, registerPhone } from './authenticatorClient.js';
import { createTenant } from './harness.js';
import {
  amrOf,
  attemptQuery,
  auditOf,
  begin,
  cancel,
  complete,
  onlyChallenge,
  passwordSignIn,
  pending,
  phoneUser,
  respond,
  sendResponse,
  serverPerFile,
  setPolicy,
  signInLogsOf,
  setSettings,
  signResponse,
  started,
  userRow,
  watchAttempt,
  watchChallenges,
} from './signInFlow.js';

const t = serverPerFile();

describe('passwordless phone sign-in with number matching', () => {
  it('pushes the challenge, approves with the right number and a PIN, and issues one session', async () => {
    const { user, phone } = await phoneUser(t);
    const device = await watchChallenges(t, phone);
    const attempt = await started(t, user.userPrincipalName, 'Contoso Mail');
    expect(attempt.number).toMatch(/^[1-9]\d$/);
    expect(attempt.attemptSecret.length).toBeGreaterThanOrEqual(43);

    const pushed = await device.next();
    const challenge = (pushed as any).data.phoneSignInChallenges;
    expect(challenge).toMatchObject({
      id: attempt.attemptId,
      kind: 'PHONE_SIGN_IN',
      userPrincipalName: user.userPrincipalName,
      appName: 'Contoso Mail',
      location: 'unknown',
      ipAddress: '127.0.0.1',
      numberChoices: null,
      expiresAt: attempt.expiresAt,
    });
    expect(JSON.stringify(challenge)).not.toContain(`"${attempt.number}"`);
    expect(Buffer.from(challenge.nonce, 'base64url').length).toBeGreaterThanOrEqual(16);

    const browser = watchAttempt(t, attempt);
    expect(await browser.next()).toMatchObject({ data: { signInAttempt: { status: 'PENDING', failureReason: null } } });

    const answered = await respond(t, phone, challenge, { number: attempt.number, uv: 'pin' });
    expect(answered.data.respondToPhoneSignInChallenge).toMatchObject({ __typename: 'SignInAttempt', status: 'APPROVED' });
    expect(await browser.next()).toMatchObject({ data: { signInAttempt: { status: 'APPROVED' } } });

    const session = await complete(t, attempt);
    expect(session.data.completeSignIn.__typename).toBe('SignInSuccess');
    const jwks = createRemoteJWKSet(new URL(`${t.url}/.well-known/jwks.json`));
    const { payload } = await jwtVerify(session.data.completeSignIn.accessToken, jwks, { issuer: t.url, audience: t.url, currentDate: t.clock.now() });
    expect(payload).toMatchObject({ sub: user.userId, amr: ['mfa', 'pop', 'pin'] });
    expect(await browser.next()).toMatchObject({ data: { signInAttempt: { status: 'COMPLETED' } } });
    expect(await browser.next()).toBe('done');

    const again = await complete(t, attempt);
    expect(again.data.completeSignIn).toMatchObject({ __typename: 'DomainError', code: 'SIGN_IN_NOT_APPROVED' });
    const viewer = await t.gql('{ viewer { id } }', {}, session.data.completeSignIn.accessToken);
    expect(viewer.data.viewer.id).toBe(user.userId);

    const logs = await signInLogsOf(t, { userId: user.userId });
    expect(logs.at(-1)).toMatchObject({
      attemptId: attempt.attemptId,
      method: 'PHONE_SIGN_IN',
      status: 'SUCCESS',
      reasonCode: null,
      appName: 'Contoso Mail',
      ipAddress: '127.0.0.1',
      location: 'unknown',
      deviceId: phone.deviceId,
      numberStyle: 'TYPED',
    });
    expect(await auditOf(t, 'signIn.approved', attempt.attemptId)).toHaveLength(1);
    expect(await auditOf(t, 'signIn.complete', attempt.attemptId)).toHaveLength(1);
    await device.close();
  });

  it('names the biometric in amr when the phone says which (RFC 8176), and only "user" when it does not', async () => {
    const { user, phone } = await phoneUser(t);
    const amrAfter = async (uv: UserVerification) => {
      const attempt = await started(t, user.userPrincipalName);
      await respond(t, phone, await onlyChallenge(t, phone), { number: attempt.number, uv });
      return amrOf((await complete(t, attempt)).data.completeSignIn.accessToken);
    };
    expect(await amrAfter('face')).toEqual(['mfa', 'pop', 'face']);
    expect(await amrAfter('fingerprint')).toEqual(['mfa', 'pop', 'fpt']);
    expect(await amrAfter('iris')).toEqual(['mfa', 'pop', 'iris']);
    expect(await amrAfter('biometric')).toEqual(['mfa', 'pop', 'user']);
    expect(await amrAfter('pin')).toEqual(['mfa', 'pop', 'pin']);
  });

  it('lets the browser cancel; the phone then gets the stored outcome', async () => {
    const { user, phone } = await phoneUser(t);
    const attempt = await started(t, user.userPrincipalName);
    const challenge = await onlyChallenge(t, phone);
    expect((await cancel(t, attempt)).data.cancelSignIn).toMatchObject({ status: 'CANCELLED', failureReason: 'CANCELLED_BY_USER' });
    expect((await respond(t, phone, challenge, { number: attempt.number })).data.respondToPhoneSignInChallenge).toMatchObject({ status: 'CANCELLED' });
    expect((await attemptQuery(t, attempt)).data.signInAttempt.status).toBe('CANCELLED');
    expect((await complete(t, attempt)).data.completeSignIn.code).toBe('SIGN_IN_NOT_APPROVED');
  });

  it('issues no session when the account was disabled between the approval and the redemption, and keeps the approval', async () => {
    const { user, phone } = await phoneUser(t);
    const attempt = await started(t, user.userPrincipalName);
    await respond(t, phone, await onlyChallenge(t, phone), { number: attempt.number });
    const sessionsOf = () => t.server.app.db.select().from(sessions).where(eq(sessions.userId, user.userId));
    const before = (await sessionsOf()).length;
    // Straight to the row: the admin API would also cancel the approval; this is the race past it.
    await t.server.app.db.update(users).set({ disabled: true }).where(eq(users.id, user.userId));
    expect((await complete(t, attempt)).data.completeSignIn).toMatchObject({ code: 'ACCOUNT_DISABLED' });
    expect(await sessionsOf()).toHaveLength(before);
    // The refusal rolled back whole: still approved, and redeemable once the account is enabled again.
    expect((await attemptQuery(t, attempt)).data.signInAttempt.status).toBe('APPROVED');
    await t.server.app.db.update(users).set({ disabled: false }).where(eq(users.id, user.userId));
    expect((await complete(t, attempt)).data.completeSignIn.__typename).toBe('SignInSuccess');
    expect(await sessionsOf()).toHaveLength(before + 1);
  });

  it('ends the attempt on a wrong number, and counts the failure', async () => {
    const { user, phone } = await phoneUser(t);
    const attempt = await started(t, user.userPrincipalName);
    const challenge = await onlyChallenge(t, phone);
    const wrong = String(((Number(attempt.number) - 10 + 1) % 90) + 10);
    expect((await respond(t, phone, challenge, { number: wrong })).data.respondToPhoneSignInChallenge).toMatchObject({
      status: 'DENIED',
      failureReason: 'NUMBER_MISMATCH',
    });
    // A second try with the right number gets the stored outcome: a guess costs the attempt.
    expect((await respond(t, phone, challenge, { number: attempt.number })).data.respondToPhoneSignInChallenge).toMatchObject({ status: 'DENIED' });
    expect((await complete(t, attempt)).data.completeSignIn.code).toBe('SIGN_IN_NOT_APPROVED');
    expect((await userRow(t, user.userId)).failedSignIns).toBe(1);
    expect((await signInLogsOf(t, { userId: user.userId })).at(-1)).toMatchObject({ status: 'FAILURE', reasonCode: 'NUMBER_MISMATCH', deviceId: phone.deviceId });
  });

  it('records a decline as USER_DECLINED', async () => {
    const { user, phone } = await phoneUser(t);
    const attempt = await started(t, user.userPrincipalName);
    const denied = await respond(t, phone, await onlyChallenge(t, phone), { decision: 'deny', number: '', uv: 'none' });
    expect(denied.data.respondToPhoneSignInChallenge).toMatchObject({ status: 'DENIED', failureReason: 'USER_DECLINED' });
    expect((await attemptQuery(t, attempt)).data.signInAttempt).toMatchObject({ status: 'DENIED', failureReason: 'USER_DECLINED' });
    expect((await userRow(t, user.userId)).failedSignIns).toBe(1);
  });

  it('refuses an approval without user verification and leaves the attempt open', async () => {
    const { user, phone } = await phoneUser(t);
    const attempt = await started(t, user.userPrincipalName);
    const challenge = await onlyChallenge(t, phone);
    const refused = await respond(t, phone, challenge, { number: attempt.number, uv: 'none' });
    expect(refused.data.respondToPhoneSignInChallenge).toMatchObject({ __typename: 'DomainError', code: 'USER_VERIFICATION_REQUIRED', field: 'response' });
    expect((await attemptQuery(t, attempt)).data.signInAttempt.status).toBe('PENDING');
    expect((await respond(t, phone, challenge, { number: attempt.number, uv: 'pin' })).data.respondToPhoneSignInChallenge.status).toBe('APPROVED');
  });

  it('expires an unanswered attempt, tells the browser when it happens, and refuses a late approval', async () => {
    const { user, phone } = await phoneUser(t);
    const attempt = await started(t, user.userPrincipalName);
    const challenge = await onlyChallenge(t, phone);
    const browser = watchAttempt(t, attempt);
    expect(await browser.next()).toMatchObject({ data: { signInAttempt: { status: 'PENDING' } } });
    t.clock.advance(119);
    await t.server.runMaintenance();
    expect((await attemptQuery(t, attempt)).data.signInAttempt.status).toBe('PENDING');
    t.clock.advance(1);
    await t.server.runMaintenance();
    expect(await browser.next()).toMatchObject({ data: { signInAttempt: { status: 'EXPIRED', failureReason: 'NO_RESPONSE' } } });
    expect(await browser.next()).toBe('done');
    expect((await respond(t, phone, challenge, { number: attempt.number })).data.respondToPhoneSignInChallenge).toMatchObject({ status: 'EXPIRED' });
    expect((await complete(t, attempt)).data.completeSignIn.code).toBe('SIGN_IN_NOT_APPROVED');
    expect((await signInLogsOf(t, { userId: user.userId })).at(-1)).toMatchObject({ status: 'FAILURE', reasonCode: 'NO_RESPONSE' });
  });

  it('refuses an approval that arrives after expiry even before housekeeping ran', async () => {
    const { user, phone } = await phoneUser(t);
    const attempt = await started(t, user.userPrincipalName);
    const challenge = await onlyChallenge(t, phone);
    t.clock.advance(121);
    expect((await respond(t, phone, challenge, { number: attempt.number })).data.respondToPhoneSignInChallenge).toMatchObject({
      status: 'EXPIRED',
      failureReason: 'NO_RESPONSE',
    });
  });

  it('lets an approval lapse when the browser never redeems it', async () => {
    const { user, phone } = await phoneUser(t);
    const attempt = await started(t, user.userPrincipalName);
    await respond(t, phone, await onlyChallenge(t, phone), { number: attempt.number });
    t.clock.advance(121);
    await t.server.runMaintenance();
    expect((await attemptQuery(t, attempt)).data.signInAttempt).toMatchObject({ status: 'EXPIRED', failureReason: 'NOT_REDEEMED' });
    expect((await complete(t, attempt)).data.completeSignIn.code).toBe('SIGN_IN_NOT_APPROVED');
  });

  it('offers N choices on the phone for CHOICE style, and hides what the tenant does not show', async () => {
    const { tenant, user, phone } = await phoneUser(t);
    await setSettings(t, tenant.tenantId, {
      numberMatching: { style: 'CHOICE', digits: 2, choices: 5 },
      showApplicationName: false,
      showGeographicLocation: false,
    });
    const attempt = await started(t, user.userPrincipalName);
    const challenge = await onlyChallenge(t, phone);
    expect(challenge.numberChoices).toHaveLength(5);
    expect(challenge.numberChoices).toContain(attempt.number);
    expect(challenge).toMatchObject({ appName: null, location: null, ipAddress: null });
    expect((await respond(t, phone, challenge, { number: attempt.number })).data.respondToPhoneSignInChallenge.status).toBe('APPROVED');
    expect((await signInLogsOf(t, { userId: user.userId })).at(-1)).toMatchObject({ numberStyle: 'CHOICE', appName: 'Contoso Mail' });
  });
});

describe('who gets PasswordRequired', () => {
  // Attack: account enumeration through the sign-in page.
  it('answers unknown, credential-less, not-allowed and disabled users alike, and logs the real reason', async () => {
    const { tenant, user, phone } = await phoneUser(t);
    const noPhone = await addUser(t, tenant);
    const other = await createTenant(t);
    // The original's known issue: a credential made while allowed, then the policy no longer allows it.
    const notAllowed = (await phoneUser(t, other)).user;
    await t.server.app.db.update(tenants).set({ legacyPhoneSignInEnabled: false }).where(eq(tenants.id, other.tenantId));
    const disabled = await addUser(t, tenant);
    await registerPhone(t, disabled.token);
    await t.server.app.db.update(users).set({ disabled: true }).where(eq(users.id, disabled.userId));

    const answers = await Promise.all(
      [`nobody@${tenant.domain}`, noPhone.userPrincipalName, notAllowed.userPrincipalName, disabled.userPrincipalName, 'someone@unknown-domain.example.org'].map((name) =>
        begin(t, name),
      ),
    );
    for (const answer of answers) expect(answer).toEqual({ __typename: 'PasswordRequired', reason: 'PASSWORD_REQUIRED' });
    expect((await pending(t, phone)).data.pendingPhoneSignInChallenges).toEqual([]);

    expect((await signInLogsOf(t, { userPrincipalName: `nobody@${tenant.domain}` }))[0]).toMatchObject({ status: 'INTERRUPTED', reasonCode: 'USER_NOT_FOUND', userId: null });
    expect((await signInLogsOf(t, { userId: noPhone.userId })).at(-1)).toMatchObject({ status: 'INTERRUPTED', reasonCode: 'NO_CREDENTIAL' });
    expect((await signInLogsOf(t, { userId: notAllowed.userId })).at(-1)).toMatchObject({ reasonCode: 'NOT_ENABLED_BY_POLICY' });
    expect((await signInLogsOf(t, { userId: disabled.userId })).at(-1)).toMatchObject({ reasonCode: 'USER_DISABLED' });
    expect(await started(t, user.userPrincipalName)).toHaveProperty('number');
  });

  it('answers PENDING_REQUEST while one is unanswered, without a second push', async () => {
    const { user, phone } = await phoneUser(t);
    const first = await started(t, user.userPrincipalName);
    expect(await begin(t, user.userPrincipalName)).toEqual({ __typename: 'PasswordRequired', reason: 'PENDING_REQUEST' });
    expect((await pending(t, phone)).data.pendingPhoneSignInChallenges.map((c: { id: string }) => c.id)).toEqual([first.attemptId]);
    expect((await signInLogsOf(t, { userId: user.userId })).at(-1)).toMatchObject({ status: 'INTERRUPTED', reasonCode: 'PENDING_REQUEST' });
    await cancel(t, first);
    expect(await started(t, user.userPrincipalName)).toHaveProperty('attemptId');
  });
});

describe('the attempt secret', () => {
  // Attack: watching, redeeming or cancelling someone else's attempt by its id alone.
  it('shows nothing to a wrong secret: the same NOT_FOUND as an unknown id', async () => {
    const { user, phone } = await phoneUser(t);
    const attempt = await started(t, user.userPrincipalName);
    await respond(t, phone, await onlyChallenge(t, phone), { number: attempt.number });
    const wrong = { attemptId: attempt.attemptId, attemptSecret: 'A'.repeat(43) };
    const unknown = { attemptId: '00000000-0000-4000-8000-000000000000', attemptSecret: attempt.attemptSecret };
    for (const key of [wrong, unknown, { attemptId: 'not-an-id', attemptSecret: 'x' }]) {
      const query = await attemptQuery(t, key);
      expect(query.data).toBeNull();
      expect(query.errors?.[0]).toMatchObject({ message: 'No sign-in attempt has this id and secret. Start a new sign-in.', extensions: { code: 'NOT_FOUND' } });
      expect((await complete(t, key)).errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
      expect((await cancel(t, key)).errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
      const watcher = watchAttempt(t, key);
      expect(await watcher.next()).toMatchObject({ errors: [{ extensions: { code: 'NOT_FOUND' } }] });
      expect(await watcher.next()).toBe('done');
    }
    // Oversized values are a wrong key too: the same coded NOT_FOUND, to the query and the subscription.
    const oversized = { attemptId: 'x'.repeat(100), attemptSecret: 'y'.repeat(1000) };
    expect((await attemptQuery(t, oversized)).errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
    expect(await watchAttempt(t, oversized).next()).toMatchObject({ errors: [{ extensions: { code: 'NOT_FOUND' } }] });
    expect((await attemptQuery(t, attempt)).data.signInAttempt.status).toBe('APPROVED');
    expect((await complete(t, attempt)).data.completeSignIn.__typename).toBe('SignInSuccess');
  });
});

describe('use your password instead', () => {
  it('asks PUSH-mode users to approve on the phone after the password, completed the same way', async () => {
    const { tenant, user, phone } = await phoneUser(t);
    await setPolicy(t, tenant, 'PUSH', [user.userId]);
    // PUSH mode is push MFA only: no passwordless sign-in.
    expect(await begin(t, user.userPrincipalName)).toEqual({ __typename: 'PasswordRequired', reason: 'PASSWORD_REQUIRED' });
    expect((await passwordSignIn(t, user.userPrincipalName, 'wrong password!')).data.signInWithPassword.code).toBe('INVALID_CREDENTIALS');

    const mfa = (await passwordSignIn(t, user.userPrincipalName, user.password)).data.signInWithPassword;
    expect(mfa.__typename).toBe('MfaRequired');
    const challenge = await onlyChallenge(t, phone);
    expect(challenge).toMatchObject({ id: mfa.attemptId, kind: 'PUSH_MFA', appName: 'Contoso Portal' });
    expect((await complete(t, mfa)).data.completeSignIn.code).toBe('SIGN_IN_NOT_APPROVED');
    await respond(t, phone, challenge, { number: mfa.number });
    const session = (await complete(t, mfa)).data.completeSignIn;
    expect(amrOf(session.accessToken)).toEqual(['pwd', 'mfa', 'pop', 'pin']);
    expect((await signInLogsOf(t, { userId: user.userId })).at(-1)).toMatchObject({ method: 'PUSH_MFA', status: 'SUCCESS', appName: 'Contoso Portal' });
  });

  it('still signs in users of other modes with the password alone', async () => {
    const { user } = await phoneUser(t);
    expect((await passwordSignIn(t, user.userPrincipalName, user.password)).data.signInWithPassword.__typename).toBe('SignInSuccess');
    expect((await signInLogsOf(t, { userId: user.userId })).at(-1)).toMatchObject({ method: 'PASSWORD', status: 'SUCCESS' });
  });

  it('sends federated domains to their identity provider, while phone users still get the push', async () => {
    const { tenant, user, phone } = await phoneUser(t);
    await t.server.app.db.update(tenantDomains).set({ federationSignInUrl: 'https://adfs.example.com/adfs/ls/' }).where(eq(tenantDomains.domain, tenant.domain));
    expect((await passwordSignIn(t, user.userPrincipalName, user.password)).data.signInWithPassword).toEqual({
      __typename: 'FederationRedirect',
      signInUrl: 'https://adfs.example.com/adfs/ls/',
    });
    expect((await passwordSignIn(t, `nobody@${tenant.domain}`, 'whatever123')).data.signInWithPassword.__typename).toBe('FederationRedirect');
    const attempt = await started(t, user.userPrincipalName);
    expect((await onlyChallenge(t, phone)).id).toBe(attempt.attemptId);
  });
});


describe('push MFA that cannot be sent', () => {
  it('tells a PUSH-mode user with the right password why no push went out', async () => {
    const { tenant, user } = await phoneUser(t);
    await setPolicy(t, tenant, 'PUSH');
    const signInWithPassword = () => passwordSignIn(t, user.userPrincipalName, user.password);
    expect((await signInWithPassword()).data.signInWithPassword.__typename).toBe('MfaRequired');
    expect((await signInWithPassword()).data.signInWithPassword).toMatchObject({ __typename: 'DomainError', code: 'MFA_UNAVAILABLE', message: expect.stringMatching(/already waiting/) });
    expect((await signInLogsOf(t, { userId: user.userId })).at(-1)).toMatchObject({ method: 'PUSH_MFA', status: 'FAILURE', reasonCode: 'PENDING_REQUEST' });
  });
});

describe('push MFA on authenticator devices (policy mode PUSH)', () => {
  /** A tenant whose policy gives every user PUSH mode, and one user of it with a password. */
  const pushUser = async () => {
    const tenant = await createTenant(t);
    await setPolicy(t, tenant, 'PUSH');
    return { tenant, user: await addUser(t, tenant) };
  };

  it('pushes a phone sign-in at once to the devices holding the credential, and not to the user\'s other devices', async () => {
    const { user, phone } = await phoneUser(t);
    const tablet = await registerPhone(t, user.token, { enable: false, device: { displayName: 'iPad' } });
    const [onPhone, onTablet] = await Promise.all([watchChallenges(t, phone), watchChallenges(t, tablet)]);
    // Both subscribed (a subscription starts with its first next()) before the sign-in begins.
    const [phoneNext, tabletNext] = [onPhone.next(), onTablet.next()];
    const subscribed = t.server.app.live.challenges.size();
    while (t.server.app.live.challenges.size() < subscribed + 2) await new Promise((resolve) => setTimeout(resolve, 10));
    const attempt = await started(t, user.userPrincipalName);
    expect(((await phoneNext) as any).data.phoneSignInChallenges).toMatchObject({ id: attempt.attemptId, kind: 'PHONE_SIGN_IN' });
    // The tablet has no phone sign-in credential: neither the push nor the event after it reaches it.
    const nothing = new Promise((resolve) => setTimeout(() => resolve('nothing'), 500));
    expect(await Promise.race([tabletNext, nothing])).toBe('nothing');
    expect((await pending(t, tablet)).data.pendingPhoneSignInChallenges).toEqual([]);
    await Promise.all([onPhone.close(), onTablet.close()]);
  });

  it('pushes to a device without a phone sign-in credential after the password, and its device key approves', async () => {
    const { user } = await pushUser();
    const phone = await registerPhone(t, user.token, { enable: false });
    const device = await watchChallenges(t, phone);
    const mfa = (await passwordSignIn(t, user.userPrincipalName, user.password)).data.signInWithPassword;
    expect(mfa.__typename).toBe('MfaRequired');
    const challenge = ((await device.next()) as any).data.phoneSignInChallenges;
    expect(challenge).toMatchObject({ id: mfa.attemptId, kind: 'PUSH_MFA', appName: 'Contoso Portal' });
    const browser = watchAttempt(t, mfa);
    expect(await browser.next()).toMatchObject({ data: { signInAttempt: { kind: 'PUSH_MFA', status: 'PENDING' } } });

    const answered = await respond(t, phone, challenge, { number: mfa.number, key: 'device' });
    expect(answered.data.respondToPhoneSignInChallenge).toMatchObject({ status: 'APPROVED' });
    expect(await browser.next()).toMatchObject({ data: { signInAttempt: { status: 'APPROVED' } } });
    const session = (await complete(t, mfa)).data.completeSignIn;
    expect(amrOf(session.accessToken)).toEqual(['pwd', 'mfa', 'pop', 'pin']);
    expect((await signInLogsOf(t, { userId: user.userId })).at(-1)).toMatchObject({ method: 'PUSH_MFA', status: 'SUCCESS', deviceId: phone.deviceId });
    await device.close();
  });

  // Attack: answering with a key that may not answer this kind of challenge, or with another device's key.
  it('takes the device key for push MFA only, and only the answering device’s own', async () => {
    const { user, phone } = await phoneUser(t);
    const attempt = await started(t, user.userPrincipalName);
    const byDeviceKey = await respond(t, phone, await onlyChallenge(t, phone), { number: attempt.number, key: 'device' });
    expect(byDeviceKey.data.respondToPhoneSignInChallenge).toMatchObject({ code: 'CREDENTIAL_NOT_USABLE', message: expect.stringMatching(/credential key/) });
    expect((await attemptQuery(t, attempt)).data.signInAttempt.status).toBe('PENDING');

    const { user: pushed } = await pushUser();
    const first = await registerPhone(t, pushed.token, { enable: false });
    const second = await registerPhone(t, pushed.token, { enable: false, device: { displayName: 'iPad' } });
    const mfa = (await passwordSignIn(t, pushed.userPrincipalName, pushed.password)).data.signInWithPassword;
    const challenge = await onlyChallenge(t, first);
    expect((await onlyChallenge(t, second)).id).toBe(challenge.id);
    // The first device signs with its own key but names the second device as the signer.
    const firstId = first.deviceId;
    first.deviceId = second.deviceId;
    const misnamed = await signResponse(t, first, challenge, { number: mfa.number, key: 'device' });
    first.deviceId = firstId;
    expect((await sendResponse(t, first, misnamed)).data.respondToPhoneSignInChallenge).toMatchObject({ code: 'CREDENTIAL_NOT_USABLE' });
    expect((await sendResponse(t, second, misnamed)).data.respondToPhoneSignInChallenge).toMatchObject({ code: 'INVALID_SIGNATURE' });
    expect((await attemptQuery(t, mfa)).data.signInAttempt.status).toBe('PENDING');
    expect((await respond(t, second, challenge, { number: mfa.number, key: 'device' })).data.respondToPhoneSignInChallenge.status).toBe('APPROVED');
  });

  it('signs a PUSH-mode user who has no authenticator in with the password alone', async () => {
    const { user } = await pushUser();
    const result = (await passwordSignIn(t, user.userPrincipalName, user.password)).data.signInWithPassword;
    expect(result.__typename).toBe('SignInSuccess');
    expect(amrOf(result.accessToken)).toEqual(['pwd']);
  });
});

describe('how long beginSignIn takes to refuse', () => {
  // Attack: account enumeration by response time (unknown domain, unknown user and known user do different work).
  const waits: number[] = [];
  const paced = serverPerFile({ server: { sleep: async (ms) => void waits.push(ms) } });
  /** Times one beginSignIn from outside, which is at least the server's own path to its answer. */
  const timedBegin = async (name: string) => {
    const before = waits.length;
    const sent = performance.now();
    const result = await begin(paced, name);
    const took = performance.now() - sent;
    return { result, took, slept: waits.slice(before) };
  };

  it('holds every PasswordRequired to one floor measured from the request start, and never a started sign-in', async () => {
    const { tenant, user } = await phoneUser(paced);
    const noPhone = await addUser(paced, tenant);
    for (const name of ['someone@unknown-domain.example.org', `nobody@${tenant.domain}`, noPhone.userPrincipalName]) {
      const { result, took, slept } = await timedBegin(name);
      expect(result).toEqual({ __typename: 'PasswordRequired', reason: 'PASSWORD_REQUIRED' });
      expect(slept, name).toHaveLength(1);
      // The sleep tops the path up to the floor: what the path took (at most `took`) plus the sleep reaches it.
      expect(took + slept[0]!, name).toBeGreaterThanOrEqual(PASSWORD_REQUIRED_FLOOR_MS);
      // ... and only up to it: the path's own time is taken off, not added on top.
      expect(slept[0]!, name).toBeLessThan(PASSWORD_REQUIRED_FLOOR_MS);
    }
    const startedOne = await timedBegin(user.userPrincipalName);
    expect(startedOne.result.__typename).toBe('PhoneSignInStarted');
    expect(startedOne.slept).toEqual([]);
  });

  it('sleeps less when the path took longer', async () => {
    const { tenant } = await phoneUser(paced);
    const noPhone = await addUser(paced, tenant);
    const HELD_MS = 200;
    // beginSignIn locks the user's row; holding that lock makes this one path take HELD_MS longer.
    const { slept } = await paced.server.app.db.transaction(async (tx) => {
      await tx.execute(sql`select id from users where id = ${noPhone.userId} for update`);
      const answer = timedBegin(noPhone.userPrincipalName);
      await new Promise((resolve) => setTimeout(resolve, HELD_MS));
      // Wrapped, so the transaction commits (releasing the lock) before the answer is awaited.
      return { answer };
    }).then(({ answer }) => answer);
    expect(slept).toHaveLength(1);
    // Half the hold, not all of it: the request may reach the server a little after it was sent.
    expect(slept[0]!).toBeLessThanOrEqual(PASSWORD_REQUIRED_FLOOR_MS - HELD_MS / 2);
  });
});

describe('housekeeping', () => {
  it('finds approvals never redeemed through an index, not by reading every attempt', async () => {
    const plan = await t.server.app.db.transaction(async (tx) => {
      await tx.execute(sql`set local enable_seqscan = off`);
      return tx.execute(
        sql`explain update sign_in_attempts set status = 'EXPIRED' where status = 'APPROVED' and resolved_at <= now() - interval '120 seconds'`,
      );
    });
    const rows = ((plan as { rows?: unknown[] }).rows ?? (plan as unknown as unknown[])) as Array<Record<string, string>>;
    expect(rows.map((row) => Object.values(row)[0]).join('\n')).toContain('attempts_approved_resolved_idx');
  });
});
