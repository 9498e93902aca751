import { count, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { auditLogs, signInLogs, usedAssertionIds, users } from '../src/db/schema.js';
import { allowPhoneSignIn, deviceAuthorization, enablePhoneSignIn, registerPhone } from './authenticatorClient.js';
import { createTenant, startTestServer, type TestServer } from './harness.js';

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer();
});
afterAll(() => t.stop());

const ERR = '... on Error { code message } ... on InputValidationError { issues { path message } }';
const rows = (table: typeof users | typeof auditLogs | typeof signInLogs | typeof usedAssertionIds) =>
  t.server.app.db.select({ n: count() }).from(table).then(([row]) => row!.n);
/** What a refused call may not have written. */
const writes = async () => ({ users: await rows(users), audit: await rows(auditLogs), signInLogs: await rows(signInLogs), assertionIds: await rows(usedAssertionIds) });

describe('control characters in GraphQL inputs', () => {
  // Attack: a NUL in a display name; Postgres refuses \u0000 in text, which answered INTERNAL_SERVER_ERROR.
  it('refuses a NUL in createUser displayName as INVALID_INPUT and writes nothing', async () => {
    const tenant = await createTenant(t);
    const before = await writes();
    const result = await t.gql(
      `mutation($input: CreateUserInput!) { createUser(input: $input) { __typename ${ERR} } }`,
      { input: { userPrincipalName: `nul@${tenant.domain}`, displayName: 'Adele\u0000Vance' } },
      tenant.adminToken,
    );
    expect(result.status).toBe(200);
    expect(result.errors).toBeUndefined();
    expect(result.data.createUser).toMatchObject({ __typename: 'InputValidationError', code: 'INVALID_INPUT', issues: [{ path: ['input', 'displayName'] }] });
    expect(result.data.createUser.issues[0].message).toContain('U+0000');
    expect(await writes()).toEqual(before);
  });

  // Attack: line breaks, tabs, escape sequences and C1 controls smuggled into names shown to people and written to logs.
  it('refuses every control character in names, and keeps accepting ordinary Unicode', async () => {
    const tenant = await createTenant(t);
    const createUser = (displayName: string) =>
      t.gql(
        `mutation($input: CreateUserInput!) { createUser(input: $input) { __typename ... on User { displayName } ${ERR} } }`,
        { input: { userPrincipalName: `u${Math.random().toString(36).slice(2)}@${tenant.domain}`, displayName } },
        tenant.adminToken,
      );
    for (const bad of ['Adele\nVance', 'Adele\tVance', 'Adele\rVance', '\u001b[31mAdele', 'Adele\u007f', 'Adele\u0085Vance', 'Adele\u009b', 'Adele\ud800']) {
      const result = await createUser(bad);
      expect(result.data.createUser, JSON.stringify(bad)).toMatchObject({ __typename: 'InputValidationError', code: 'INVALID_INPUT' });
    }
    for (const good of ['Adèle Vance', 'アデル・ヴァンス', 'Adele 👩🏽‍💻', 'Ådele O’Brien-Smith']) {
      expect((await createUser(good)).data.createUser).toEqual({ __typename: 'User', displayName: good });
    }
  });

  // Attack: a NUL or control character in a sign-in name or password of an anonymous sign-in, to crash or fill the sign-in log.
  it('answers control characters in beginSignIn and signInWithPassword with INVALID_INPUT, logging nothing', async () => {
    const tenant = await createTenant(t);
    const before = await writes();
    const begin = (userPrincipalName: string, appName = 'Contoso Mail') =>
      t.gql(`mutation($input: BeginSignInInput!) { beginSignIn(input: $input) { __typename ${ERR} } }`, { input: { userPrincipalName, appName } });
    const password = (userPrincipalName: string, secret: string) =>
      t.gql(`mutation($input: SignInWithPasswordInput!) { signInWithPassword(input: $input) { __typename ${ERR} } }`, { input: { userPrincipalName, password: secret } });
    const answers = [
      await begin(`admin\u0000@${tenant.domain}`),
      await begin(`admin@${tenant.domain}\u0000`),
      await begin(`\u0000admin@${tenant.domain}`),
      await begin(`admin@${tenant.domain}`, 'Contoso\u0000Mail'),
      await password(`admin\u0000@${tenant.domain}`, tenant.adminPassword),
      await password(tenant.adminUserPrincipalName, `${tenant.adminPassword}\u0000`),
      await password(`admin@${tenant.domain}\n`, tenant.adminPassword),
    ];
    for (const answer of answers) {
      expect(answer.status).toBe(200);
      expect(answer.errors).toBeUndefined();
      expect(Object.values(answer.data)[0]).toMatchObject({ __typename: 'InputValidationError', code: 'INVALID_INPUT' });
    }
    expect(await writes()).toEqual(before);
  });

  // Attack: control characters in ids and top-level arguments, which reach SQL without an input type around them.
  it('refuses control characters in top-level arguments and list elements', async () => {
    const tenant = await createTenant(t);
    const deleted = await t.gql(`mutation($id: ID!) { deleteUser(id: $id) { __typename ${ERR} } }`, { id: '\u0000' }, tenant.adminToken);
    expect(deleted.data.deleteUser).toMatchObject({ code: 'INVALID_INPUT', issues: [{ path: ['id'] }] });
    const domain = await t.gql(`mutation($domain: String!) { removeFederatedDomain(domain: $domain) { __typename ${ERR} } }`, { domain: `x\u0000.${tenant.domain}` }, tenant.adminToken);
    expect(domain.data.removeFederatedDomain).toMatchObject({ code: 'INVALID_INPUT', issues: [{ path: ['domain'] }] });
    const members = await t.gql(
      `mutation($input: GroupMembersInput!) { addGroupMembers(input: $input) { __typename ${ERR} } }`,
      { input: { groupId: tenant.adminId, userIds: [tenant.adminId, 'x\u0000'] } },
      tenant.adminToken,
    );
    expect(members.data.addGroupMembers).toMatchObject({ code: 'INVALID_INPUT', issues: [{ path: ['input', 'userIds', '1'] }] });
  });

  // Attack: control characters in query arguments (search, filters, cursors, an attempt's secret) read by anyone, some anonymously.
  it('answers control characters in query and subscription arguments with BAD_USER_INPUT', async () => {
    const tenant = await createTenant(t);
    const queries: Array<[string, Record<string, unknown>, string | undefined]> = [
      ['query($s: String) { users(search: $s) { edges { node { id } } } }', { s: 'ad\u0000' }, tenant.adminToken],
      ['query($c: String) { users(after: $c) { edges { node { id } } } }', { c: '\u0000' }, tenant.adminToken],
      ['query($id: ID!) { user(id: $id) { id } }', { id: '\u0000' }, tenant.adminToken],
      ['query($a: String) { auditLogs(filter: { action: $a }) { edges { node { id } } } }', { a: 'user.\u0000' }, tenant.adminToken],
      ['query($id: ID!, $s: String!) { signInAttempt(attemptId: $id, attemptSecret: $s) { id } }', { id: '\u0000', s: 'x' }, undefined],
      ['query($id: ID!, $s: String!) { signInAttempt(attemptId: $id, attemptSecret: $s) { id } }', { id: tenant.adminId, s: 'x\u001b' }, undefined],
    ];
    for (const [query, variables, token] of queries) {
      const result = await t.gql(query, variables, token);
      expect(result.status, query).toBe(200);
      expect(result.errors, query).toHaveLength(1);
      expect(result.errors![0]!.extensions!.code, query).toBe('BAD_USER_INPUT');
      expect(result.errors![0]!.message, query).toMatch(/control character U\+00(00|1B)/);
    }
    const subscription = t.ws().iterate({
      query: 'subscription($id: ID!, $s: String!) { signInAttempt(attemptId: $id, attemptSecret: $s) { id } }',
      variables: { id: '\u0000', s: 'x' },
    });
    expect(await subscription.next()).toMatchObject({ value: { errors: [{ extensions: { code: 'BAD_USER_INPUT' } }] } });
  });

  // Attack: a date the database cannot store (before year 1, or with six digits) in a log filter, which was a 500;
  // and text JavaScript's date parser reads into some other instant (a NUL it skips, 31 February).
  it('answers a DateTime outside the years 0001 to 9999, or not RFC 3339, with BAD_USER_INPUT', async () => {
    const tenant = await createTenant(t);
    const logs = (from: string) => t.gql('query($from: DateTime) { auditLogs(filter: { from: $from }) { edges { node { id } } } }', { from }, tenant.adminToken);
    for (const from of ['-271821-04-20T00:00:00.000Z', '0000-01-01T00:00:00Z', '+275760-09-13T00:00:00.000Z', '+010000-01-01T00:00:00Z', '197\u00000-01-01T00:00:00.000Z', '2026-02-31T00:00:00Z']) {
      const result = await logs(from);
      expect(result.status, from).toBeLessThan(500);
      expect(result.errors![0]!.extensions!.code, from).toBe('BAD_USER_INPUT');
      expect(result.errors![0]!.message, from).toContain('years 0001 to 9999');
    }
    for (const from of ['0001-01-01T00:00:00Z', '9999-12-31T23:59:59.999Z']) expect((await logs(from)).errors, from).toBeUndefined();
  });
});

