import { and, eq } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { auditLogs, signInAttempts } from '../src/db/schema.js';
import { AuthenticatorKeys } from '../src/sdk/authenticator.js';
import { FORGED_ANSWERS_PER_DEVICE, FORGED_ANSWER_WINDOW_S } from '../src/services/signInProtection.js';
import { deviceAuthorization } from './authenticatorClient.js';
import { type TestServer, signIn } from './harness.js';
import {
  attemptQuery,
  begin,
  complete,
  onlyChallenge,
  phoneUser,
  respond,
  sendResponse,
  serverPerFile,
  setSettings,
  signInLogsOf,
  signResponse,
  started,
  unpublishedAttempt,
  userRow,
} from './signInFlow.js';

// The sign-in rules as the attack run found them broken: locks, fraud reports and replays.
const t = serverPerFile();

const THRESHOLD = 3;
const wrongNumber = (number: string) => String(((Number(number) - 10 + 1) % 90) + 10);
const answerCode = (answered: any) => answered.data?.respondToPhoneSignInChallenge?.code ?? answered.errors?.[0]?.extensions?.code;

/** A phone user whose tenant locks after THRESHOLD failures and does not rate-limit pushes in these tests. */
async function lockableUser(t: TestServer) {
  const made = await phoneUser(t);
  await setSettings(t, made.tenant.tenantId, { failureLockoutThreshold: THRESHOLD, pushRateLimit: { maxPushes: 100, windowMinutes: 10 } });
  return made;
}

/** Keys that sign as the phone's credential (same kid) but are not the registered key: a forger. */
async function forgerOf(phone: AuthenticatorKeys) {
  const forger = await AuthenticatorKeys.create();
  forger.deviceId = phone.deviceId;
  await forger.credentialProof({ audience: t.url, now: t.clock.now() });
  forger.credentialId = phone.credentialId;
  return forger;
}

/** Approves a new sign-in on the phone without redeeming it. */
async function approvedAttempt(t: TestServer, user: { userPrincipalName: string }, phone: AuthenticatorKeys) {
  const attempt = await started(t, user.userPrincipalName);
  const approved = await respond(t, phone, await onlyChallenge(t, phone), { number: attempt.number });
  expect(approved.data.respondToPhoneSignInChallenge.status).toBe('APPROVED');
  return attempt;
}

/** Ends a new sign-in with a wrong number: one failure towards the lock. */
async function failOnce(t: TestServer, user: { userPrincipalName: string }, phone: AuthenticatorKeys) {
  const attempt = await started(t, user.userPrincipalName);
  const denied = await respond(t, phone, await onlyChallenge(t, phone), { number: wrongNumber(attempt.number) });
  expect(denied.data.respondToPhoneSignInChallenge).toMatchObject({ status: 'DENIED', failureReason: 'NUMBER_MISMATCH' });
}

