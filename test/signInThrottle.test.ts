import { and, asc, eq } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { auditLogs, signInAttempts } from '../src/db/schema.js';
import { addUser, deviceAuthorization } from './authenticatorClient.js';
import { adminSession, createTenant } from './harness.js';
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

    // The other tenant's admin saw none of it: their socket ended with its token, an hour on, with
    // no alert, and the first alert a new one gets is their own.
    await expect(otherAdmin.next()).rejects.toMatchObject({ code: 4401 });
    const otherAdminAgain = follow(t.ws(await adminSession(t, { tenantId: otherTenant.tenantId, userId: otherTenant.adminId })), ALERTS);
    const { user: theirs, phone: theirPhone } = await phoneUser(t, otherTenant);
    const theirAttempt = await started(t, theirs.userPrincipalName);
    await respond(t, theirPhone, await onlyChallenge(t, theirPhone), { decision: 'report', number: '' });
    expect(await otherAdminAgain.next()).toMatchObject({ data: { securityAlerts: { kind: 'FRAUD_REPORTED', userId: theirs.userId, attemptId: theirAttempt.attemptId } } });
    expect((await attemptQuery(t, theirAttempt)).data.signInAttempt.status).toBe('DENIED');
  });

  it('keeps security alerts to admins', async () => {
    const tenant = await createTenant(t);
    const user = await addUser(t, tenant);
    const refused = follow(t.ws(user.token), ALERTS);
    expect(await refused.next()).toMatchObject({ errors: [{ extensions: { code: 'FORBIDDEN' } }] });
  });
});

describe('seeing and clearing sign-in protection', () => {
  const PROTECTION = 'riskLevel pushMutedUntil phoneSignInLockedUntil';
  const viewer = async (token: string) => (await t.gql(`{ viewer { ${PROTECTION} } }`, {}, token)).data.viewer;
  const asAdmin = async (token: string, id: string) => t.gql(`query($id: ID!) { user(id: $id) { ${PROTECTION} } }`, { id }, token);
  const reset = (token: string, userId: string) =>
    t.gql(`mutation($id: ID!) { resetUserSignInProtection(userId: $id) { __typename ... on User { id ${PROTECTION} } ... on Error { code } } }`, { id: userId }, token);
  const at = (seconds: number) => new Date(t.clock.now().getTime() + seconds * 1000).toISOString();

  it('shows risk, mute and lockout to the user and their admins while in force, and an admin clears them', async () => {
    const { tenant, user, phone } = await phoneUser(t);
    const otherTenant = await createTenant(t);
    await setSettings(t, tenant.tenantId, { failureLockoutThreshold: 3, fraudMuteMinutes: 30 });
    const clear = { riskLevel: 'NONE', pushMutedUntil: null, phoneSignInLockedUntil: null };
    expect(await viewer(user.token)).toEqual(clear);

    for (const decision of ['deny', 'deny', 'report'] as const) {
      await started(t, user.userPrincipalName);
      await respond(t, phone, await onlyChallenge(t, phone), { decision, number: '' });
    }
    // The third failure locks phone sign-in for 60 s; the report also mutes pushes for fraudMuteMinutes.
    const protectedNow = { riskLevel: 'HIGH', pushMutedUntil: at(30 * 60), phoneSignInLockedUntil: at(60) };
    expect(await viewer(user.token)).toEqual(protectedNow);
    expect((await asAdmin(tenant.adminToken, user.userId)).data.user).toEqual(protectedNow);
    expect((await asAdmin(otherTenant.adminToken, user.userId)).errors?.[0]?.extensions?.code).toBe('NOT_FOUND');

    // Times that have passed are no longer in force; the risk stays until an admin clears it.
    t.clock.advance(60);
    expect(await viewer(user.token)).toEqual({ ...protectedNow, phoneSignInLockedUntil: null });
    expect(await begin(t, user.userPrincipalName)).toEqual(REFUSED);

    // Attack: an admin of another tenant clearing this user's protection.
    expect((await reset(otherTenant.adminToken, user.userId)).data.resetUserSignInProtection).toEqual({ __typename: 'DomainError', code: 'NOT_FOUND' });
    expect((await reset(user.token, user.userId)).errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    expect((await userRow(t, user.userId)).riskLevel).toBe('HIGH');

    const cleared = await reset(tenant.adminToken, user.userId);
    expect(cleared.data.resetUserSignInProtection).toEqual({ __typename: 'User', id: user.userId, ...clear });
    expect(await userRow(t, user.userId)).toMatchObject({ riskLevel: 'NONE', pushMutedUntil: null, lockedUntil: null, failedSignIns: 0, lockouts: 0 });
    expect(await started(t, user.userPrincipalName)).toHaveProperty('attemptId');

    const audits = await t.server.app.db.select().from(auditLogs).where(and(eq(auditLogs.action, 'user.resetSignInProtection'), eq(auditLogs.targetId, user.userId))).orderBy(asc(auditLogs.id));
    expect(audits.map((a) => ({ tenantId: a.tenantId, actorId: a.actorId, result: a.result, reasonCode: a.reasonCode }))).toEqual([
      { tenantId: otherTenant.tenantId, actorId: otherTenant.adminId, result: 'FAILURE', reasonCode: 'NOT_FOUND' },
      { tenantId: tenant.tenantId, actorId: tenant.adminId, result: 'SUCCESS', reasonCode: null },
    ]);
    expect(audits[1]!.before).toMatchObject({ riskLevel: 'HIGH', failedSignIns: 3, lockouts: 1 });
    expect(audits[1]!.after).toMatchObject({ riskLevel: 'NONE', pushMutedUntil: null, lockedUntil: null, failedSignIns: 0, lockouts: 0 });
  });

  it('tells the reader of each field how it ends', async () => {
    const fields = (await t.gql('{ __type(name: "User") { fields { name description } } }')).data.__type.fields;
    for (const name of ['riskLevel', 'pushMutedUntil', 'phoneSignInLockedUntil']) {
      expect(fields.find((f: any) => f.name === name)?.description, name).toContain('resetUserSignInProtection');
    }
  });
});
