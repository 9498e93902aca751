import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTenant, type GraphQLResponse, signIn, startTestServer, type TestServer } from './harness.js';

// Attack: every caller who is not an admin of the tenant (nobody, a plain user, the operator, an
// admin of another tenant sending this tenant's ids) tries every admin operation.

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer();
});
afterAll(() => t.stop());

const ERR = '... on Error { code } ';

interface Fixture {
  domain: string;
  userId: string;
  victimId: string;
  groupId: string;
  emptyGroupId: string;
  federatedDomain: string;
  clientId: string;
}

interface Operation {
  name: string;
  query: string;
  variables: (f: Fixture) => Record<string, unknown>;
  /** What an admin of another tenant, sending this tenant's ids, gets: NOT_FOUND, or a change confined to their own tenant. */
  foreign: 'NOT_FOUND' | 'OWN_TENANT' | 'INVALID_INPUT';
}

const operations: Operation[] = [
  { name: 'users', query: '{ users { edges { node { id } } } }', variables: () => ({}), foreign: 'OWN_TENANT' },
  { name: 'user', query: 'query($id: ID!) { user(id: $id) { id } }', variables: (f) => ({ id: f.userId }), foreign: 'NOT_FOUND' },
  { name: 'groups', query: '{ groups { edges { node { id } } } }', variables: () => ({}), foreign: 'OWN_TENANT' },
  { name: 'group', query: 'query($id: ID!) { group(id: $id) { id } }', variables: (f) => ({ id: f.groupId }), foreign: 'NOT_FOUND' },
  { name: 'tenant', query: '{ tenant { id settings { challengeLifetimeSeconds } federatedDomains { domain } } }', variables: () => ({}), foreign: 'OWN_TENANT' },
  { name: 'phoneSignInPolicy', query: '{ phoneSignInPolicy { isSaved } }', variables: () => ({}), foreign: 'OWN_TENANT' },
  { name: 'auditLogs', query: '{ auditLogs { edges { node { id } } } }', variables: () => ({}), foreign: 'OWN_TENANT' },
  { name: 'signInLogs', query: '{ signInLogs { edges { node { id } } } }', variables: () => ({}), foreign: 'OWN_TENANT' },
  { name: 'applications', query: '{ applications { clientId } }', variables: () => ({}), foreign: 'OWN_TENANT' },
  {
    name: 'registerApplication',
    query: `mutation($i: RegisterApplicationInput!) { registerApplication(input: $i) { __typename ${ERR} } }`,
    variables: () => ({ i: { name: 'Planted app', redirectUris: ['https://planted.example.org/callback'], postLogoutRedirectUris: [], confidential: false } }),
    foreign: 'OWN_TENANT',
  },
  {
    name: 'removeApplication',
    query: 'mutation($id: ID!) { removeApplication(clientId: $id) }',
    variables: (f) => ({ id: f.clientId }),
    foreign: 'NOT_FOUND',
  },
  { name: 'riskyUsers', query: '{ riskyUsers { edges { node { user { id } } } } }', variables: () => ({}), foreign: 'OWN_TENANT' },
  {
    name: 'createUser',
    query: `mutation($i: CreateUserInput!) { createUser(input: $i) { __typename ${ERR} } }`,
    variables: (f) => ({ i: { userPrincipalName: `planted@${f.domain}`, displayName: 'Planted' } }),
    foreign: 'INVALID_INPUT',
  },
  {
    name: 'updateUser',
    query: `mutation($i: UpdateUserInput!) { updateUser(input: $i) { __typename ${ERR} } }`,
    variables: (f) => ({ i: { id: f.victimId, isAdmin: true, displayName: 'Owned' } }),
    foreign: 'NOT_FOUND',
  },
  {
    name: 'createGroup',
    query: `mutation { createGroup(input: { name: "Intruders" }) { __typename ${ERR} } }`,
    variables: () => ({}),
    foreign: 'OWN_TENANT',
  },
  {
    name: 'addGroupMembers',
    query: `mutation($i: GroupMembersInput!) { addGroupMembers(input: $i) { __typename ${ERR} } }`,
    variables: (f) => ({ i: { groupId: f.groupId, userIds: [f.victimId] } }),
    foreign: 'NOT_FOUND',
  },
  {
    name: 'removeGroupMembers',
    query: `mutation($i: GroupMembersInput!) { removeGroupMembers(input: $i) { __typename ${ERR} } }`,
    variables: (f) => ({ i: { groupId: f.groupId, userIds: [f.userId] } }),
    foreign: 'NOT_FOUND',
  },
  {
    name: 'updateTenantSettings',
    query: `mutation { updateTenantSettings(input: { challengeLifetimeSeconds: 600 }) { __typename ${ERR} } }`,
    variables: () => ({}),
    foreign: 'OWN_TENANT',
  },
  {
    name: 'addFederatedDomain',
    query: `mutation($i: AddFederatedDomainInput!) { addFederatedDomain(input: $i) { __typename ${ERR} } }`,
    variables: (f) => ({ i: { domain: `second.${f.domain}`, signInUrl: 'https://idp.example.org/' } }),
    foreign: 'OWN_TENANT',
  },
  {
    name: 'removeFederatedDomain',
    query: `mutation($d: String!) { removeFederatedDomain(domain: $d) { __typename ${ERR} } }`,
    variables: (f) => ({ d: f.federatedDomain }),
    foreign: 'NOT_FOUND',
  },
  {
    name: 'setLegacyPhoneSignInPolicy',
    query: `mutation { setLegacyPhoneSignInPolicy(enabled: true) { __typename ${ERR} } }`,
    variables: () => ({}),
    foreign: 'OWN_TENANT',
  },
  {
    name: 'updatePhoneSignInPolicy',
    query: `mutation($i: UpdatePhoneSignInPolicyInput!) { updatePhoneSignInPolicy(input: $i) { __typename ${ERR} } }`,
    variables: (f) => ({ i: { enabled: true, includeTargets: [{ targetType: 'GROUP', targetId: f.groupId }] } }),
    foreign: 'NOT_FOUND',
  },
  {
    name: 'resetUserSignInProtection',
    query: `mutation($id: ID!) { resetUserSignInProtection(userId: $id) { __typename ${ERR} } }`,
    variables: (f) => ({ id: f.victimId }),
    foreign: 'NOT_FOUND',
  },
  // Confirmed first: it puts the victim at risk, which dismissUserRisk then has to dismiss.
  {
    name: 'confirmUserCompromised',
    query: `mutation($id: ID!) { confirmUserCompromised(userId: $id) { __typename ${ERR} } }`,
    variables: (f) => ({ id: f.victimId }),
    foreign: 'NOT_FOUND',
  },
  {
    name: 'dismissUserRisk',
    query: `mutation($id: ID!) { dismissUserRisk(userId: $id) { __typename ${ERR} } }`,
    variables: (f) => ({ id: f.victimId }),
    foreign: 'NOT_FOUND',
  },
  {
    name: 'createTemporaryAccessPass',
    query: `mutation($i: CreateTemporaryAccessPassInput!) { createTemporaryAccessPass(input: $i) { __typename ${ERR} } }`,
    variables: (f) => ({ i: { userId: f.victimId } }),
    foreign: 'NOT_FOUND',
  },
  {
    name: 'deleteGroup',
    query: `mutation($id: ID!) { deleteGroup(id: $id) { __typename ${ERR} } }`,
    variables: (f) => ({ id: f.emptyGroupId }),
    foreign: 'NOT_FOUND',
  },
  {
    name: 'deleteUser',
    query: `mutation($id: ID!) { deleteUser(id: $id) { __typename ${ERR} } }`,
    variables: (f) => ({ id: f.victimId }),
    foreign: 'NOT_FOUND',
  },
];