describe('control characters in signed messages and connection_init', () => {
  // Attack: a NUL in a device assertion's jti, which is stored to refuse replays; Postgres refused it and the answer was a 500.
  it('refuses a device assertion whose jti holds a NUL with 401 UNAUTHENTICATED, storing no jti', async () => {
    const tenant = await createTenant(t);
    await allowPhoneSignIn(t, tenant.tenantId);
    const phone = await registerPhone(t, tenant.adminToken);
    const before = await rows(usedAssertionIds);
    const result = await t.gql('{ authenticatorDevice { id } }', {}, await deviceAuthorization(t, phone, { jti: `${'a'.repeat(22)}\u0000` }));
    expect(result.status).toBe(401);
    expect(result.errors![0]!.extensions!.code).toBe('UNAUTHENTICATED');
    expect(result.errors![0]!.message).toContain('(MALFORMED)');
    expect(result.errors![0]!.message).toContain('"jti" contains the control character U+0000');
    expect(await rows(usedAssertionIds)).toBe(before);
    const refused = await t.server.app.db.select({ reasonCode: auditLogs.reasonCode }).from(auditLogs).where(eq(auditLogs.targetId, phone.deviceId!));
    expect(refused.map((row) => row.reasonCode)).toContain('ASSERTION_MALFORMED');
    // The same device, signing properly, is still let in.
    expect((await t.gql('{ authenticatorDevice { id } }', {}, await deviceAuthorization(t, phone))).status).toBe(200);
  });

  // Attack: a NUL in a credential proof's jti, stored like an assertion's.
  it('refuses a credential proof whose jti holds a control character with INVALID_PROOF', async () => {
    const tenant = await createTenant(t);
    await allowPhoneSignIn(t, tenant.tenantId);
    const phone = await registerPhone(t, tenant.adminToken, { enable: false });
    const proof = await phone.credentialProof({ audience: t.server.issuer, now: t.clock.now(), jti: `${'b'.repeat(22)}\u0000` });
    const result = await enablePhoneSignIn(t, phone, { proof });
    expect(result.status).toBe(200);
    expect(result.data.enablePhoneSignIn).toMatchObject({ __typename: 'DomainError', code: 'INVALID_PROOF' });
    expect(result.data.enablePhoneSignIn.message).toContain('control character U+0000');
  });

  // Attack: a NUL in the authorization of a graphql-ws connection_init.
  it('closes a WebSocket whose connection_init authorization holds a NUL as unauthorised', async () => {
    for (const authorization of ['Bearer \u0000', 'Device a\u0000.b.c', 'Bearer abc\u0000def']) {
      const socket = new WebSocket(`${t.url.replace(/^http/, 'ws')}/graphql`, 'graphql-transport-ws');
      const closed = new Promise<number>((resolve) => socket.on('close', (code) => resolve(code)));
      socket.on('open', () => socket.send(JSON.stringify({ type: 'connection_init', payload: { authorization } })));
      expect(await closed, JSON.stringify(authorization)).toBe(4401);
    }
    expect((await t.gql('{ __typename }')).status).toBe(200);
  });
});
