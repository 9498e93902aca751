import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTenant, startTestServer, type TestServer } from './harness.js';

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer();
});
afterAll(() => t.stop());

const ERR = '... on Error { code message } ... on DomainError { field } ... on InputValidationError { issues { path message } }';
const STATE = 'isSaved enabled legacyPhoneSignInEnabled legacySuperseded includeTargets { targetType targetId authenticationMode } excludeTargets { targetType targetId }';
const EFFECTIVE = 'allowed mode source phoneSignInAllowed pushMfaAllowed reason remedy';

const readPolicy = async (token: string) => (await t.gql(`{ phoneSignInPolicy { ${STATE} } }`, {}, token)).data.phoneSignInPolicy;
const savePolicy = (token: string, input: Record<string, unknown>) =>
  t.gql(
    `mutation($input: UpdatePhoneSignInPolicyInput!) { updatePhoneSignInPolicy(input: $input) { __typename ... on PhoneSignInPolicy { ${STATE} } ${ERR} } }`,
    { input },
    token,
  );
const setLegacy = (token: string, enabled: boolean) =>
  t.gql(`mutation($e: Boolean!) { setLegacyPhoneSignInPolicy(enabled: $e) { __typename ... on PhoneSignInPolicy { ${STATE} } ${ERR} } }`, { e: enabled }, token);
const effectiveFor = async (token: string, userId: string) =>
  (await t.gql(`query($id: ID!) { user(id: $id) { phoneSignInPolicy { ${EFFECTIVE} } } }`, { id: userId }, token)).data.user.phoneSignInPolicy;

/** A tenant with a user who can sign in (through a TAP), a group holding that user, and another user. */
async function directory() {
  const tenant = await createTenant(t);
  const mk = async (name: string) =>
    (
      await t.gql(`mutation($i: CreateUserInput!) { createUser(input: $i) { ... on User { id } } }`, { i: { userPrincipalName: `${name}@${tenant.domain}`, displayName: name } }, tenant.adminToken)
    ).data.createUser.id as string;
  const memberId = await mk('member');
  const outsiderId = await mk('outsider');
  const groupId = (await t.gql(`mutation { createGroup(input: { name: "Pilot" }) { ... on Group { id } } }`, {}, tenant.adminToken)).data.createGroup.id as string;
  await t.gql(`mutation($i: GroupMembersInput!) { addGroupMembers(input: $i) { __typename } }`, { i: { groupId, userIds: [memberId] } }, tenant.adminToken);
  const tap = await t.gql(
    `mutation($i: CreateTemporaryAccessPassInput!) { createTemporaryAccessPass(input: $i) { ... on TemporaryAccessPass { pass } } }`,
    { i: { userId: outsiderId } },
    tenant.adminToken,
  );
  const outsiderToken = (
    await t.gql(`mutation($i: SignInWithTemporaryAccessPassInput!) { signInWithTemporaryAccessPass(input: $i) { ... on SignInSuccess { accessToken } } }`, {
      i: { userPrincipalName: `outsider@${tenant.domain}`, pass: tap.data.createTemporaryAccessPass.pass },
    })
  ).data.signInWithTemporaryAccessPass.accessToken as string;
  return { ...tenant, memberId, outsiderId, groupId, outsiderToken };
}

