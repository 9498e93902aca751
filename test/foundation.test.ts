import { readFileSync } from 'node:fs';
import { getIntrospectionQuery, printSchema, isEnumType, isInputObjectType, isInterfaceType, isObjectType, isSpecifiedScalarType } from 'graphql';
import { SignJWT, createRemoteJWKSet, decodeJwt, decodeProtectedHeader, generateKeyPair, jwtVerify } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTenant, signIn, startTestServer, type TestServer } from './harness.js';

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
    expect(await ready.json()).toEqual({ status: 'ready', database: 'up', events: 'up', degraded: [] });
  });

  it('publishes its issuer and keys', async () => {
    const discovery = await (await fetch(`${t.url}/.well-known/openid-configuration`)).json();
    // One document for the OpenID Connect provider and the API (test/oidc.test.ts checks the endpoints).
    expect(discovery).toMatchObject({
      issuer: t.server.issuer,
      jwks_uri: `${t.server.issuer}/.well-known/jwks.json`,
      response_types_supported: ['code'],
      subject_types_supported: ['public'],
      graphql_endpoint: `${t.server.issuer}/graphql`,
      access_token_audience: t.server.issuer,
    });
    expect(discovery.issuer).toBe(t.url);
    const jwks = await (await fetch(discovery.jwks_uri)).json();
    expect(jwks.keys).toHaveLength(1);
    expect(jwks.keys[0]).toMatchObject({ kty: 'EC', crv: 'P-256', alg: 'ES256', use: 'sig' });
    expect(jwks.keys[0].d).toBeUndefined();
  });

  it('issues an admin token that verifies against the published JWKS', async () => {
    const { adminUserPrincipalName, adminPassword, adminId, tenantId } = await createTenant(t);
    const adminToken = await signIn(t, adminUserPrincipalName, adminPassword);
    const jwks = createRemoteJWKSet(new URL(`${t.url}/.well-known/jwks.json`));
    const { payload, protectedHeader } = await jwtVerify(adminToken, jwks, { issuer: t.url, audience: t.url, currentDate: t.clock.now() });
    expect(protectedHeader).toMatchObject({ alg: 'ES256', typ: 'at+jwt' });
    // RFC 9068: jti and client_id are required; the client is this service's own sign-in, so the issuer.
    expect(payload).toMatchObject({ sub: adminId, tid: tenantId, amr: ['pwd'], aud: t.server.issuer, client_id: t.server.issuer });
    expect(typeof payload.sid).toBe('string');
    expect(Buffer.from(payload.jti!, 'base64url').length).toBeGreaterThanOrEqual(16);
    const again = decodeJwt(await signIn(t, (await createTenant(t)).adminUserPrincipalName, 'correct horse battery staple'));
    expect(again.jti).not.toBe(payload.jti);
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
    expect(expired.errors?.[0]?.message).toBe('Not signed in: the access token has expired. Sign in again.');
  });

  it('says when a bearer token is neither the operator token nor a valid access token', async () => {
    const { adminToken } = await createTenant(t);
    const [header, payload] = adminToken.split('.');
    const { privateKey } = await generateKeyPair('ES256');
    const forged = await new SignJWT(decodeJwt(adminToken)).setProtectedHeader(decodeProtectedHeader(adminToken) as { alg: string }).sign(privateKey);
    for (const token of ['wrong-token', `${header}.${payload}.AAAA`, forged]) {
      const refused = await t.gql('{ viewer { id } }', {}, token);
      expect(refused.errors?.[0]).toMatchObject({
        message: 'The bearer token is neither the operator token nor a valid access token.',
        extensions: { code: 'UNAUTHENTICATED' },
      });
    }
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
    expect(stillFree.data.createTenant.__typename).toBe('CreateTenantPayload');
  });

  // Attack: two operators (or a retried request) racing to claim one domain; the loser must get a typed refusal, not a 500.
  it('gives one of two concurrent tenants for a domain a typed ALREADY_EXISTS and leaves no half-made tenant', async () => {
    const domain = `race${Date.now()}.example.org`;
    const racers = await Promise.all(
      ['One', 'Two', 'Three'].map((name) =>
        t.gql(
          `mutation($input: CreateTenantInput!) { createTenant(input: $input) { __typename ... on Error { code } } }`,
          { input: { name, domain, adminUserPrincipalName: `admin@${domain}`, adminPassword: 'password123' } },
          t.operatorToken,
        ),
      ),
    );
    expect(racers.map((r) => r.errors)).toEqual([undefined, undefined, undefined]);
    const outcomes = racers.map((r) => r.data.createTenant.code ?? r.data.createTenant.__typename).sort();
    expect(outcomes).toEqual(['ALREADY_EXISTS', 'ALREADY_EXISTS', 'CreateTenantPayload']);
    const { tenants } = await import('../src/db/schema.js');
    const { inArray } = await import('drizzle-orm');
    expect(await t.server.app.db.select().from(tenants).where(inArray(tenants.name, ['One', 'Two', 'Three']))).toHaveLength(1);
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

  // Third parties write authenticator apps from the schema alone: nothing in it may be undocumented.
  it('documents every type, field, argument, input field and enum value, including every error code', async () => {
    const { schema } = await import('../src/graphql/schema.js');
    const missing: string[] = [];
    const check = (where: string, description: string | null | undefined) => {
      if (!description?.trim()) missing.push(where);
    };
    for (const type of Object.values(schema.getTypeMap())) {
      if (type.name.startsWith('__') || isSpecifiedScalarType(type)) continue;
      check(type.name, type.description);
      if (isObjectType(type) || isInterfaceType(type)) {
        for (const field of Object.values(type.getFields())) {
          check(`${type.name}.${field.name}`, field.description);
          for (const arg of field.args) check(`${type.name}.${field.name}(${arg.name})`, arg.description);
        }
      }
      if (isInputObjectType(type)) for (const field of Object.values(type.getFields())) check(`${type.name}.${field.name}`, field.description);
      if (isEnumType(type)) for (const value of type.getValues()) check(`${type.name}.${value.name}`, value.description);
    }
    expect(missing).toEqual([]);
  });

  // Clients code against schema.graphql: it must be exactly what the code serves (issue 2).
  it('keeps schema.graphql equal to the printed schema (run npm run schema:print after a change)', async () => {
    const { schema } = await import('../src/graphql/schema.js');
    expect(readFileSync(new URL('../schema.graphql', import.meta.url), 'utf8')).toBe(`${printSchema(schema)}\n`);
  });
});
