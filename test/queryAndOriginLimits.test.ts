import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { type TestServer, createTenant, startTestServer } from './harness.js';

let dev: TestServer;
let prod: TestServer;
beforeAll(async () => {
  [dev, prod] = await Promise.all([startTestServer(), startTestServer({ NODE_ENV: 'production', ALLOWED_ORIGINS: 'https://login.example.com,https://app.example.com' })]);
}, 180_000);
afterAll(() => Promise.all([dev?.stop(), prod?.stop()]));

const EVIL = 'https://evil.example';
const ownOrigin = (t: TestServer) => new URL(t.server.issuer).origin;
const post = (t: TestServer, headers: Record<string, string>, query = '{ __typename }') =>
  fetch(`${t.url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify({ query }) });

/** How a WebSocket upgrade with these headers ends: 'open', or the refusing HTTP status. */
function upgrade(t: TestServer, origin?: string): Promise<'open' | number> {
  const socket = new WebSocket(`${t.url.replace(/^http/, 'ws')}/graphql`, 'graphql-transport-ws', origin ? { origin } : {});
  socket.on('error', () => {});
  return new Promise((resolve) => {
    socket.on('open', () => {
      socket.close();
      resolve('open');
    });
    socket.on('unexpected-response', (_req, res) => resolve(res.statusCode!));
  });
}

describe('origins', () => {
  // Attack: a page on another site driving the signed-in user's browser against the API (CSRF), or reading its answers.
  it('refuses requests and CORS from other origins, allows its own and requests without an Origin', async () => {
    const evil = await post(dev, { origin: EVIL });
    expect(evil.status).toBe(403);
    expect(evil.headers.get('access-control-allow-origin')).toBeNull();
    expect(((await evil.json()) as any).errors[0]).toMatchObject({ extensions: { code: 'FORBIDDEN_ORIGIN' }, message: expect.stringContaining('ALLOWED_ORIGINS') });
    const preflight = await fetch(`${dev.url}/graphql`, { method: 'OPTIONS', headers: { origin: EVIL, 'access-control-request-method': 'POST' } });
    expect(preflight.headers.get('access-control-allow-origin')).toBeNull();
    expect(preflight.headers.get('access-control-allow-credentials')).toBeNull();

    const own = await post(dev, { origin: ownOrigin(dev) });
    expect(own.status).toBe(200);
    expect(own.headers.get('access-control-allow-origin')).toBe(ownOrigin(dev));
    expect((await post(dev, {})).status).toBe(200);
  });

  // Attack: cross-site WebSocket hijacking: a page elsewhere opening a socket with the user's browser.
  it('refuses WebSocket upgrades from other origins with 403', async () => {
    expect(await upgrade(dev, EVIL)).toBe(403);
    expect(await upgrade(dev, ownOrigin(dev))).toBe('open');
    expect(await upgrade(dev)).toBe('open');
  });

  it('takes the allowed origins from ALLOWED_ORIGINS', async () => {
    expect((await post(prod, { origin: 'https://app.example.com' })).headers.get('access-control-allow-origin')).toBe('https://app.example.com');
    expect((await post(prod, { origin: ownOrigin(prod) })).status).toBe(403);
    expect(await upgrade(prod, 'https://login.example.com')).toBe('open');
    expect(await upgrade(prod, ownOrigin(prod))).toBe(403);
  });
});

describe('query limits', () => {
  const nested = (inner: string) => `{ groups { edges { node { members { edges { node { ${inner} } } } } } } }`;

  // Attack: deeply nested documents that multiply the work per request.
  it('refuses documents deeper than 8, and runs our deepest (7)', async () => {
    const { adminToken } = await createTenant(dev);
    const deepest = await dev.gql(nested('id'), {}, adminToken);
    expect(deepest.errors).toBeUndefined();
    const tooDeep = await dev.gql(nested('... on User { ... on User { id } }'), {}, adminToken);
    expect(tooDeep.data).toBeUndefined();
    expect(tooDeep.errors![0]!.message).toMatch(/depth limit of 8 exceeded/);
  });

  // Attack: mapping the whole API anonymously in production (introspection, "Did you mean" suggestions).
  it('shows the schema in production to admins and the operator only, and makes no suggestions there', async () => {
    const introspection = '{ __schema { queryType { name } } }';
    const anonymous = await prod.gql(introspection);
    expect(anonymous.data).toBeUndefined();
    expect(anonymous.errors![0]!.extensions?.code).toBe('FORBIDDEN');
    expect((await prod.gql('{ __type(name: "User") { name } }')).errors![0]!.extensions?.code).toBe('FORBIDDEN');
    const { adminToken, domain } = await createTenant(prod);
    expect((await prod.gql(introspection, {}, adminToken)).data).toEqual({ __schema: { queryType: { name: 'Query' } } });
    expect((await prod.gql(introspection, {}, prod.operatorToken)).data).toEqual({ __schema: { queryType: { name: 'Query' } } });
    // A signed-in user who is not an admin is anonymous here.
    const user = await prod.gql(
      `mutation($i: CreateUserInput!) { createUser(input: $i) { __typename } }`,
      { i: { userPrincipalName: `plain@${domain}`, displayName: 'Plain', password: 'correct horse battery staple' } },
      adminToken,
    );
    expect(user.data?.createUser.__typename).not.toMatch(/Error/);
    const signedIn = await prod.gql(
      `mutation { signInWithPassword(input: { userPrincipalName: "plain@${domain}", password: "correct horse battery staple" }) { ... on SignInSuccess { accessToken } } }`,
    );
    expect((await prod.gql(introspection, {}, signedIn.data.signInWithPassword.accessToken)).errors![0]!.extensions?.code).toBe('FORBIDDEN');
    // __typename is not introspection of the schema.
    expect((await prod.gql('{ __typename }')).data).toEqual({ __typename: 'Query' });

    const typo = '{ viewr { id } }';
    expect(JSON.stringify((await prod.gql(typo)).errors)).not.toMatch(/Did you mean/);
    expect(JSON.stringify((await dev.gql(typo)).errors)).toMatch(/Did you mean \\"viewer\\"/);
    expect((await dev.gql(introspection)).data).toEqual({ __schema: { queryType: { name: 'Query' } } });
  });
});
