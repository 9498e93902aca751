import { createRemoteJWKSet, jwtVerify } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTenant, startTestServer, type TestServer } from './harness.js';

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer();
});
afterAll(() => t.stop());

const ERR = '... on Error { code message } ... on DomainError { field } ... on InputValidationError { issues { path message } }';

const issue = (token: string, input: Record<string, unknown>) =>
  t.gql(
    `mutation($input: CreateTemporaryAccessPassInput!) { createTemporaryAccessPass(input: $input) { __typename ... on TemporaryAccessPass { id userId pass expiresAt isUsableOnce } ${ERR} } }`,
    { input },
    token,
  );
const redeem = (userPrincipalName: string, pass: string) =>
  t.gql(
    `mutation($input: SignInWithTemporaryAccessPassInput!) { signInWithTemporaryAccessPass(input: $input) { __typename ... on SignInSuccess { accessToken expiresAt } ${ERR} } }`,
    { input: { userPrincipalName, pass } },
  );

async function tenantWithUser() {
  const tenant = await createTenant(t);
  const userPrincipalName = `new.hire@${tenant.domain}`;
  const created = await t.gql(
    `mutation($i: CreateUserInput!) { createUser(input: $i) { ... on User { id } } }`,
    { i: { userPrincipalName, displayName: 'New Hire' } },
    tenant.adminToken,
  );
  return { ...tenant, userId: created.data.createUser.id as string, userPrincipalName };
}

describe('Temporary Access Pass', () => {
  it('issues a high-entropy pass, shown once, that signs the user in once with amr otp', async () => {
    const d = await tenantWithUser();
    const created = await issue(d.adminToken, { userId: d.userId });
    const tap = created.data.createTemporaryAccessPass;
    expect(tap).toMatchObject({ __typename: 'TemporaryAccessPass', userId: d.userId, isUsableOnce: true });
    expect(tap.pass).toMatch(/^[A-Za-z0-9_-]{22,}$/);
    expect(new Date(tap.expiresAt).getTime() - t.clock.now().getTime()).toBe(60 * 60 * 1000);

    const first = await redeem(d.userPrincipalName, tap.pass);
    const { payload } = await jwtVerify(first.data.signInWithTemporaryAccessPass.accessToken, createRemoteJWKSet(new URL(`${t.url}/.well-known/jwks.json`)), {
      issuer: t.url,
      audience: t.url,
      currentDate: t.clock.now(),
    });
    expect(payload).toMatchObject({ sub: d.userId, tid: d.tenantId, amr: ['otp'] });

    // Attack: replaying a single-use pass (e.g. read over a shoulder after use).
    const replay = await redeem(d.userPrincipalName, tap.pass);
    expect(replay.data.signInWithTemporaryAccessPass).toMatchObject({ __typename: 'DomainError', code: 'TEMPORARY_ACCESS_PASS_INVALID' });
  });

  it('lets only one of many concurrent redemptions of a single-use pass through', async () => {
    // Attack: racing the same single-use pass from several browsers to get several sessions.
    const d = await tenantWithUser();
    const { pass } = (await issue(d.adminToken, { userId: d.userId })).data.createTemporaryAccessPass;
    const results = await Promise.all(Array.from({ length: 8 }, () => redeem(d.userPrincipalName, pass)));
    const winners = results.filter((r) => r.data.signInWithTemporaryAccessPass.__typename === 'SignInSuccess');
    expect(winners).toHaveLength(1);
    expect(results.filter((r) => r.data.signInWithTemporaryAccessPass.code === 'TEMPORARY_ACCESS_PASS_INVALID')).toHaveLength(7);
  });

  it('answers wrong, expired, used, foreign-user and unknown-user passes alike', async () => {
    const d = await tenantWithUser();
    const other = await tenantWithUser();
    const reusable = (await issue(d.adminToken, { userId: d.userId, lifetimeMinutes: 10, isUsableOnce: false })).data.createTemporaryAccessPass;
    expect(reusable.isUsableOnce).toBe(false);
    expect((await redeem(d.userPrincipalName, reusable.pass)).data.signInWithTemporaryAccessPass.__typename).toBe('SignInSuccess');
    expect((await redeem(d.userPrincipalName, reusable.pass)).data.signInWithTemporaryAccessPass.__typename).toBe('SignInSuccess');

    const answers = [
      await redeem(d.userPrincipalName, 'wrong-pass-wrong-pass'),
      // Attack: using one user's pass to sign in as another.
      await redeem(other.userPrincipalName, reusable.pass),
      await redeem(`nobody@${d.domain}`, reusable.pass),
    ];
    t.clock.advance(10 * 60);
    answers.push(await redeem(d.userPrincipalName, reusable.pass));
    for (const answer of answers) {
      expect(answer.data.signInWithTemporaryAccessPass).toEqual({
        __typename: 'DomainError',
        code: 'TEMPORARY_ACCESS_PASS_INVALID',
        message: answers[0]!.data.signInWithTemporaryAccessPass.message,
        field: null,
      });
    }
  });

  it('replaces an earlier pass, refuses disabled users, and validates its input', async () => {
    const d = await tenantWithUser();
    const other = await tenantWithUser();
    const old = (await issue(d.adminToken, { userId: d.userId })).data.createTemporaryAccessPass.pass;
    const current = (await issue(d.adminToken, { userId: d.userId, lifetimeMinutes: 480 })).data.createTemporaryAccessPass.pass;
    expect((await redeem(d.userPrincipalName, old)).data.signInWithTemporaryAccessPass.code).toBe('TEMPORARY_ACCESS_PASS_INVALID');

    await t.gql(`mutation($i: UpdateUserInput!) { updateUser(input: $i) { __typename } }`, { i: { id: d.userId, disabled: true } }, d.adminToken);
    expect((await redeem(d.userPrincipalName, current)).data.signInWithTemporaryAccessPass.code).toBe('TEMPORARY_ACCESS_PASS_INVALID');
    expect((await issue(d.adminToken, { userId: d.userId })).data.createTemporaryAccessPass).toMatchObject({ code: 'ACCOUNT_DISABLED', field: 'userId' });

    for (const lifetimeMinutes of [9, 481]) {
      const refused = await issue(d.adminToken, { userId: other.userId, lifetimeMinutes });
      expect(refused.data.createTemporaryAccessPass).toMatchObject({ __typename: 'InputValidationError', code: 'INVALID_INPUT' });
      expect(refused.data.createTemporaryAccessPass.issues[0].path).toEqual(['input', 'lifetimeMinutes']);
    }
    // Attack: an admin issuing a pass for another tenant's user to sign in as them.
    const foreign = await issue(d.adminToken, { userId: other.userId });
    expect(foreign.data.createTemporaryAccessPass).toMatchObject({ __typename: 'DomainError', code: 'NOT_FOUND', field: 'userId' });
    const oversized = await redeem(other.userPrincipalName, 'p'.repeat(257));
    expect(oversized.data.signInWithTemporaryAccessPass.issues[0].path).toEqual(['input', 'pass']);
    const audit = await t.gql(`query($id: String) { auditLogs(filter: { targetId: $id, action: "temporaryAccessPass.create" }) { edges { node { id } } } }`, { id: other.userId }, other.adminToken);
    expect(audit.data.auditLogs.edges).toEqual([]);
  });
});