describe('a lock locks', () => {
  // Attack: whoever knows a challenge id sends forged signatures to lock the user out of phone sign-in.
  it('does not count forged signatures towards the lock, so the real approval still signs in', async () => {
    const { user, phone } = await lockableUser(t);
    const attempt = await started(t, user.userPrincipalName);
    const challenge = await onlyChallenge(t, phone);
    const forger = await forgerOf(phone);
    for (let i = 0; i < THRESHOLD; i++) {
      expect(answerCode(await sendResponse(t, phone, await signResponse(t, forger, challenge, { number: attempt.number })))).toBe('INVALID_SIGNATURE');
    }
    expect(await userRow(t, user.userId)).toMatchObject({ failedSignIns: 0, lockedUntil: null });
    const forged = await t.server.app.db
      .select()
      .from(auditLogs)
      .where(and(eq(auditLogs.action, 'signIn.respond'), eq(auditLogs.targetId, attempt.attemptId), eq(auditLogs.reasonCode, 'BAD_SIGNATURE')));
    expect(forged).toHaveLength(THRESHOLD);

    expect((await respond(t, phone, challenge, { number: attempt.number })).data.respondToPhoneSignInChallenge.status).toBe('APPROVED');
    expect((await complete(t, attempt)).data.completeSignIn.__typename).toBe('SignInSuccess');
  });

  // Attack: a device floods forged answers, each costing a signature check and an audit row.
  it('refuses a forging device’s answers unchecked after the cap, until the window has passed', async () => {
    const { user, phone } = await lockableUser(t);
    const attempt = await started(t, user.userPrincipalName);
    const challenge = await onlyChallenge(t, phone);
    const forger = await forgerOf(phone);
    for (let i = 0; i < FORGED_ANSWERS_PER_DEVICE; i++) {
      expect(answerCode(await sendResponse(t, phone, await signResponse(t, forger, challenge, { number: attempt.number })))).toBe('INVALID_SIGNATURE');
    }
    const capped = await respond(t, phone, challenge, { number: attempt.number });
    expect(capped.data.respondToPhoneSignInChallenge).toMatchObject({ code: 'TOO_MANY_INVALID_SIGNATURES', field: 'response' });
    expect(capped.data.respondToPhoneSignInChallenge.message).toMatch(/refused for \d+ s/);
    expect((await attemptQuery(t, attempt)).data.signInAttempt.status).toBe('PENDING');
    expect((await userRow(t, user.userId)).failedSignIns).toBe(0);

    t.clock.advance(FORGED_ANSWER_WINDOW_S);
    const fresh = await started(t, user.userPrincipalName);
    expect((await respond(t, phone, await onlyChallenge(t, phone), { number: fresh.number })).data.respondToPhoneSignInChallenge.status).toBe('APPROVED');
  });

  // Attack: an approval waiting to be redeemed (or a request waiting on the phone) outlives the lock that follows.
  it('ends the user’s open sign-ins when the lock begins, so none is redeemed or approved while locked', async () => {
    const { tenant, user, phone } = await lockableUser(t);
    const approved = await approvedAttempt(t, user, phone);
    for (let i = 0; i < THRESHOLD - 1; i++) await failOnce(t, user, phone);
    const last = await started(t, user.userPrincipalName);
    const lastChallenge = await onlyChallenge(t, phone);
    // Another request still waiting on the phone when the lock begins.
    const waiting = await unpublishedAttempt(t, { tenantId: tenant.tenantId, userId: user.userId });
    await respond(t, phone, lastChallenge, { number: wrongNumber(last.number) });
    expect((await userRow(t, user.userId)).lockedUntil).not.toBeNull();

    expect((await complete(t, approved)).data.completeSignIn).toMatchObject({ code: 'SIGN_IN_NOT_APPROVED' });
    expect((await attemptQuery(t, approved)).data.signInAttempt).toMatchObject({ status: 'CANCELLED', failureReason: 'LOCKED_OUT' });
    const [ended] = await t.server.app.db.select().from(signInAttempts).where(eq(signInAttempts.id, waiting.id));
    expect(ended).toMatchObject({ status: 'CANCELLED', failureReason: 'LOCKED_OUT' });
    const logs = await signInLogsOf(t, { userId: user.userId });
    expect(logs.find((row) => row.attemptId === approved.attemptId)).toMatchObject({ status: 'FAILURE', reasonCode: 'LOCKED_OUT' });
    expect(await begin(t, user.userPrincipalName)).toEqual({ __typename: 'PasswordRequired', reason: 'PASSWORD_REQUIRED' });
  });
});

describe('a fraud report', () => {
  // Attack: the attacker's sign-in, approved by mistake, is redeemed after the user reports the next one.
  it('cancels an approved, unredeemed attempt of the user too', async () => {
    const { user, phone } = await phoneUser(t);
    const approved = await approvedAttempt(t, user, phone);
    const reported = await started(t, user.userPrincipalName);
    const report = await respond(t, phone, await onlyChallenge(t, phone), { decision: 'report', number: '' });
    expect(report.data.respondToPhoneSignInChallenge).toMatchObject({ status: 'DENIED', failureReason: 'FRAUD_REPORTED' });

    expect((await complete(t, approved)).data.completeSignIn).toMatchObject({ code: 'SIGN_IN_NOT_APPROVED' });
    expect((await attemptQuery(t, approved)).data.signInAttempt).toMatchObject({ status: 'CANCELLED', failureReason: 'SUPERSEDED_BY_FRAUD_REPORT' });
    expect((await attemptQuery(t, reported)).data.signInAttempt.status).toBe('DENIED');
  });
});

