import { createRemoteJWKSet, jwtVerify } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTenant, SECOND_FACTOR_AMR, signIn, startTestServer, type TestServer } from './harness.js';
import { DEFAULT_TENANT_SETTINGS } from '../src/domain/settings.js';

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer();
});
afterAll(() => t.stop());

const ERR = '... on Error { code message } ... on DomainError { field } ... on InputValidationError { issues { path message } }';
const USER = `... on User { id userPrincipalName displayName isAdmin disabled hasPassword }`;

const createUser = (token: string, input: Record<string, unknown>) =>
  t.gql(`mutation($input: CreateUserInput!) { createUser(input: $input) { __typename ${USER} ${ERR} } }`, { input }, token);
const updateUser = (token: string, input: Record<string, unknown>) =>
  t.gql(`mutation($input: UpdateUserInput!) { updateUser(input: $input) { __typename ${USER} ${ERR} } }`, { input }, token);
const createGroup = (token: string, name: string) =>
  t.gql(`mutation($name: String!) { createGroup(input: { name: $name }) { __typename ... on Group { id name } ${ERR} } }`, { name }, token);
const addMembers = (token: string, groupId: string, userIds: string[]) =>
  t.gql(
    `mutation($input: GroupMembersInput!) { addGroupMembers(input: $input) { __typename ... on Group { id memberCount } ${ERR} } }`,
    { input: { groupId, userIds } },
    token,
  );
const countUsers = async (token: string) => (await t.gql('{ users(first: 100) { edges { node { id } } } }', {}, token)).data.users.edges.length;

describe('the issue 2 walk-through over real HTTP', () => {
  it('operator creates a tenant, the admin builds users, groups and the policy, and a user signs in with a TAP', async () => {
    const tenant = await createTenant(t);
    const jwks = createRemoteJWKSet(new URL(`${t.url}/.well-known/jwks.json`));
    const { payload } = await jwtVerify(tenant.adminToken, jwks, { issuer: t.url, audience: t.url, currentDate: t.clock.now() });
    expect(payload).toMatchObject({ sub: tenant.adminId, tid: tenant.tenantId, amr: SECOND_FACTOR_AMR });

    const adele = await createUser(tenant.adminToken, { userPrincipalName: `Adele@${tenant.domain}`, displayName: 'Adele Vance' });
    expect(adele.data.createUser).toMatchObject({ __typename: 'User', userPrincipalName: `adele@${tenant.domain}`, hasPassword: false, isAdmin: false });
    const adeleId = adele.data.createUser.id;
    const group = await createGroup(tenant.adminToken, 'Passwordless pilot');
    const groupId = group.data.createGroup.id;
    expect((await addMembers(tenant.adminToken, groupId, [adeleId])).data.addGroupMembers).toEqual({ __typename: 'Group', id: groupId, memberCount: 1 });

    const policy = await t.gql(
      `mutation($input: UpdatePhoneSignInPolicyInput!) { updatePhoneSignInPolicy(input: $input) { __typename ... on PhoneSignInPolicy { isSaved enabled includeTargets { targetType targetId authenticationMode } } ${ERR} } }`,
      { input: { enabled: true, includeTargets: [{ targetType: 'GROUP', targetId: groupId, authenticationMode: 'DEVICE_BASED_PUSH' }] } },
      tenant.adminToken,
    );
    expect(policy.data.updatePhoneSignInPolicy).toEqual({
      __typename: 'PhoneSignInPolicy',
      isSaved: true,
      enabled: true,
      includeTargets: [{ targetType: 'GROUP', targetId: groupId, authenticationMode: 'DEVICE_BASED_PUSH' }],
    });

    const tap = await t.gql(
      `mutation($input: CreateTemporaryAccessPassInput!) { createTemporaryAccessPass(input: $input) { __typename ... on TemporaryAccessPass { pass expiresAt isUsableOnce } ${ERR} } }`,
      { input: { userId: adeleId } },
      tenant.adminToken,
    );
    const { pass } = tap.data.createTemporaryAccessPass;
    const signedIn = await t.gql(
      `mutation($input: SignInWithTemporaryAccessPassInput!) { signInWithTemporaryAccessPass(input: $input) { __typename ... on SignInSuccess { accessToken } ${ERR} } }`,
      { input: { userPrincipalName: `adele@${tenant.domain}`, pass } },
    );
    const accessToken = signedIn.data.signInWithTemporaryAccessPass.accessToken;
    const verified = await jwtVerify(accessToken, jwks, { issuer: t.url, audience: t.url, currentDate: t.clock.now() });
    expect(verified.payload).toMatchObject({ sub: adeleId, tid: tenant.tenantId, amr: ['otp'] });
    const viewer = await t.gql('{ viewer { id phoneSignInPolicy { allowed phoneSignInAllowed mode source remedy } } }', {}, accessToken);
    expect(viewer.data.viewer).toEqual({
      id: adeleId,
      phoneSignInPolicy: { allowed: true, phoneSignInAllowed: true, mode: 'DEVICE_BASED_PUSH', source: 'POLICY', remedy: null },
    });
  });
});

