import { and, asc, eq } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { auditLogs, signInAttempts } from '../src/db/schema.js';
import { AuthenticatorKeys } from '../src/sdk/authenticator.js';
import { deviceAuthorization, registerPhone } from './authenticatorClient.js';
import {
  attemptQuery,
  begin,
  cancel,
  follow,
  onlyChallenge,
  pending,
  phoneUser,
  respond,
  sendResponse,
  serverPerFile,
  signResponse,
  started,
  unpublishedAttempt,
  userRow,
  watchAttempt,
  watchChallenges,
} from './signInFlow.js';

const t = serverPerFile();
const idOf = (event: any) => event.data.phoneSignInChallenges.id as string;
/** "At once": well under the 10 s a test waits for an event, so a close that never comes cannot pass. */
const CLOSED_WITHIN_MS = 2_000;

describe('delivering challenges to the phone', () => {
  it('replays pending challenges to a late subscriber, again after a reconnect, then sends live ones', async () => {
    const { user, phone } = await phoneUser(t);
    const first = await started(t, user.userPrincipalName);

    const late = await watchChallenges(t, phone);
    expect(idOf(await late.next())).toBe(first.attemptId);
    await late.close();

    // A reconnect needs a new connection, so a fresh device assertion (its jti is single-use).
    const reconnected = await watchChallenges(t, phone);
    expect(idOf(await reconnected.next())).toBe(first.attemptId);

    // Every phone of the user gets it, the second one live.
    const secondPhone = await registerPhone(t, user.token, { device: { displayName: 'Adele’s iPad' } });
    const onSecond = await watchChallenges(t, secondPhone);
    expect(idOf(await onSecond.next())).toBe(first.attemptId);
    await cancel(t, first);
    const next = await started(t, user.userPrincipalName);
    expect(idOf(await reconnected.next())).toBe(next.attemptId);
    expect(idOf(await onSecond.next())).toBe(next.attemptId);
    expect((await pending(t, secondPhone)).data.pendingPhoneSignInChallenges.map((c: any) => c.id)).toEqual([next.attemptId]);
  });

  it('does not replay expired or answered challenges', async () => {
    const { user, phone } = await phoneUser(t);
    await started(t, user.userPrincipalName);
    await respond(t, phone, await onlyChallenge(t, phone), { decision: 'deny', number: '' });
    await started(t, user.userPrincipalName);
    t.clock.advance(121);
    expect((await pending(t, phone)).data.pendingPhoneSignInChallenges).toEqual([]);
    const fresh = await started(t, user.userPrincipalName);
    const subscriber = await watchChallenges(t, phone);
    expect(idOf(await subscriber.next())).toBe(fresh.attemptId);
    // Nothing old is queued behind it either: the next event is the next live challenge.
    await cancel(t, fresh);
    const next = await started(t, user.userPrincipalName);
    expect(idOf(await subscriber.next())).toBe(next.attemptId);
  });

  it('refuses challenge reads without a device assertion', async () => {
    const { user } = await phoneUser(t);
    expect((await t.gql('{ pendingPhoneSignInChallenges { id } }')).errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    expect((await t.gql('{ pendingPhoneSignInChallenges { id } }', {}, user.token)).errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
  });
});

describe('only the user’s live phones see and answer challenges', () => {
  // Attack: a phone registered to another account watches or answers this user's sign-in.
  it('hides the challenge from another user’s phone and refuses its answers', async () => {
    const { tenant, user, phone } = await phoneUser(t);
    const { user: mallory, phone: malloryPhone } = await phoneUser(t, tenant);
    const watching = await watchChallenges(t, malloryPhone);
    const attempt = await started(t, user.userPrincipalName);
    const challenge = await onlyChallenge(t, phone);

    expect((await pending(t, malloryPhone)).data.pendingPhoneSignInChallenges).toEqual([]);
    const answered = await respond(t, malloryPhone, challenge, { number: attempt.number });
    expect(answered.data).toBeNull();
    expect(answered.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');

    // Her credential id with a key she holds: the credential is not her device's.
    const impostor = await AuthenticatorKeys.create();
    impostor.deviceId = malloryPhone.deviceId;
    await impostor.credentialProof({ audience: t.url, now: t.clock.now() });
    impostor.credentialId = phone.credentialId;
    const forged = await signResponse(t, impostor, challenge, { number: attempt.number });
    const refused = await sendResponse(t, malloryPhone, forged);
    expect(refused.data.respondToPhoneSignInChallenge).toMatchObject({ __typename: 'DomainError', code: 'CREDENTIAL_NOT_USABLE' });
    expect((await attemptQuery(t, attempt)).data.signInAttempt.status).toBe('PENDING');

    // Her subscription saw nothing: the first thing it gets is her own sign-in.
    const own = await started(t, mallory.userPrincipalName);
    expect(idOf(await watching.next())).toBe(own.attemptId);
  });

  it('hides challenges from a phone without phone sign-in, and from one that turned it off', async () => {
    const { user, phone } = await phoneUser(t);
    const mfaOnly = await registerPhone(t, user.token, { enable: false });
    const attempt = await started(t, user.userPrincipalName);
    expect((await pending(t, mfaOnly)).data.pendingPhoneSignInChallenges).toEqual([]);

    const challenge = await onlyChallenge(t, phone);
    const off = await t.gql('mutation { disablePhoneSignIn }', {}, await deviceAuthorization(t, phone));
    expect(off.data.disablePhoneSignIn).toBe(true);
    expect((await pending(t, phone)).data.pendingPhoneSignInChallenges).toEqual([]);
    const refused = await respond(t, phone, challenge, { number: attempt.number });
    expect(refused.data.respondToPhoneSignInChallenge).toMatchObject({ code: 'CREDENTIAL_NOT_USABLE' });
    expect(await begin(t, user.userPrincipalName)).toMatchObject({ __typename: 'PasswordRequired', reason: 'PASSWORD_REQUIRED' });
  });

  // Attack: a lost phone, removed from the account, answers a sign-in.
  it('cuts off a removed phone at once: no challenges, no answers, its subscription closed', async () => {
    const { user, phone } = await phoneUser(t);
    const attempt = await started(t, user.userPrincipalName);
    const challenge = await onlyChallenge(t, phone);
    const subscription = await watchChallenges(t, phone);
    expect(idOf(await subscription.next())).toBe(attempt.attemptId);

    const removing = performance.now();
    const removed = await t.gql(`mutation($id: ID!) { removeAuthenticationMethod(id: $id) { __typename } }`, { id: phone.deviceId }, user.token);
    expect(removed.data.removeAuthenticationMethod.__typename).toBe('RemovedAuthenticationMethod');
    // The server closes the socket itself, with the code and reason a phone acts on: not the test's own timeout.
    await expect(subscription.next()).rejects.toMatchObject({ code: 4403, reason: 'Forbidden: this device was removed' });
    expect(performance.now() - removing).toBeLessThan(CLOSED_WITHIN_MS);
    expect((await pending(t, phone)).errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    expect((await respond(t, phone, challenge, { number: attempt.number })).errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    expect((await attemptQuery(t, attempt)).data.signInAttempt.status).toBe('PENDING');
  });
});

describe('checking the signed response', () => {
  // Attack: a response signed by a key other than the registered credential key.
  it('refuses a bad signature without counting it against the user, leaving the attempt open', async () => {
    const { user, phone } = await phoneUser(t);
    const attempt = await started(t, user.userPrincipalName);
    const challenge = await onlyChallenge(t, phone);
    const forger = await AuthenticatorKeys.create();
    forger.deviceId = phone.deviceId;
    await forger.credentialProof({ audience: t.url, now: t.clock.now() });
    forger.credentialId = phone.credentialId;
    const refused = await sendResponse(t, phone, await signResponse(t, forger, challenge, { number: attempt.number }));
    expect(refused.data.respondToPhoneSignInChallenge).toMatchObject({ code: 'INVALID_SIGNATURE', field: 'response' });
    // A signature that does not verify proves nothing about the user (see attackSignInRules.test.ts).
    expect((await userRow(t, user.userId)).failedSignIns).toBe(0);
    expect((await attemptQuery(t, attempt)).data.signInAttempt.status).toBe('PENDING');
  });

  // Attack: a response replayed with another nonce, a stale one, or another kind of signed message.
  it('refuses a wrong nonce, a stale or future response, and messages of another type', async () => {
    const { user, phone } = await phoneUser(t);
    const attempt = await started(t, user.userPrincipalName);
    const challenge = await onlyChallenge(t, phone);
    const code = async (response: string) => (await sendResponse(t, phone, response)).data.respondToPhoneSignInChallenge.code;
    const at = (seconds: number) => new Date(t.clock.now().getTime() + seconds * 1000);

    expect(await code(await signResponse(t, phone, challenge, { number: attempt.number, nonce: 'A'.repeat(43) }))).toBe('INVALID_CHALLENGE_RESPONSE');
    expect(await code(await signResponse(t, phone, challenge, { number: attempt.number, now: at(-61) }))).toBe('CHALLENGE_RESPONSE_STALE');
    expect(await code(await signResponse(t, phone, challenge, { number: attempt.number, now: at(61) }))).toBe('CHALLENGE_RESPONSE_STALE');
    expect(await code(await phone.deviceAssertion({ audience: t.url, now: t.clock.now() }))).toBe('INVALID_CHALLENGE_RESPONSE');
    expect(await code('not a jws')).toBe('INVALID_CHALLENGE_RESPONSE');
    const part = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
    const claims = { challengeId: challenge.id, nonce: challenge.nonce, decision: 'approve', number: attempt.number, uv: 'pin', iat: Math.floor(t.clock.now().getTime() / 1000) };
    const unsigned = `${part({ alg: 'none', typ: 'phone-sign-in-response+jwt', kid: phone.credentialId })}.${part(claims)}.`;
    expect(await code(unsigned)).toBe('INVALID_CHALLENGE_RESPONSE');
    expect((await attemptQuery(t, attempt)).data.signInAttempt.status).toBe('PENDING');
    expect((await respond(t, phone, challenge, { number: attempt.number })).data.respondToPhoneSignInChallenge.status).toBe('APPROVED');
  });

  // Attack: probing the answer path (forged, replayed, unverified or misdirected answers) must leave a trace.
  it('audits every refused answer with its reason code, each in its own write', async () => {
    const { tenant, user, phone } = await phoneUser(t);
    const { phone: otherPhone } = await phoneUser(t, tenant);
    const attempt = await started(t, user.userPrincipalName);
    const challenge = await onlyChallenge(t, phone);
    const at = (seconds: number) => new Date(t.clock.now().getTime() + seconds * 1000);
    const refusals = async (targetId: string) =>
      (await t.server.app.db.select().from(auditLogs).where(and(eq(auditLogs.action, 'signIn.respond'), eq(auditLogs.targetId, targetId))).orderBy(asc(auditLogs.id))).map(
        (r) => ({ actor: `${r.actorType}:${r.actorId}`, tenantId: r.tenantId, result: r.result, reasonCode: r.reasonCode }),
      );

    const code = async (response: string, from = phone) => {
      const answered = await sendResponse(t, from, response);
      return answered.data?.respondToPhoneSignInChallenge?.code ?? answered.errors?.[0]?.extensions?.code;
    };
    const malformedClaims = await phone.challengeResponse({ challengeId: challenge.id, nonce: challenge.nonce, decision: 'approve', number: attempt.number, uv: 'retina' as 'pin', now: t.clock.now() });
    expect(await code(await signResponse(t, phone, challenge, { number: attempt.number, uv: 'none' }))).toBe('USER_VERIFICATION_REQUIRED');
    expect(await code(await signResponse(t, phone, challenge, { number: attempt.number, nonce: 'A'.repeat(43) }))).toBe('INVALID_CHALLENGE_RESPONSE');
    expect(await code(await signResponse(t, phone, challenge, { number: attempt.number, now: at(-61) }))).toBe('CHALLENGE_RESPONSE_STALE');
    expect(await code(await signResponse(t, phone, challenge, { number: attempt.number, key: 'device' }))).toBe('CREDENTIAL_NOT_USABLE');
    expect(await code(malformedClaims)).toBe('INVALID_CHALLENGE_RESPONSE');
    const forger = await AuthenticatorKeys.create();
    forger.deviceId = phone.deviceId;
    await forger.credentialProof({ audience: t.url, now: t.clock.now() });
    forger.credentialId = phone.credentialId;
    expect(await code(await signResponse(t, forger, challenge, { number: attempt.number }))).toBe('INVALID_SIGNATURE');
    // Another phone of the tenant answering this user's challenge: not found for it, and recorded.
    expect(await code(await signResponse(t, otherPhone, challenge, { number: attempt.number }), otherPhone)).toBe('NOT_FOUND');
    const device = `DEVICE:${phone.deviceId}`;
    const failure = { tenantId: tenant.tenantId, result: 'FAILURE' };
    expect(await refusals(attempt.attemptId)).toEqual([
      { ...failure, actor: device, reasonCode: 'USER_VERIFICATION_REQUIRED' },
      { ...failure, actor: device, reasonCode: 'INVALID_CHALLENGE_RESPONSE' },
      { ...failure, actor: device, reasonCode: 'CHALLENGE_RESPONSE_STALE' },
      { ...failure, actor: device, reasonCode: 'CREDENTIAL_NOT_USABLE' },
      { ...failure, actor: device, reasonCode: 'BAD_SIGNATURE' },
      { ...failure, actor: `DEVICE:${otherPhone.deviceId}`, reasonCode: 'NOT_FOUND' },
    ]);
    // Claims that cannot be read name no challenge: the refusal is recorded against the device that sent them.
    expect(await refusals(phone.deviceId!)).toEqual([{ ...failure, actor: device, reasonCode: 'INVALID_CHALLENGE_RESPONSE' }]);
    expect((await attemptQuery(t, attempt)).data.signInAttempt.status).toBe('PENDING');
  });

  it('rejects an oversized response at the edge', async () => {
    const { phone } = await phoneUser(t);
    const huge = await sendResponse(t, phone, 'x'.repeat(9000));
    expect(huge.data.respondToPhoneSignInChallenge).toMatchObject({ code: 'INVALID_INPUT' });
  });
});

describe('events lost on the way', () => {
  // With Redis, an event published while Redis is unreachable never arrives. When the transport is
  // back the node reads every local subscription once (catchUp), and the phone and browser still get it.
  it('delivers a challenge and a status change whose events were never published, on catching up', async () => {
    const { tenant, user, phone } = await phoneUser(t);
    const device = await watchChallenges(t, phone);
    const attempt = await started(t, user.userPrincipalName);
    expect(idOf(await device.next())).toBe(attempt.attemptId);
    const unpublished = await unpublishedAttempt(t, { tenantId: tenant.tenantId, userId: user.userId });
    const browser = watchAttempt(t, attempt);
    expect(await browser.next()).toMatchObject({ data: { signInAttempt: { status: 'PENDING' } } });
    await t.server.app.db
      .update(signInAttempts)
      .set({ status: 'CANCELLED', failureReason: 'CANCELLED_BY_USER' })
      .where(eq(signInAttempts.id, attempt.attemptId));

    const { live } = t.server.app;
    await Promise.all([live.challenges.catchUp(), live.attempts.catchUp()]);
    expect(idOf(await device.next())).toBe(unpublished.id);
    // Read again while PENDING, sent once: the next thing the browser sees is the change.
    expect(await browser.next()).toMatchObject({ data: { signInAttempt: { status: 'CANCELLED', failureReason: 'CANCELLED_BY_USER' } } });
    expect(await browser.next()).toBe('done');
    await device.close();
  });
});
