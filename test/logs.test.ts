import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signInLogs } from '../src/db/schema.js';
import {
  CREDENTIAL_FAILURE_REASONS,
  FAILURE_REASONS,
  REFUSAL_REASONS,
  SIGN_IN_LOG_REASON_DESCRIPTIONS,
  SIGN_IN_LOG_STATUSES,
  SIGN_IN_METHODS,
} from '../src/domain/signInAttempt.js';
import { addUser, allowPhoneSignIn } from './authenticatorClient.js';
import { createTenant, startTestServer, type TestServer } from './harness.js';
import { begin, passwordSignIn } from './signInFlow.js';

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer();
});
afterAll(() => t.stop());

const AUDIT = 'edges { cursor node { id action actorType actorId targetType targetId result reasonCode before after createdAt } } pageInfo { hasNextPage hasPreviousPage endCursor }';
const SIGN_INS = 'edges { node { id userId userPrincipalName user { id } method status reasonCode ipAddress appName location device { id } numberStyle createdAt updatedAt } }';

const audit = (token: string, vars: Record<string, unknown> = {}) =>
  t.gql(`query($filter: AuditLogFilter, $first: Int, $after: String, $last: Int) { auditLogs(filter: $filter, first: $first, after: $after, last: $last) { ${AUDIT} } }`, vars, token);
const signIns = (token: string, filter: Record<string, unknown> = {}) =>
  t.gql(`query($filter: SignInLogFilter) { signInLogs(filter: $filter) { ${SIGN_INS} } }`, { filter }, token);