describe('users', () => {
  it('creates, lists, searches, updates and deletes users of the tenant', async () => {
    const { adminToken, domain } = await createTenant(t);
    const created = await createUser(adminToken, { userPrincipalName: `megan@${domain}`, displayName: 'Megan Bowen', password: 'a long password', isAdmin: true });
    expect(created.data.createUser).toMatchObject({ hasPassword: true, isAdmin: true });
    const id = created.data.createUser.id;
    await createUser(adminToken, { userPrincipalName: `lee_gu@${domain}`, displayName: 'Lee Gu' });

    const search = await t.gql('query($s: String) { users(search: $s, first: 10) { edges { node { userPrincipalName } } } }', { s: 'BOWEN' }, adminToken);
    expect(search.data.users.edges).toEqual([{ node: { userPrincipalName: `megan@${domain}` } }]);
    // "_" is a LIKE wildcard; it must match only itself.
    const literal = await t.gql('query($s: String) { users(search: $s) { edges { node { userPrincipalName } } } }', { s: 'n_b' }, adminToken);
    expect(literal.data.users.edges).toEqual([]);

    const page1 = await t.gql('{ users(first: 2) { edges { node { userPrincipalName } } pageInfo { hasNextPage endCursor } } }', {}, adminToken);
    expect(page1.data.users.edges.map((e: any) => e.node.userPrincipalName)).toEqual([`admin@${domain}`, `lee_gu@${domain}`]);
    expect(page1.data.users.pageInfo.hasNextPage).toBe(true);
    const page2 = await t.gql('query($a: String) { users(first: 2, after: $a) { edges { node { userPrincipalName } } pageInfo { hasNextPage } } }', { a: page1.data.users.pageInfo.endCursor }, adminToken);
    expect(page2.data.users).toEqual({ edges: [{ node: { userPrincipalName: `megan@${domain}` } }], pageInfo: { hasNextPage: false } });

    const megan = await signIn(t, `megan@${domain}`, 'a long password');
    const renamed = await updateUser(adminToken, { id, displayName: 'Megan B.', password: 'another long password' });
    expect(renamed.data.updateUser).toMatchObject({ displayName: 'Megan B.', isAdmin: true });
    await signIn(t, `megan@${domain}`, 'another long password');
    expect((await t.gql(`query($id: ID!) { user(id: $id) { displayName } }`, { id }, adminToken)).data.user.displayName).toBe('Megan B.');

    const disabled = await updateUser(adminToken, { id, disabled: true });
    expect(disabled.data.updateUser.disabled).toBe(true);
    // Disabling ends the sessions the user already had.
    expect((await t.gql('{ viewer { id } }', {}, megan)).errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');

    const deleted = await t.gql(`mutation($id: ID!) { deleteUser(id: $id) { __typename ... on Deleted { id } ${ERR} } }`, { id }, adminToken);
    expect(deleted.data.deleteUser).toEqual({ __typename: 'Deleted', id });
    expect((await t.gql(`query($id: ID!) { user(id: $id) { id } }`, { id }, adminToken)).errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
  });

  it('keeps the last enabled admin', async () => {
    const { adminToken, adminId, domain } = await createTenant(t);
    for (const change of [{ isAdmin: false }, { disabled: true }]) {
      const refused = await updateUser(adminToken, { id: adminId, ...change });
      expect(refused.data.updateUser).toMatchObject({ __typename: 'DomainError', code: 'LAST_ADMIN' });
    }
    const lastDelete = await t.gql(`mutation($id: ID!) { deleteUser(id: $id) { __typename ${ERR} } }`, { id: adminId }, adminToken);
    expect(lastDelete.data.deleteUser).toMatchObject({ code: 'LAST_ADMIN' });
    expect((await t.gql('{ viewer { isAdmin disabled } }', {}, adminToken)).data.viewer).toEqual({ isAdmin: true, disabled: false });

    // A second admin, even disabled, does not count; an enabled one does.
    const other = (await createUser(adminToken, { userPrincipalName: `second@${domain}`, displayName: 'Second', isAdmin: true })).data.createUser.id;
    await updateUser(adminToken, { id: other, disabled: true });
    expect((await updateUser(adminToken, { id: adminId, isAdmin: false })).data.updateUser.code).toBe('LAST_ADMIN');
    await updateUser(adminToken, { id: other, disabled: false });
    expect((await updateUser(adminToken, { id: adminId, isAdmin: false })).data.updateUser).toMatchObject({ __typename: 'User', isAdmin: false });
  });

  it('refuses malformed, oversized, duplicate and foreign-domain users with typed errors and writes nothing', async () => {
    const { adminToken, domain } = await createTenant(t);
    const other = await createTenant(t);
    const before = await countUsers(adminToken);

    const malformed = await createUser(adminToken, { userPrincipalName: 'not an address', displayName: 'X' });
    expect(malformed.data.createUser).toMatchObject({ __typename: 'InputValidationError', code: 'INVALID_INPUT' });
    expect(malformed.data.createUser.issues[0].path).toEqual(['input', 'userPrincipalName']);

    const longName = await createUser(adminToken, { userPrincipalName: `${'a'.repeat(65)}@${domain}`, displayName: 'A' });
    expect(longName.data.createUser.issues[0].path).toEqual(['input', 'userPrincipalName']);
    const longDisplayName = await createUser(adminToken, { userPrincipalName: `long@${domain}`, displayName: 'x'.repeat(257) });
    expect(longDisplayName.data.createUser.issues[0]).toEqual({ path: ['input', 'displayName'], message: 'A name has at most 256 characters.' });
    const hugeName = await createUser(adminToken, { userPrincipalName: `${'a'.repeat(100_000)}@${domain}`, displayName: 'A' });
    expect(hugeName.data.createUser.code).toBe('INVALID_INPUT');

    const shortPassword = await createUser(adminToken, { userPrincipalName: `p@${domain}`, displayName: 'P', password: 'short' });
    expect(shortPassword.data.createUser.issues[0]).toMatchObject({ path: ['input', 'password'] });

    const foreign = await createUser(adminToken, { userPrincipalName: `spy@${other.domain}`, displayName: 'Spy' });
    expect(foreign.data.createUser).toMatchObject({ __typename: 'DomainError', code: 'INVALID_INPUT', field: 'userPrincipalName' });

    await createUser(adminToken, { userPrincipalName: `dup@${domain}`, displayName: 'Dup' });
    const duplicate = await createUser(adminToken, { userPrincipalName: `DUP@${domain}`, displayName: 'Dup again' });
    expect(duplicate.data.createUser).toMatchObject({ __typename: 'DomainError', code: 'ALREADY_EXISTS', field: 'userPrincipalName' });

    expect(await countUsers(adminToken)).toBe(before + 1);
    expect(await countUsers(other.adminToken)).toBe(1);
  });

  // Attack: junk in the arguments of list queries (which have no typed-error union) must still get a stable code.
  it('refuses oversized searches and bad paging arguments with BAD_USER_INPUT, never an uncoded error', async () => {
    const { adminToken } = await createTenant(t);
    const cases: Array<[string, Record<string, unknown>]> = [
      ['query($s: String) { users(search: $s) { edges { node { id } } } }', { s: 'x'.repeat(257) }],
      ['query($s: String) { groups(search: $s) { edges { node { id } } } }', { s: 'x'.repeat(100_000) }],
      ['{ users(after: "not a cursor") { edges { node { id } } } }', {}],
      ['{ users(first: -1) { edges { node { id } } } }', {}],
      ['{ groups(last: 2) { edges { node { id } } } }', {}],
    ];
    for (const [query, variables] of cases) {
      const refused = await t.gql(query, variables, adminToken);
      expect(refused.status, query).toBe(200);
      expect(refused.errors?.[0]?.extensions?.code, query).toBe('BAD_USER_INPUT');
      expect(refused.errors?.[0]?.message, query).toMatch(/search|first|last|cursor|base64/i);
    }
    const fine = await t.gql('query($s: String) { users(search: $s) { edges { node { id } } } }', { s: 'x'.repeat(256) }, adminToken);
    expect(fine.errors).toBeUndefined();
  });
});

describe('groups', () => {
  it('creates groups, adds and removes members, lists them and deletes a group', async () => {
    const { adminToken, adminId, domain } = await createTenant(t);
    const userId = (await createUser(adminToken, { userPrincipalName: `g@${domain}`, displayName: 'G' })).data.createUser.id;
    const groupId = (await createGroup(adminToken, 'Sales')).data.createGroup.id;
    await createGroup(adminToken, 'Marketing');
    expect((await createGroup(adminToken, 'SALES')).data.createGroup).toMatchObject({ code: 'ALREADY_EXISTS', field: 'name' });

    expect((await addMembers(adminToken, groupId, [userId, adminId, userId])).data.addGroupMembers.memberCount).toBe(2);
    expect((await addMembers(adminToken, groupId, [userId])).data.addGroupMembers.memberCount).toBe(2);
    const group = await t.gql(`query($id: ID!) { group(id: $id) { name members { edges { node { id } } } } }`, { id: groupId }, adminToken);
    expect(group.data.group.members.edges.map((e: any) => e.node.id).sort()).toEqual([adminId, userId].sort());

    const removed = await t.gql(
      `mutation($input: GroupMembersInput!) { removeGroupMembers(input: $input) { ... on Group { memberCount } } }`,
      { input: { groupId, userIds: [adminId] } },
      adminToken,
    );
    expect(removed.data.removeGroupMembers.memberCount).toBe(1);

    const list = await t.gql('{ groups { edges { node { name memberCount } } } }', {}, adminToken);
    expect(list.data.groups.edges.map((e: any) => e.node)).toEqual([
      { name: 'Marketing', memberCount: 0 },
      { name: 'Sales', memberCount: 1 },
    ]);
    const deleted = await t.gql(`mutation($id: ID!) { deleteGroup(id: $id) { __typename ... on Deleted { id } } }`, { id: groupId }, adminToken);
    expect(deleted.data.deleteGroup).toEqual({ __typename: 'Deleted', id: groupId });
    expect((await t.gql(`query($id: ID!) { group(id: $id) { id } }`, { id: groupId }, adminToken)).errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
  });

  it('adds no member at all when one id is unknown or belongs to another tenant', async () => {
    // Attack: an admin slips another tenant's user into their own group to learn about or target them.
    const { adminToken, adminId } = await createTenant(t);
    const other = await createTenant(t);
    const groupId = (await createGroup(adminToken, 'Pilot')).data.createGroup.id;
    const foreignGroupId = (await createGroup(other.adminToken, 'Theirs')).data.createGroup.id;

    const foreignUser = await addMembers(adminToken, groupId, [adminId, other.adminId]);
    expect(foreignUser.data.addGroupMembers).toMatchObject({ __typename: 'DomainError', code: 'NOT_FOUND', field: 'userIds' });
    const unknownUser = await addMembers(adminToken, groupId, [adminId, '00000000-0000-4000-8000-000000000000']);
    expect(unknownUser.data.addGroupMembers).toEqual({ ...foreignUser.data.addGroupMembers, message: expect.any(String) });
    const foreignGroup = await addMembers(adminToken, foreignGroupId, [adminId]);
    expect(foreignGroup.data.addGroupMembers).toMatchObject({ __typename: 'DomainError', code: 'NOT_FOUND', field: 'groupId' });
    const malformedId = await addMembers(adminToken, groupId, ['not-an-id']);
    expect(malformedId.data.addGroupMembers).toMatchObject({ __typename: 'InputValidationError', code: 'INVALID_INPUT' });

    const mine = await t.gql(`query($id: ID!) { group(id: $id) { memberCount } }`, { id: groupId }, adminToken);
    expect(mine.data.group.memberCount).toBe(0);
    const theirs = await t.gql(`query($id: ID!) { group(id: $id) { memberCount } }`, { id: foreignGroupId }, other.adminToken);
    expect(theirs.data.group.memberCount).toBe(0);
    expect((await t.gql(`query($id: ID!) { group(id: $id) { id } }`, { id: foreignGroupId }, adminToken)).errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
  });
});

describe('tenant settings and federated domains', () => {
  const SETTINGS = `pushNotificationsAllowed combinedRegistrationEnabled numberMatching { style digits choices } challengeLifetimeSeconds
    showApplicationName showGeographicLocation maxAuthenticatorsPerUser minimumOsVersion { ios android } minimumAppVersion
    failureLockoutThreshold pushRateLimit { maxPushes windowMinutes } fraudMuteMinutes
    riskDetection { impossibleTravel unfamiliarLocation familiarDays newIpAddress anonymousNetwork browserPhoneApart browserPhoneApartKm }`;
  const readSettings = async (token: string) => (await t.gql(`{ tenant { settings { ${SETTINGS} } } }`, {}, token)).data.tenant.settings;
  const update = (token: string, input: Record<string, unknown>) =>
    t.gql(`mutation($input: UpdateTenantSettingsInput!) { updateTenantSettings(input: $input) { __typename ... on TenantSettings { ${SETTINGS} } ${ERR} } }`, { input }, token);

  it('shows the defaults and applies a partial update', async () => {
    const { adminToken } = await createTenant(t);
    const defaults = await readSettings(adminToken);
    // The documented values themselves are pinned by the unit test of the settings schema.
    expect(defaults).toEqual(DEFAULT_TENANT_SETTINGS);
    const changed = await update(adminToken, {
      challengeLifetimeSeconds: 300,
      numberMatching: { style: 'CHOICE' },
      minimumAppVersion: '6.2',
      pushRateLimit: { maxPushes: 3 },
      riskDetection: { newIpAddress: 'OFF', familiarDays: 90 },
    });
    const expected = {
      ...defaults,
      challengeLifetimeSeconds: 300,
      numberMatching: { style: 'CHOICE', digits: 2, choices: 3 },
      minimumAppVersion: '6.2',
      pushRateLimit: { maxPushes: 3, windowMinutes: 10 },
      riskDetection: { ...defaults.riskDetection, newIpAddress: 'OFF', familiarDays: 90 },
    };
    expect(changed.data.updateTenantSettings).toEqual({ __typename: 'TenantSettings', ...expected });
    expect(await readSettings(adminToken)).toEqual(expected);
    // Omitted means "keep"; an explicit null clears the optional minimum app version.
    expect((await update(adminToken, {})).data.updateTenantSettings.minimumAppVersion).toBe('6.2');
    expect((await update(adminToken, { minimumAppVersion: null })).data.updateTenantSettings.minimumAppVersion).toBeNull();
  });

  it('refuses out-of-range settings with typed errors and changes nothing', async () => {
    const { adminToken } = await createTenant(t);
    const before = await readSettings(adminToken);
    const cases: Array<[Record<string, unknown>, string[]]> = [
      [{ challengeLifetimeSeconds: 601 }, ['input', 'challengeLifetimeSeconds']],
      [{ challengeLifetimeSeconds: 29, showApplicationName: false }, ['input', 'challengeLifetimeSeconds']],
      [{ numberMatching: { digits: 9 } }, ['input', 'numberMatching', 'digits']],
      [{ numberMatching: { choices: 2, style: 'CHOICE' } }, ['input', 'numberMatching', 'choices']],
      [{ maxAuthenticatorsPerUser: 0 }, ['input', 'maxAuthenticatorsPerUser']],
      [{ minimumOsVersion: { ios: 'x'.repeat(300) } }, ['input', 'minimumOsVersion', 'ios']],
      // Digits only, but far past any real version: must not be stored or compared as a float.
      [{ minimumOsVersion: { android: '1'.repeat(5000) } }, ['input', 'minimumOsVersion', 'android']],
      [{ minimumAppVersion: '9'.repeat(50) }, ['input', 'minimumAppVersion']],
      [{ fraudMuteMinutes: 10081 }, ['input', 'fraudMuteMinutes']],
    ];
    for (const [input, path] of cases) {
      const refused = await update(adminToken, input);
      expect(refused.data.updateTenantSettings, JSON.stringify(input)).toMatchObject({ __typename: 'InputValidationError', code: 'INVALID_INPUT' });
      expect(refused.data.updateTenantSettings.issues[0].path).toEqual(path);
    }
    expect(await readSettings(adminToken)).toEqual(before);
  });

  it('adds, lists and removes federated domains, keeping the primary and domains in use', async () => {
    const { adminToken, domain } = await createTenant(t);
    const other = await createTenant(t);
    const add = (token: string, input: Record<string, unknown>) =>
      t.gql(`mutation($input: AddFederatedDomainInput!) { addFederatedDomain(input: $input) { __typename ... on FederatedDomain { domain signInUrl } ${ERR} } }`, { input }, token);
    const remove = (token: string, d: string) =>
      t.gql(`mutation($d: String!) { removeFederatedDomain(domain: $d) { __typename ... on MutationRemoveFederatedDomainSuccess { data } ${ERR} } }`, { d }, token);
    const federated = `fed-${domain}`;

    expect((await add(adminToken, { domain: federated.toUpperCase(), signInUrl: 'https://idp.example.org/sso' })).data.addFederatedDomain).toEqual({
      __typename: 'FederatedDomain',
      domain: federated,
      signInUrl: 'https://idp.example.org/sso',
    });
    expect((await add(adminToken, { domain, signInUrl: 'https://idp.example.org/sso' })).data.addFederatedDomain).toMatchObject({ code: 'ALREADY_EXISTS' });
    expect((await add(adminToken, { domain: other.domain, signInUrl: 'https://idp.example.org/sso' })).data.addFederatedDomain).toMatchObject({ code: 'ALREADY_EXISTS', field: 'domain' });
    expect((await add(adminToken, { domain: `x-${domain}`, signInUrl: 'http://idp.example.org/sso' })).data.addFederatedDomain.issues[0].path).toEqual(['input', 'signInUrl']);
    expect((await add(adminToken, { domain: `x-${domain}`, signInUrl: `https://idp.example.org/${'a'.repeat(3000)}` })).data.addFederatedDomain.code).toBe('INVALID_INPUT');

    const tenant = await t.gql('{ tenant { domains federatedDomains { domain signInUrl } } }', {}, adminToken);
    expect(tenant.data.tenant.domains.sort()).toEqual([domain, federated].sort());
    expect(tenant.data.tenant.federatedDomains).toEqual([{ domain: federated, signInUrl: 'https://idp.example.org/sso' }]);

    const user = await createUser(adminToken, { userPrincipalName: `fed.user@${federated}`, displayName: 'Federated' });
    expect(user.data.createUser.__typename).toBe('User');
    expect((await remove(adminToken, federated)).data.removeFederatedDomain).toMatchObject({ code: 'IN_USE' });
    expect((await remove(adminToken, domain)).data.removeFederatedDomain).toMatchObject({ code: 'INVALID_INPUT', field: 'domain' });
    expect((await remove(other.adminToken, federated)).data.removeFederatedDomain).toMatchObject({ code: 'NOT_FOUND', field: 'domain' });

    await t.gql(`mutation($id: ID!) { deleteUser(id: $id) { __typename } }`, { id: user.data.createUser.id }, adminToken);
    expect((await remove(adminToken, federated)).data.removeFederatedDomain).toEqual({ __typename: 'MutationRemoveFederatedDomainSuccess', data: federated });
    expect((await t.gql('{ tenant { domains } }', {}, adminToken)).data.tenant.domains).toEqual([domain]);
  });
});
