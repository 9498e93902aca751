import { getIntrospectionQuery } from 'graphql';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTenant, startTestServer, type TestServer } from './harness.js';

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer();
});
afterAll(() => t.stop());

describe('foundation over real HTTP', () => {
  it('answers health and readiness', async () => {
    expect((await fetch(`${t.url}/health`)).status).toBe(200);
    const ready = await fetch(`${t.url}/ready`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ status: 'ready' });
  });

  it('publishes its issuer and keys', async () => {
    const discovery = await (await fetch(`${t.url}/.well-known/openid-configuration`)).json();
    expect(discovery.issuer).toBe(t.url);
    expect(discovery.jwks_uri).toBe(`${t.url}/.well-known/jwks.json`);
    const jwks = await (await fetch(discovery.jwks_uri)).json();
    expect(jwks.keys).toHaveLength(1);
    expect(jwks.keys[0]).toMatchObject({ kty: 'EC', crv: 'P-256', alg: 'ES256', use: 'sig' });
    expect(jwks.keys[0].d).toBeUndefined();
  });

  it('issues an admin token that verifies against the published JWKS', async () => {
    const { adminToken, adminId, tenantId } = await createTenant(t);
    const jwks = createRemoteJWKSet(new URL(`${t.url}/.well-known/jwks.json`));
    const { payload, protectedHeader } = await jwtVerify(adminToken, jwks, { issuer: t.url, audience: t.url, currentDate: t.clock.now() });
    expect(protectedHeader.alg).toBe('ES256');
    expect(payload).toMatchObject({ sub: adminId, tid: tenantId, amr: ['pwd'] });
    expect(typeof payload.sid).toBe('string');
    const viewer = await t.gql('{ viewer { id isAdmin } }', {}, adminToken);
    expect(viewer.data.viewer).toEqual({ id: adminId, isAdmin: true });
  });

  it('refuses a token after sign-out and after it expires', async () => {
    const { adminToken } = await createTenant(t);
    const out = await t.gql('mutation { signOut }', {}, adminToken);
    expect(out.data.signOut).toBe(true);
    const after = await t.gql('{ viewer { id } }', {}, adminToken);
    expect(after.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');

    const second = await createTenant(t);
    t.clock.advance(3601);
    const expired = await t.gql('{ viewer { id } }', {}, second.adminToken);
    expect(expired.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    expect(expired.errors?.[0]?.message).toMatch(/expired/);
  });

  it('answers a wrong password and an unknown user the same way', async () => {
    const { adminUserPrincipalName, domain } = await createTenant(t);
    const attempt = (userPrincipalName: string) =>
      t.gql(
        `mutation($i: SignInWithPasswordInput!) { signInWithPassword(input: $i) { __typename ... on Error { code message } } }`,
        { i: { userPrincipalName, password: 'not the password' } },
      );
    const wrong = await attempt(adminUserPrincipalName);
    const unknown = await attempt(`nobody@${domain}`);
    expect(wrong.data.signInWithPassword.code).toBe('INVALID_CREDENTIALS');
    expect(unknown.data).toEqual(wrong.data);
  });

  it('refuses the operator API without the operator token', async () => {
    const { adminToken } = await createTenant(t);
    const mutation = `mutation { createTenant(input: { name: "X", domain: "x.example.org", adminUserPrincipalName: "a@x.example.org", adminPassword: "password123" }) { __typename } }`;
    expect((await t.gql(mutation)).errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    expect((await t.gql(mutation, {}, adminToken)).errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    expect((await t.gql(mutation, {}, 'Bearer wrong-token')).errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
  });

  it('rejects a duplicate domain and malformed input with typed errors', async () => {
    const { domain } = await createTenant(t);
    const create = (input: Record<string, string>) =>
      t.gql(
        `mutation($input: CreateTenantInput!) { createTenant(input: $input) { __typename ... on Error { code message } ... on InputValidationError { issues { path message } } } }`,
        { input },
        t.operatorToken,
      );
    const duplicate = await create({ name: 'Again', domain, adminUserPrincipalName: `a@${domain}`, adminPassword: 'password123' });
    expect(duplicate.data.createTenant).toMatchObject({ __typename: 'DomainError', code: 'ALREADY_EXISTS' });
    const malformed = await create({ name: 'Fabrikam', domain: 'not a domain', adminUserPrincipalName: 'nope', adminPassword: 'password123' });
    expect(malformed.data.createTenant).toMatchObject({ __typename: 'InputValidationError', code: 'INVALID_INPUT' });
    expect(malformed.data.createTenant.issues[0].path).toEqual(['input', 'domain']);
    const oversized = await create({ name: 'x'.repeat(300), domain: 'big.example.org', adminUserPrincipalName: 'a@big.example.org', adminPassword: 'password123' });
    expect(oversized.data.createTenant.issues[0]).toMatchObject({ path: ['input', 'name'], message: 'A name has at most 256 characters.' });
    const foreignAdmin = await create({ name: 'Fabrikam', domain: 'fabrikam.example.org', adminUserPrincipalName: 'a@elsewhere.example.org', adminPassword: 'password123' });
    expect(foreignAdmin.data.createTenant).toMatchObject({ __typename: 'DomainError', code: 'INVALID_INPUT' });
    const stillFree = await create({ name: 'Fabrikam', domain: 'fabrikam.example.org', adminUserPrincipalName: 'a@fabrikam.example.org', adminPassword: 'password123' });
    expect(stillFree.data.createTenant.__typename).toBe('MutationCreateTenantSuccess');
  });

  it('serves GraphiQL and answers introspection', async () => {
    const page = await fetch(`${t.url}/graphql`, { headers: { accept: 'text/html' } });
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('Phone sign-in');
    const introspection = await t.gql(getIntrospectionQuery());
    expect(introspection.errors).toBeUndefined();
    expect(introspection.data.__schema.queryType.name).toBe('Query');
  });

  // Attack: resource exhaustion through deeply nested, aliased or huge documents.
  it('refuses abusive documents with a clear error, not a 500', async () => {
    const aliases = Array.from({ length: 50 }, (_, i) => `a${i}: viewer { id }`).join(' ');
    const aliased = await t.gql(`{ ${aliases} }`);
    expect(aliased.status).toBeLessThan(500);
    expect(aliased.errors?.[0]?.message).toMatch(/aliases/i);
    const huge = await fetch(`${t.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: '{ __typename }', variables: { pad: 'x'.repeat(2 * 1024 * 1024) } }),
    });
    expect(huge.status).toBe(413);
    expect((await huge.json()).errors[0].extensions.code).toBe('PAYLOAD_TOO_LARGE');
    const malformed = await fetch(`${t.url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{not json' });
    expect(malformed.status).toBe(400);
  });
});