async function buildTenant() {
  const tenant = await createTenant(t);
  const mk = async (name: string, password?: string) =>
    (
      await t.gql(
        `mutation($i: CreateUserInput!) { createUser(input: $i) { ... on User { id } } }`,
        { i: { userPrincipalName: `${name}@${tenant.domain}`, displayName: name, password } },
        tenant.adminToken,
      )
    ).data.createUser.id as string;
  const userId = await mk('plain', 'plain user password');
  const victimId = await mk('victim');
  const group = async (name: string) =>
    (await t.gql(`mutation($n: String!) { createGroup(input: { name: $n }) { ... on Group { id } } }`, { n: name }, tenant.adminToken)).data.createGroup.id as string;
  const groupId = await group('Staff');
  const emptyGroupId = await group('Empty');
  await t.gql(`mutation($i: GroupMembersInput!) { addGroupMembers(input: $i) { __typename } }`, { i: { groupId, userIds: [userId] } }, tenant.adminToken);
  const federatedDomain = `fed.${tenant.domain}`;
  await t.gql(
    `mutation($i: AddFederatedDomainInput!) { addFederatedDomain(input: $i) { __typename } }`,
    { i: { domain: federatedDomain, signInUrl: 'https://idp.example.org/' } },
    tenant.adminToken,
  );
  const userToken = await signIn(t, `plain@${tenant.domain}`, 'plain user password');
  const registered = await t.gql(
    `mutation($i: RegisterApplicationInput!) { registerApplication(input: $i) { ... on RegisteredApplication { clientId } } }`,
    { i: { name: 'Payroll', redirectUris: ['https://payroll.example.org/callback'], postLogoutRedirectUris: [], confidential: true } },
    tenant.adminToken,
  );
  const clientId = registered.data.registerApplication.clientId as string;
  const fixture: Fixture = { domain: tenant.domain, userId, victimId, groupId, emptyGroupId, federatedDomain, clientId };
  return { ...tenant, fixture, userToken };
}

