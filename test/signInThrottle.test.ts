import { eq } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { signInAttempts } from '../src/db/schema.js';
import { addUser, deviceAuthorization } from './authenticatorClient.js';
import { createTenant } from './harness.js';
import {
  attemptQuery,
  begin,
  cancel,
  complete,
  follow,
  onlyChallenge,
  phoneUser,
  respond,
  serverPerFile,
  setSettings,
  signInLogsOf,
  started,
  unpublishedAttempt,
  userRow,
  watchAttempt,
} from './signInFlow.js';

const t = serverPerFile();

const ALERTS = 'subscription { securityAlerts { id kind userId attemptId details createdAt } }';
const REFUSED = { __typename: 'PasswordRequired', reason: 'PASSWORD_REQUIRED' };
const wrongNumber = (number: string) => String(((Number(number) - 10 + 1) % 90) + 10);

describe('anti-fatigue throttling (NIST SP 800-63B rev 4)', () => {
  // Attack: guessing the number (or push bombing until the user gives in) over many attempts.
  it('locks phone sign-in at the threshold, doubling from 60 s, and a success resets it', async () => {
    const { tenant, user, phone } = await phoneUser(t);
    await setSettings(t, tenant.tenantId, { failureLockoutThreshold: 3, pushRateLimit: { maxPushes: 100, windowMinutes: 10 } });
    const admin = follow(t.ws(tenant.adminToken), ALERTS);
    const fail = async () => {
      const attempt = await started(t, user.userPrincipalName);
      await respond(t, phone, await onlyChallenge(t, phone), { number: wrongNumber(attempt.number) });
    };
    await fail();
    await fail();
    expect((await userRow(t, user.userId)).failedSignIns).toBe(2);
    await fail();
    expect(await begin(t, user.userPrincipalName)).toEqual(REFUSED);
    expect((await signInLogsOf(t, { userId: user.userId })).at(-1)).toMatchObject({ status: 'INTERRUPTED', reasonCode: 'LOCKED_OUT' });
    const alert = await admin.next();
    expect(alert).toMatchObject({ data: { securityAlerts: { kind: 'LOCKED_OUT', userId: user.userId, details: { failedSignIns: 3 } } } });

    t.clock.advance(59);
    expect(await begin(t, user.userPrincipalName)).toEqual(REFUSED);
    t.clock.advance(1);
    // The lockout ended, the count did not: one more failure locks for twice as long.
    await fail();
    t.clock.advance(119);
    expect(await begin(t, user.userPrincipalName)).toEqual(REFUSED);
    t.clock.advance(1);
    const attempt = await started(t, user.userPrincipalName);
    await respond(t, phone, await onlyChallenge(t, phone), { number: attempt.number });
    expect((await complete(t, attempt)).data.completeSignIn.__typename).toBe('SignInSuccess');
    expect(await userRow(t, user.userId)).toMatchObject({ failedSignIns: 0, lockedUntil: null, lockouts: 0 });
  });

  it('sends at most pushRateLimit pushes in the window since the last success', async () => {
    const { tenant, user, phone } = await phoneUser(t);
    await setSettings(t, tenant.tenantId, { pushRateLimit: { maxPushes: 2, windowMinutes: 10 } });
    await cancel(t, await started(t, user.userPrincipalName));
    await cancel(t, await started(t, user.userPrincipalName));
    expect(await begin(t, user.userPrincipalName)).toEqual(REFUSED);
    expect((await signInLogsOf(t, { userId: user.userId })).at(-1)).toMatchObject({ reasonCode: 'RATE_LIMITED' });
    t.clock.advance(600);
    const attempt = await started(t, user.userPrincipalName);
    await respond(t, phone, await onlyChallenge(t, phone), { number: attempt.number });
    await complete(t, attempt);
    // A success opens a new budget at once (pushes are counted from the instant after it).
    t.clock.advance(1);
    await cancel(t, await started(t, user.userPrincipalName));
    await cancel(t, await started(t, user.userPrincipalName));
    expect(await begin(t, user.userPrincipalName)).toEqual(REFUSED);
  });
});