describe('replays', () => {
  // Attack: none; an app that retries a lost answer must learn the outcome, however late the retry.
  it('answers an exact replay of the accepted response with the stored outcome, whatever its age', async () => {
    const { user, phone } = await phoneUser(t);
    const attempt = await started(t, user.userPrincipalName);
    const challenge = await onlyChallenge(t, phone);
    const accepted = await signResponse(t, phone, challenge, { number: attempt.number });
    expect((await sendResponse(t, phone, accepted)).data.respondToPhoneSignInChallenge.status).toBe('APPROVED');
    expect((await complete(t, attempt)).data.completeSignIn.__typename).toBe('SignInSuccess');

    t.clock.advance(3600);
    expect((await sendResponse(t, phone, accepted)).data.respondToPhoneSignInChallenge).toMatchObject({ status: 'COMPLETED' });

    const denied = await started(t, user.userPrincipalName);
    const deniedChallenge = await onlyChallenge(t, phone);
    const declined = await signResponse(t, phone, deniedChallenge, { decision: 'deny', number: '' });
    expect((await sendResponse(t, phone, declined)).data.respondToPhoneSignInChallenge.status).toBe('DENIED');
    t.clock.advance(61);
    expect((await sendResponse(t, phone, declined)).data.respondToPhoneSignInChallenge).toMatchObject({ status: 'DENIED', failureReason: 'USER_DECLINED' });
    expect((await attemptQuery(t, denied)).data.signInAttempt.status).toBe('DENIED');
  });

  // Attack: a stale response that was never accepted passed off as a replay to get past the freshness check.
  it('still refuses a new stale response to an answered challenge', async () => {
    const { user, phone } = await phoneUser(t);
    const attempt = await started(t, user.userPrincipalName);
    const challenge = await onlyChallenge(t, phone);
    const signedAt = t.clock.now();
    // Signed together with the accepted one, but another answer: never accepted.
    const otherAnswer = await signResponse(t, phone, challenge, { decision: 'deny', number: '', now: signedAt });
    const otherUv = await signResponse(t, phone, challenge, { number: attempt.number, uv: 'face', now: signedAt });
    expect((await respond(t, phone, challenge, { number: attempt.number })).data.respondToPhoneSignInChallenge.status).toBe('APPROVED');

    t.clock.advance(61);
    expect(answerCode(await sendResponse(t, phone, otherAnswer))).toBe('CHALLENGE_RESPONSE_STALE');
    expect(answerCode(await sendResponse(t, phone, otherUv))).toBe('CHALLENGE_RESPONSE_STALE');
    // The same answer, signed after the challenge was answered: new, so stale once old.
    const later = await signResponse(t, phone, challenge, { number: attempt.number });
    t.clock.advance(61);
    expect(answerCode(await sendResponse(t, phone, later))).toBe('CHALLENGE_RESPONSE_STALE');
  });
});

describe('requests kept from the phone', () => {
  const SUPPRESSED = 'at kind reason appName ipAddress location';

  // Attack: push bombing past the rate limit, unseen by the user, whose phone simply stays quiet.
  it('tells the user and their authenticator of requests the rate limit held back, and the browser nothing new', async () => {
    const { tenant, user, phone } = await phoneUser(t);
    const { user: other } = await phoneUser(t, tenant);
    await setSettings(t, tenant.tenantId, { pushRateLimit: { maxPushes: 1, windowMinutes: 10 } });
    await started(t, user.userPrincipalName, 'Contoso Mail');
    await respond(t, phone, await onlyChallenge(t, phone), { decision: 'deny', number: '' });
    // The browser is told what it is told for a name with no account.
    expect(await begin(t, user.userPrincipalName, 'Fabrikam Portal')).toEqual({ __typename: 'PasswordRequired', reason: 'PASSWORD_REQUIRED' });
    expect(await begin(t, `nobody.${Date.now()}@${tenant.domain}`)).toEqual({ __typename: 'PasswordRequired', reason: 'PASSWORD_REQUIRED' });

    const held = { kind: 'PHONE_SIGN_IN', reason: 'RATE_LIMITED', appName: 'Fabrikam Portal', at: t.clock.now().toISOString() };
    const viewer = await t.gql(`{ viewer { suppressedSignInRequests { ${SUPPRESSED} } } }`, {}, user.token);
    expect(viewer.data.viewer.suppressedSignInRequests).toMatchObject([held]);
    const onPhone = await t.gql(`{ suppressedPhoneSignInRequests { ${SUPPRESSED} } }`, {}, await deviceAuthorization(t, phone));
    expect(onPhone.data.suppressedPhoneSignInRequests).toMatchObject([held]);

    // Nobody else's view shows them: another user of the tenant reads an empty list of their own.
    expect((await t.gql(`{ viewer { suppressedSignInRequests { at } } }`, {}, other.token)).data.viewer.suppressedSignInRequests).toEqual([]);
    expect((await t.gql(`{ suppressedPhoneSignInRequests { at } }`, {}, user.token)).errors?.[0]?.extensions?.code).toBe('FORBIDDEN');

    // A day later they have aged out (the old access token too).
    t.clock.advance(24 * 3600 + 1);
    const token = await signIn(t, user.userPrincipalName, user.password);
    expect((await t.gql(`{ viewer { suppressedSignInRequests { at } } }`, {}, token)).data.viewer.suppressedSignInRequests).toEqual([]);
  });
});