describe('audit log', () => {
  it('records every admin change with who, when, what, before and after, newest first', async () => {
    const { adminToken, adminId, domain, tenantId } = await createTenant(t);
    const other = await createTenant(t);
    const created = await t.gql(
      `mutation($i: CreateUserInput!) { createUser(input: $i) { ... on User { id } } }`,
      { i: { userPrincipalName: `audited@${domain}`, displayName: 'Audited', password: 'secret password 1' } },
      adminToken,
    );
    const userId = created.data.createUser.id;
    await t.gql(`mutation($i: UpdateUserInput!) { updateUser(input: $i) { __typename } }`, { i: { id: userId, displayName: 'Renamed', password: 'secret password 2' } }, adminToken);
    await t.gql(`mutation { updateTenantSettings(input: { challengeLifetimeSeconds: 90 }) { __typename } }`, {}, adminToken);
    await t.gql(`mutation { setLegacyPhoneSignInPolicy(enabled: true) { __typename } }`, {}, adminToken);

    const all = (await audit(adminToken)).data.auditLogs;
    // Sign-ins are audited too (by the sign-in flows); this test is about admin changes.
    all.edges = all.edges.filter((e: any) => !e.node.action.startsWith('signIn.'));
    expect(all.edges.map((e: any) => e.node.action)).toEqual(['policy.setLegacy', 'settings.update', 'user.update', 'user.create', 'user.create', 'tenant.create']);
    const ids = all.edges.map((e: any) => Number(e.node.id));
    expect([...ids].sort((a, b) => b - a)).toEqual(ids);
    const update = all.edges[2].node;
    expect(update).toMatchObject({ actorType: 'USER', actorId: adminId, targetType: 'USER', targetId: userId, result: 'SUCCESS' });
    expect(update.before).toMatchObject({ displayName: 'Audited', hasPassword: true });
    expect(update.after).toMatchObject({ displayName: 'Renamed', passwordChanged: true });
    expect(all.edges[1].node.before.challengeLifetimeSeconds).toBe(120);
    expect(all.edges[1].node.after.challengeLifetimeSeconds).toBe(90);
    // Secrets never reach the log: no password, no hash.
    expect(JSON.stringify(all)).not.toMatch(/secret password|argon2/);

    const creates = (await audit(adminToken, { filter: { action: 'user.create', targetId: userId } })).data.auditLogs.edges;
    expect(creates.map((e: any) => e.node.after.userPrincipalName)).toEqual([`audited@${domain}`]);
    const byAdmin = (await audit(adminToken, { filter: { actorId: adminId } })).data.auditLogs.edges.map((e: any) => e.node);
    expect(byAdmin.filter((n: any) => !n.action.startsWith('signIn.')).map((n: any) => n.action)).toEqual(['policy.setLegacy', 'settings.update', 'user.update', 'user.create']);
    expect(byAdmin.every((n: any) => n.actorId === adminId)).toBe(true);
    expect((await audit(adminToken, { filter: { targetType: 'TENANT', targetId: tenantId } })).data.auditLogs.edges).toHaveLength(3);

    // Another tenant's admin sees only their own records.
    const theirs = (await audit(other.adminToken)).data.auditLogs.edges.map((e: any) => e.node);
    expect(theirs.length).toBeGreaterThan(0);
    expect(theirs.every((n: any) => n.targetId !== userId && n.actorId !== adminId)).toBe(true);
  });

  it('pages with cursors and filters by time range', async () => {
    const { adminToken } = await createTenant(t);
    for (const name of ['a', 'b', 'c']) await t.gql(`mutation($n: String!) { createGroup(input: { name: $n }) { __typename } }`, { n: name }, adminToken);
    const filter = { action: 'group.create' };
    const first = (await audit(adminToken, { filter, first: 2 })).data.auditLogs;
    expect(first.edges.map((e: any) => e.node.after.name)).toEqual(['c', 'b']);
    expect(first.pageInfo.hasNextPage).toBe(true);
    const second = (await audit(adminToken, { filter, first: 2, after: first.pageInfo.endCursor })).data.auditLogs;
    expect(second.edges.map((e: any) => e.node.after.name)).toEqual(['a']);
    expect(second.pageInfo.hasNextPage).toBe(false);
    expect((await audit(adminToken, { last: 1 })).data.auditLogs.edges.map((e: any) => e.node.action)).toEqual(['tenant.create']);

    const newest = new Date(first.edges[0].node.createdAt);
    const oldest = new Date(second.edges[0].node.createdAt);
    const window = { from: oldest.toISOString(), to: new Date(newest.getTime() + 1).toISOString() };
    expect((await audit(adminToken, { filter: { ...window, ...filter } })).data.auditLogs.edges).toHaveLength(3);
    expect((await audit(adminToken, { filter: { from: new Date(newest.getTime() + 1).toISOString() } })).data.auditLogs.edges).toEqual([]);
    expect((await audit(adminToken, { filter: { to: oldest.toISOString(), action: 'group.create' } })).data.auditLogs.edges).toEqual([]);

    const badCursor = await audit(adminToken, { first: 1, after: "1; drop table audit_logs" });
    expect(badCursor.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    const oversized = await audit(adminToken, { filter: { action: 'x'.repeat(257) } });
    expect(oversized.errors?.[0]).toMatchObject({ message: expect.stringContaining('filter.action'), extensions: { code: 'BAD_USER_INPUT' } });
    const negative = await audit(adminToken, { first: -1 });
    expect(negative.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
  });
});

describe('sign-in log', () => {
  it('lists the tenant sign-ins newest first and filters by user, status, reason, method and time', async () => {
    const { adminToken, domain } = await createTenant(t);
    const other = await createTenant(t);
    const userPrincipalName = `signer@${domain}`;
    const userId = (
      await t.gql(`mutation($i: CreateUserInput!) { createUser(input: $i) { ... on User { id } } }`, { i: { userPrincipalName, displayName: 'Signer' } }, adminToken)
    ).data.createUser.id;
    const { pass } = (
      await t.gql(`mutation($i: CreateTemporaryAccessPassInput!) { createTemporaryAccessPass(input: $i) { ... on TemporaryAccessPass { pass } } }`, { i: { userId } }, adminToken)
    ).data.createTemporaryAccessPass;
    const redeem = (p: string) =>
      t.gql(`mutation($i: SignInWithTemporaryAccessPassInput!) { signInWithTemporaryAccessPass(input: $i) { __typename } }`, { i: { userPrincipalName, pass: p } });
    const start = t.clock.now();
    await redeem('not-the-pass');
    t.clock.advance(60);
    const afterFailure = t.clock.now();
    await redeem(pass);

    const tapRows = (await signIns(adminToken, { method: 'TEMPORARY_ACCESS_PASS' })).data.signInLogs.edges.map((e: any) => e.node);
    expect(tapRows).toHaveLength(2);
    expect(tapRows[0]).toMatchObject({ userId, userPrincipalName, user: { id: userId }, status: 'SUCCESS', reasonCode: null, ipAddress: '127.0.0.1', device: null });
    expect(tapRows[1]).toMatchObject({ userId, status: 'FAILURE', reasonCode: 'TEMPORARY_ACCESS_PASS_INVALID' });
    expect(new Date(tapRows[1].createdAt).getTime()).toBe(start.getTime());

    expect((await signIns(adminToken, { userId, status: 'FAILURE' })).data.signInLogs.edges.map((e: any) => e.node.reasonCode)).toEqual(['TEMPORARY_ACCESS_PASS_INVALID']);
    expect((await signIns(adminToken, { reasonCode: 'TEMPORARY_ACCESS_PASS_INVALID' })).data.signInLogs.edges).toHaveLength(1);
    expect((await signIns(adminToken, { userId, from: afterFailure.toISOString() })).data.signInLogs.edges.map((e: any) => e.node.status)).toEqual(['SUCCESS']);
    expect((await signIns(adminToken, { userId, to: afterFailure.toISOString() })).data.signInLogs.edges.map((e: any) => e.node.status)).toEqual(['FAILURE']);
    const badUser = await signIns(adminToken, { userId: 'not-a-user-id' });
    expect(badUser.errors?.[0]).toMatchObject({ message: expect.stringContaining('filter.userId'), extensions: { code: 'BAD_USER_INPUT' } });
    expect((await signIns(other.adminToken, { userId })).data.signInLogs.edges).toEqual([]);
    expect((await signIns(adminToken, { userId: 'nope' })).errors?.[0]?.message).toMatch(/Give an id/);
  });
});

describe('sign-in log values', () => {
  const fieldsOf = async (type: string) => {
    const result = await t.gql(`query($n: String!) { __type(name: $n) { fields { name description } inputFields { name description } } }`, { n: type });
    const { fields, inputFields } = result.data.__type;
    return Object.fromEntries([...(fields ?? []), ...(inputFields ?? [])].map((f: any) => [f.name, f.description as string]));
  };
  const statuses = [...SIGN_IN_LOG_STATUSES];
  const methods = [...SIGN_IN_METHODS];
  // Every reason the services write: attempt failures, reasons not to push (no log without a tenant), password and pass failures.
  const reasons = [...FAILURE_REASONS, ...REFUSAL_REASONS.filter((r) => r !== 'UNKNOWN_DOMAIN'), ...CREDENTIAL_FAILURE_REASONS];

  it('documents every status, method and reason code in the schema, on the log and on its filter', async () => {
    expect(Object.keys(SIGN_IN_LOG_REASON_DESCRIPTIONS).sort()).toEqual([...new Set(reasons)].sort());
    const log = await fieldsOf('SignInLog');
    const filter = await fieldsOf('SignInLogFilter');
    for (const [field, values] of [['status', statuses], ['method', methods], ['reasonCode', reasons]] as const) {
      for (const value of values) {
        expect(log[field], `SignInLog.${field} documents ${value}`).toMatch(new RegExp(`\\b${value} — `));
        expect(filter[field], `SignInLogFilter.${field} names ${value}`).toMatch(new RegExp(`\\b${value}\\b`));
      }
    }
  });

  it('holds only documented values', async () => {
    const tenant = await createTenant(t);
    await allowPhoneSignIn(t, tenant.tenantId);
    const user = await addUser(t, tenant);
    await passwordSignIn(t, user.userPrincipalName, 'not the password');
    await passwordSignIn(t, `nobody@${tenant.domain}`, 'whatever password');
    await begin(t, user.userPrincipalName);
    await t.gql(
      `mutation($i: SignInWithTemporaryAccessPassInput!) { signInWithTemporaryAccessPass(input: $i) { __typename } }`,
      { i: { userPrincipalName: user.userPrincipalName, pass: 'not-a-pass' } },
    );
    const federated = `fed.${tenant.domain}`;
    await t.gql(`mutation($i: AddFederatedDomainInput!) { addFederatedDomain(input: $i) { __typename } }`, { i: { domain: federated, signInUrl: 'https://idp.example.org/' } }, tenant.adminToken);
    await passwordSignIn(t, `someone@${federated}`, 'whatever password');

    // Every row of this file's database, including the earlier tests' sign-ins.
    const rows = await t.server.app.db.selectDistinct({ status: signInLogs.status, method: signInLogs.method, reasonCode: signInLogs.reasonCode }).from(signInLogs);
    expect(rows.map((r) => r.reasonCode)).toEqual(expect.arrayContaining(['INVALID_PASSWORD', 'USER_NOT_FOUND', 'NO_CREDENTIAL', 'TEMPORARY_ACCESS_PASS_INVALID', 'FEDERATION_REDIRECT']));
    for (const row of rows) {
      expect(statuses, JSON.stringify(row)).toContain(row.status);
      expect(methods, JSON.stringify(row)).toContain(row.method);
      if (row.reasonCode !== null) expect(reasons, JSON.stringify(row)).toContain(row.reasonCode);
    }
  });
});