describe('phone sign-in policy', () => {
  it('starts unsaved, follows the legacy switch, and is superseded by the first saved policy', async () => {
    const d = await directory();
    expect(await readPolicy(d.adminToken)).toEqual({
      isSaved: false,
      enabled: false,
      legacyPhoneSignInEnabled: false,
      legacySuperseded: false,
      includeTargets: [],
      excludeTargets: [],
    });
    // The user outside the policy learns the remedy from their own viewer, never from the browser flow.
    const own = (await t.gql(`{ viewer { phoneSignInPolicy { ${EFFECTIVE} } } }`, {}, d.outsiderToken)).data.viewer.phoneSignInPolicy;
    expect(own).toMatchObject({ allowed: false, reason: 'LEGACY_DISABLED', phoneSignInAllowed: false });
    expect(own.remedy).toMatch(/^Ask your admin to include you in the passwordless phone sign-in policy, or disable phone sign-in in the Authenticator app/);

    expect((await setLegacy(d.adminToken, true)).data.setLegacyPhoneSignInPolicy).toMatchObject({ legacyPhoneSignInEnabled: true, legacySuperseded: false });
    expect(await effectiveFor(d.adminToken, d.outsiderId)).toMatchObject({ allowed: true, mode: 'ANY', source: 'LEGACY', remedy: null });

    const saved = await savePolicy(d.adminToken, {
      enabled: true,
      includeTargets: [{ targetType: 'GROUP', targetId: d.groupId, authenticationMode: 'DEVICE_BASED_PUSH' }],
    });
    expect(saved.data.updatePhoneSignInPolicy).toMatchObject({ isSaved: true, legacyPhoneSignInEnabled: true, legacySuperseded: true, excludeTargets: [] });
    expect(await effectiveFor(d.adminToken, d.memberId)).toMatchObject({ allowed: true, mode: 'DEVICE_BASED_PUSH', source: 'POLICY', pushMfaAllowed: false });
    expect(await effectiveFor(d.adminToken, d.outsiderId)).toMatchObject({ allowed: false, reason: 'NOT_TARGETED' });

    const late = await setLegacy(d.adminToken, false);
    expect(late.data.setLegacyPhoneSignInPolicy).toMatchObject({ __typename: 'DomainError', code: 'LEGACY_POLICY_SUPERSEDED' });
    expect((await readPolicy(d.adminToken)).legacyPhoneSignInEnabled).toBe(true);

    // Even switched off, a saved policy keeps superseding the legacy switch.
    await savePolicy(d.adminToken, { enabled: false, includeTargets: [{ targetType: 'ALL_USERS' }] });
    expect(await effectiveFor(d.adminToken, d.outsiderId)).toMatchObject({ allowed: false, reason: 'POLICY_DISABLED' });
  });

  it('lets exclusion win, unions modes, and tells an excluded user what to do', async () => {
    const d = await directory();
    await savePolicy(d.adminToken, {
      enabled: true,
      includeTargets: [
        { targetType: 'ALL_USERS', authenticationMode: 'PUSH' },
        { targetType: 'USER', targetId: d.memberId, authenticationMode: 'DEVICE_BASED_PUSH' },
      ],
      excludeTargets: [{ targetType: 'USER', targetId: d.outsiderId }],
    });
    expect(await effectiveFor(d.adminToken, d.memberId)).toMatchObject({ allowed: true, mode: 'ANY', phoneSignInAllowed: true, pushMfaAllowed: true });
    expect(await effectiveFor(d.adminToken, d.adminId)).toMatchObject({ allowed: true, mode: 'PUSH', phoneSignInAllowed: false });
    const excluded = (await t.gql(`{ viewer { phoneSignInPolicy { ${EFFECTIVE} } } }`, {}, d.outsiderToken)).data.viewer.phoneSignInPolicy;
    expect(excluded).toMatchObject({ allowed: false, reason: 'EXCLUDED' });
    expect(excluded.remedy).toMatch(/remove the method on your security info/);
  });

  it('refuses malformed, oversized and foreign targets with typed errors and keeps the saved policy', async () => {
    // Attack: an admin names another tenant's group or user in their policy to probe which ids exist.
    const d = await directory();
    const other = await directory();
    const good = { enabled: true, includeTargets: [{ targetType: 'GROUP', targetId: d.groupId, authenticationMode: 'ANY' }] };
    await savePolicy(d.adminToken, good);
    const before = await readPolicy(d.adminToken);

    const missingId = await savePolicy(d.adminToken, { enabled: true, includeTargets: [{ targetType: 'GROUP' }] });
    expect(missingId.data.updatePhoneSignInPolicy).toMatchObject({ __typename: 'InputValidationError', code: 'INVALID_INPUT' });
    expect(missingId.data.updatePhoneSignInPolicy.issues[0].path).toEqual(['input', 'includeTargets', '0', 'targetId']);
    const idOnAll = await savePolicy(d.adminToken, { enabled: true, includeTargets: [{ targetType: 'ALL_USERS', targetId: d.groupId }] });
    expect(idOnAll.data.updatePhoneSignInPolicy.code).toBe('INVALID_INPUT');
    const malformed = await savePolicy(d.adminToken, { enabled: true, includeTargets: [{ targetType: 'USER', targetId: 'x' }] });
    expect(malformed.data.updatePhoneSignInPolicy.code).toBe('INVALID_INPUT');
    const tooMany = await savePolicy(d.adminToken, { enabled: true, includeTargets: Array.from({ length: 101 }, () => ({ targetType: 'ALL_USERS' })) });
    expect(tooMany.data.updatePhoneSignInPolicy.issues[0].path).toEqual(['input', 'includeTargets']);

    const foreignGroup = await savePolicy(d.adminToken, { enabled: true, includeTargets: [{ targetType: 'GROUP', targetId: other.groupId }] });
    expect(foreignGroup.data.updatePhoneSignInPolicy).toMatchObject({ __typename: 'DomainError', code: 'NOT_FOUND', field: 'includeTargets' });
    const foreignUser = await savePolicy(d.adminToken, { enabled: true, includeTargets: [{ targetType: 'ALL_USERS' }], excludeTargets: [{ targetType: 'USER', targetId: other.memberId }] });
    expect(foreignUser.data.updatePhoneSignInPolicy).toMatchObject({ code: 'NOT_FOUND', field: 'excludeTargets' });
    const unknown = await savePolicy(d.adminToken, { enabled: true, includeTargets: [{ targetType: 'USER', targetId: '00000000-0000-4000-8000-000000000000' }] });
    expect(unknown.data.updatePhoneSignInPolicy).toMatchObject({ code: 'NOT_FOUND', field: 'includeTargets' });

    expect(await readPolicy(d.adminToken)).toEqual(before);
    expect((await readPolicy(other.adminToken)).isSaved).toBe(false);
  });

  it('keeps groups the policy names, and drops deleted users from it', async () => {
    const d = await directory();
    await savePolicy(d.adminToken, {
      enabled: true,
      includeTargets: [{ targetType: 'ALL_USERS' }, { targetType: 'USER', targetId: d.memberId }],
      excludeTargets: [{ targetType: 'GROUP', targetId: d.groupId }],
    });
    // Silently deleting an excluded group would widen who may sign in with the phone.
    const inUse = await t.gql(`mutation($id: ID!) { deleteGroup(id: $id) { __typename ${ERR} } }`, { id: d.groupId }, d.adminToken);
    expect(inUse.data.deleteGroup).toMatchObject({ __typename: 'DomainError', code: 'IN_USE', field: 'id' });
    expect((await t.gql(`query($id: ID!) { group(id: $id) { memberCount } }`, { id: d.groupId }, d.adminToken)).data.group.memberCount).toBe(1);

    await t.gql(`mutation($id: ID!) { deleteUser(id: $id) { __typename } }`, { id: d.memberId }, d.adminToken);
    const after = await readPolicy(d.adminToken);
    expect(after.includeTargets).toEqual([{ targetType: 'ALL_USERS', targetId: null, authenticationMode: 'ANY' }]);
    expect(after.excludeTargets).toEqual([{ targetType: 'GROUP', targetId: d.groupId }]);
  });

  it('shows a user their own effective policy and nobody else but their admins', async () => {
    // Attack: the operator, or a user of the tenant, reads someone's policy to learn who is exempt.
    const d = await directory();
    const domain = `ops-${Date.now()}.example.com`;
    const viaOperator = await t.gql(
      `mutation($d: String!, $a: String!) { createTenant(input: { name: "Ops", domain: $d, adminUserPrincipalName: $a, adminPassword: "password123" }) { ... on CreateTenantPayload { admin { phoneSignInPolicy { allowed } } } } }`,
      { d: domain, a: `a@${domain}` },
      t.operatorToken,
    );
    expect(viaOperator.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    const asUser = await t.gql(`query($id: ID!) { user(id: $id) { phoneSignInPolicy { allowed } } }`, { id: d.memberId }, d.outsiderToken);
    expect(asUser.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    expect(asUser.data?.user ?? null).toBeNull();
  });
});