describe('"this wasn\'t me"', () => {
  it('denies, raises the user risk, mutes pushes, cancels other attempts and alerts the admins live', async () => {
    const { tenant, user, phone } = await phoneUser(t);
    const otherTenant = await createTenant(t);
    const admin = follow(t.ws(tenant.adminToken), ALERTS);
    const otherAdmin = follow(t.ws(otherTenant.adminToken), ALERTS);
    const attempt = await started(t, user.userPrincipalName, 'Contoso Payroll');
    // An older attempt still pending (say, from before a deploy), to be cancelled with it.
    const older = await unpublishedAttempt(t, { tenantId: tenant.tenantId, userId: user.userId });
    const browser = watchAttempt(t, attempt);
    expect(await browser.next()).toMatchObject({ data: { signInAttempt: { status: 'PENDING' } } });
    const challenge = (await t.gql(`{ pendingPhoneSignInChallenges { id nonce } }`, {}, await deviceAuthorization(t, phone))).data.pendingPhoneSignInChallenges.find(
      (c: { id: string }) => c.id === attempt.attemptId,
    );

    const reported = await respond(t, phone, challenge, { decision: 'report', number: '', uv: 'pin' });
    expect(reported.data.respondToPhoneSignInChallenge).toMatchObject({ status: 'DENIED', failureReason: 'FRAUD_REPORTED' });
    expect(await browser.next()).toMatchObject({ data: { signInAttempt: { status: 'DENIED', failureReason: 'FRAUD_REPORTED' } } });
    const [cancelled] = await t.server.app.db.select().from(signInAttempts).where(eq(signInAttempts.id, older.id));
    expect(cancelled).toMatchObject({ status: 'CANCELLED', failureReason: 'SUPERSEDED_BY_FRAUD_REPORT' });
    const row = await userRow(t, user.userId);
    expect(row.riskLevel).toBe('HIGH');
    expect(row.pushMutedUntil?.getTime()).toBe(t.clock.now().getTime() + 60 * 60_000);

    expect(await admin.next()).toMatchObject({
      data: {
        securityAlerts: {
          kind: 'FRAUD_REPORTED',
          userId: user.userId,
          attemptId: attempt.attemptId,
          details: { userPrincipalName: user.userPrincipalName, appName: 'Contoso Payroll', ipAddress: '127.0.0.1', deviceId: phone.deviceId },
        },
      },
    });

    expect(await begin(t, user.userPrincipalName)).toEqual(REFUSED);
    expect((await signInLogsOf(t, { userId: user.userId })).at(-1)).toMatchObject({ reasonCode: 'PUSH_MUTED' });
    t.clock.advance(3600);
    expect(await started(t, user.userPrincipalName)).toHaveProperty('attemptId');

    // The other tenant's admin saw none of it: the first alert they get is their own.
    const { user: theirs, phone: theirPhone } = await phoneUser(t, otherTenant);
    const theirAttempt = await started(t, theirs.userPrincipalName);
    await respond(t, theirPhone, await onlyChallenge(t, theirPhone), { decision: 'report', number: '' });
    expect(await otherAdmin.next()).toMatchObject({ data: { securityAlerts: { kind: 'FRAUD_REPORTED', userId: theirs.userId, attemptId: theirAttempt.attemptId } } });
    expect((await attemptQuery(t, theirAttempt)).data.signInAttempt.status).toBe('DENIED');
  });

  it('keeps security alerts to admins', async () => {
    const tenant = await createTenant(t);
    const user = await addUser(t, tenant);
    const refused = follow(t.ws(user.token), ALERTS);
    expect(await refused.next()).toMatchObject({ errors: [{ extensions: { code: 'FORBIDDEN' } }] });
  });
});