/** Everything an admin of the tenant can see, to prove a refused call changed nothing. */
async function snapshot(adminToken: string) {
  // Several small queries: one large one would exceed the per-query cost limit.
  const parts = [
    '{ users(first: 100) { edges { node { id userPrincipalName displayName isAdmin disabled } } } }',
    '{ groups(first: 10) { edges { node { id name members(first: 10) { edges { node { id } } } } } } }',
    '{ tenant { name domains settings { challengeLifetimeSeconds } federatedDomains { domain signInUrl } } }',
    '{ phoneSignInPolicy { isSaved enabled legacyPhoneSignInEnabled includeTargets { targetId } } }',
    '{ auditLogs(first: 100) { edges { node { id action } } } }',
    '{ applications { clientId name redirectUris } }',
  ];
  const data: Record<string, any> = {};
  for (const query of parts) {
    const result = await t.gql(query, {}, adminToken);
    expect(result.errors).toBeUndefined();
    Object.assign(data, result.data);
  }
  // Sign-ins of the plain user are audited; the snapshot is about changes.
  data.auditLogs.edges = data.auditLogs.edges.filter((e: any) => !e.node.action.startsWith('signIn.'));
  return data;
}

const codeOf = (response: GraphQLResponse, name: string) => response.errors?.[0]?.extensions?.code ?? response.data?.[name]?.code ?? null;

describe('authorisation matrix over every admin operation', () => {
  it('refuses anonymous callers, plain users and the operator, and confines an admin of another tenant', async () => {
    const a = await buildTenant();
    const b = await buildTenant();
    const before = await snapshot(a.adminToken);

    for (const op of operations) {
      const variables = op.variables(a.fixture);
      const anonymous = await t.gql(op.query, variables);
      expect(codeOf(anonymous, op.name), `${op.name} as anonymous`).toBe('UNAUTHENTICATED');
      const user = await t.gql(op.query, variables, a.userToken);
      expect(codeOf(user, op.name), `${op.name} as a plain user`).toBe('FORBIDDEN');
      const operator = await t.gql(op.query, variables, t.operatorToken);
      expect(codeOf(operator, op.name), `${op.name} as the operator`).toBe('FORBIDDEN');
      for (const denied of [anonymous, user, operator]) expect(denied.data?.[op.name] ?? null, op.name).toBeNull();

      const foreign = await t.gql(op.query, variables, b.adminToken);
      if (op.foreign === 'OWN_TENANT') {
        expect(foreign.errors, `${op.name} as another tenant's admin`).toBeUndefined();
        expect(foreign.data?.[op.name] ?? null, `${op.name} as another tenant's admin`).not.toBeNull();
        expect(foreign.data[op.name]?.code, op.name).toBeUndefined();
      } else {
        expect(codeOf(foreign, op.name), `${op.name} as another tenant's admin`).toBe(op.foreign);
      }
    }
    // Whatever the foreign admin saw, it was their own tenant.
    const foreignTenant = await t.gql('{ tenant { id } users { edges { node { id } } } }', {}, b.adminToken);
    expect(foreignTenant.data.tenant.id).toBe(b.tenantId);
    expect(foreignTenant.data.users.edges.map((e: any) => e.node.id)).not.toContain(a.fixture.userId);

    expect(await snapshot(a.adminToken)).toEqual(before);
  });

  it('lets the tenant admin perform every admin operation', async () => {
    const a = await buildTenant();
    for (const op of operations) {
      const result = await t.gql(op.query, op.variables(a.fixture), a.adminToken);
      expect(result.errors, op.name).toBeUndefined();
      // A null answer has no error code either: it must be an answer.
      expect(result.data?.[op.name] ?? null, op.name).not.toBeNull();
      expect(result.data[op.name]?.code, `${op.name}: ${JSON.stringify(result.data[op.name])}`).toBeUndefined();
    }
  });

  it('covers every admin field of the schema', async () => {
    const { schema } = await import('../src/graphql/schema.js');
    const adminOnly = new Set(operations.map((op) => op.name));
    const fields = [...Object.values(schema.getQueryType()!.getFields()), ...Object.values(schema.getMutationType()!.getFields())];
    const admin = fields.filter((f) => /^Admin:/.test(f.description ?? '')).map((f) => f.name);
    expect(admin.filter((name) => !adminOnly.has(name))).toEqual([]);
  });
});
