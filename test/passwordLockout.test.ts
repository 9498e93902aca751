import { describe, expect, it } from 'vitest';
import { addUser } from './authenticatorClient.js';
import { createTenant } from './harness.js';
import {
  auditOf,
  begin,
  complete,
  follow,
  onlyChallenge,
  passwordSignIn,
  phoneUser,
  respond,
  serverPerFile,
  setSettings,
  signInLogsOf,
  started,
  userRow,
} from './signInFlow.js';

const t = serverPerFile();

const ALERTS = 'subscription { securityAlerts { id kind userId details } }';
const WRONG = 'not the password!';
const THRESHOLD = 3;
/** What a wrong password gets over HTTP: status, data and errors, compared whole. */
const WRONG_ANSWER = {
  status: 200,
  data: { signInWithPassword: { __typename: 'DomainError', code: 'INVALID_CREDENTIALS', message: 'The user name or password is incorrect. Check both and try again.', field: null } },
};
const at = (seconds: number) => new Date(t.clock.now().getTime() + seconds * 1000);

async function lockableUser() {
  const tenant = await createTenant(t);
  await setSettings(t, tenant.tenantId, { failureLockoutThreshold: THRESHOLD });
  return { tenant, user: await addUser(t, tenant) };
}

describe('password lockout (NIST SP 800-63B rev 4 throttling, Entra smart lockout)', () => {
  // Attack: online password guessing, trying password after password against one account over the API.
  it('locks at the threshold and refuses even the right password exactly as a wrong one, doubling from 60 s', async () => {
    const { tenant, user } = await lockableUser();
    const admin = follow(t.ws(tenant.adminToken), ALERTS);
    const guess = (password: string) => passwordSignIn(t, user.userPrincipalName, password);

    expect(await guess(WRONG)).toEqual(WRONG_ANSWER);
    expect(await guess(WRONG)).toEqual(WRONG_ANSWER);
    expect(await userRow(t, user.userId)).toMatchObject({ failedPasswordSignIns: 2, passwordLockedUntil: null, passwordLockouts: 0 });
    expect(await guess(WRONG)).toEqual(WRONG_ANSWER);
    expect(await userRow(t, user.userId)).toMatchObject({ failedPasswordSignIns: 3, passwordLockedUntil: at(60), passwordLockouts: 1 });
    expect(await admin.next()).toMatchObject({
      data: { securityAlerts: { kind: 'LOCKED_OUT', userId: user.userId, details: { userPrincipalName: user.userPrincipalName, lock: 'PASSWORD', failedSignIns: 3, lockedUntil: at(60).toISOString() } } },
    });

    // Locked: the right password is not checked, and its answer tells nothing, not even that the account exists.
    expect(await guess(user.password)).toEqual(WRONG_ANSWER);
    expect(await passwordSignIn(t, `nobody@${tenant.domain}`, user.password)).toEqual(WRONG_ANSWER);
    expect((await signInLogsOf(t, { userId: user.userId })).at(-1)).toMatchObject({ method: 'PASSWORD', status: 'FAILURE', reasonCode: 'PASSWORD_LOCKED_OUT' });
    const audits = (await auditOf(t, 'signIn.password', user.userId)).sort((a, b) => Number(a.id) - Number(b.id));
    expect(audits.map((a) => a.reasonCode)).toEqual([null, 'INVALID_PASSWORD', 'INVALID_PASSWORD', 'INVALID_PASSWORD', 'PASSWORD_LOCKED_OUT']);
    // Refusals while locked are not failures: nothing was checked, and the lock does not grow.
    expect(await userRow(t, user.userId)).toMatchObject({ failedPasswordSignIns: 3, passwordLockedUntil: at(60) });

    t.clock.advance(59);
    expect(await guess(user.password)).toEqual(WRONG_ANSWER);
    t.clock.advance(1);
    // The lock ended, the count did not: one more wrong password locks for twice as long.
    expect(await guess(WRONG)).toEqual(WRONG_ANSWER);
    expect(await userRow(t, user.userId)).toMatchObject({ failedPasswordSignIns: 4, passwordLockedUntil: at(120), passwordLockouts: 2 });
    expect(await admin.next()).toMatchObject({ data: { securityAlerts: { kind: 'LOCKED_OUT', details: { lock: 'PASSWORD', failedSignIns: 4 } } } });
    t.clock.advance(119);
    expect(await guess(user.password)).toEqual(WRONG_ANSWER);
    t.clock.advance(1);

    expect((await guess(user.password)).data.signInWithPassword.__typename).toBe('SignInSuccess');
    expect(await userRow(t, user.userId)).toMatchObject({ failedPasswordSignIns: 0, passwordLockedUntil: null, passwordLockouts: 0 });
    expect((await signInLogsOf(t, { userId: user.userId })).at(-1)).toMatchObject({ method: 'PASSWORD', status: 'SUCCESS', reasonCode: null });
    // A fresh count: the threshold's worth of wrong passwords again before the next lock.
    await guess(WRONG);
    await guess(WRONG);
    expect((await guess(user.password)).data.signInWithPassword.__typename).toBe('SignInSuccess');
    await admin.close();
  });

  it('keeps wrong passwords from locking phone sign-in, and wrong numbers from locking the password', async () => {
    const { tenant, user, phone } = await phoneUser(t);
    await setSettings(t, tenant.tenantId, { failureLockoutThreshold: THRESHOLD, pushRateLimit: { maxPushes: 100, windowMinutes: 10 } });
    for (let i = 0; i < THRESHOLD; i++) await passwordSignIn(t, user.userPrincipalName, WRONG);
    expect(await userRow(t, user.userId)).toMatchObject({ failedPasswordSignIns: THRESHOLD, passwordLockedUntil: at(60), failedSignIns: 0, lockedUntil: null });
    const attempt = await started(t, user.userPrincipalName);
    await respond(t, phone, await onlyChallenge(t, phone), { number: attempt.number });
    expect((await complete(t, attempt)).data.completeSignIn.__typename).toBe('SignInSuccess');
    // A phone sign-in is not a correct password: the password stays locked.
    expect(await passwordSignIn(t, user.userPrincipalName, user.password)).toEqual(WRONG_ANSWER);

    const other = await phoneUser(t, tenant);
    for (let i = 0; i < THRESHOLD; i++) {
      await started(t, other.user.userPrincipalName);
      await respond(t, other.phone, await onlyChallenge(t, other.phone), { decision: 'deny', number: '' });
    }
    expect(await begin(t, other.user.userPrincipalName)).toEqual({ __typename: 'PasswordRequired', reason: 'PASSWORD_REQUIRED' });
    expect(await userRow(t, other.user.userId)).toMatchObject({ failedSignIns: THRESHOLD, lockedUntil: at(60), failedPasswordSignIns: 0, passwordLockedUntil: null });
    expect((await passwordSignIn(t, other.user.userPrincipalName, other.user.password)).data.signInWithPassword.__typename).toBe('SignInSuccess');
  });

  it('shows the lock to the user and their admins, and resetUserSignInProtection clears it', async () => {
    const { tenant, user } = await lockableUser();
    const otherTenant = await createTenant(t);
    const FIELDS = 'passwordLockedUntil phoneSignInLockedUntil';
    const viewer = async () => (await t.gql(`{ viewer { ${FIELDS} } }`, {}, user.token)).data.viewer;
    const asAdmin = (token: string) => t.gql(`query($id: ID!) { user(id: $id) { ${FIELDS} } }`, { id: user.userId }, token);
    expect(await viewer()).toEqual({ passwordLockedUntil: null, phoneSignInLockedUntil: null });

    for (let i = 0; i < THRESHOLD; i++) await passwordSignIn(t, user.userPrincipalName, WRONG);
    const locked = { passwordLockedUntil: at(60).toISOString(), phoneSignInLockedUntil: null };
    expect(await viewer()).toEqual(locked);
    expect((await asAdmin(tenant.adminToken)).data.user).toEqual(locked);
    expect((await asAdmin(otherTenant.adminToken)).errors?.[0]?.extensions?.code).toBe('NOT_FOUND');

    const reset = await t.gql(
      `mutation($id: ID!) { resetUserSignInProtection(userId: $id) { __typename ... on User { ${FIELDS} } ... on Error { code } } }`,
      { id: user.userId },
      tenant.adminToken,
    );
    expect(reset.data.resetUserSignInProtection).toEqual({ __typename: 'User', passwordLockedUntil: null, phoneSignInLockedUntil: null });
    expect(await userRow(t, user.userId)).toMatchObject({ failedPasswordSignIns: 0, passwordLockedUntil: null, passwordLockouts: 0 });
    const [audit] = await auditOf(t, 'user.resetSignInProtection', user.userId);
    expect(audit!.before).toMatchObject({ failedPasswordSignIns: THRESHOLD, passwordLockouts: 1 });
    expect(audit!.after).toMatchObject({ failedPasswordSignIns: 0, passwordLockedUntil: null, passwordLockouts: 0 });
    expect((await passwordSignIn(t, user.userPrincipalName, user.password)).data.signInWithPassword.__typename).toBe('SignInSuccess');

    const fields = (await t.gql('{ __type(name: "User") { fields { name description } } }')).data.__type.fields;
    expect(fields.find((f: { name: string }) => f.name === 'passwordLockedUntil')?.description).toContain('resetUserSignInProtection');
  });
});
