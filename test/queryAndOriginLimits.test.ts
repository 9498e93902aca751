import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GraphQLObjectType, getNamedType, isLeafType, isNonNullType } from 'graphql';
import WebSocket from 'ws';
import { schema } from '../src/graphql/schema.js';
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
  it('refuses documents deeper than 8 or with more than 20 aliases, with a code and advice, and runs our deepest (7)', async () => {
    const { adminToken } = await createTenant(dev);
    const deepest = await dev.gql(nested('id'), {}, adminToken);
    expect(deepest.errors).toBeUndefined();
    const tooDeep = await dev.gql(nested('... on User { ... on User { id } }'), {}, adminToken);
    expect(tooDeep.data).toBeUndefined();
    expect(tooDeep.errors![0]).toMatchObject({ extensions: { code: 'GRAPHQL_VALIDATION_FAILED' }, message: expect.stringMatching(/^Query depth limit of 8 exceeded, found 9\. Ask for fewer/) });
    const aliased = await dev.gql(`{ ${Array.from({ length: 21 }, (_, i) => `a${i}: groups(first: 1) { pageInfo { hasNextPage } }`).join(' ')} }`, {}, adminToken);
    expect(aliased.errors![0]).toMatchObject({ extensions: { code: 'GRAPHQL_VALIDATION_FAILED' }, message: expect.stringMatching(/^Aliases limit of 20 exceeded, found 21\. Send the rest/) });
  });

  // Usability: an admin's page of 100 sign-ins with a dozen fields was refused ("Syntax Error: Query
  // Cost limit of 5000 exceeded", with no error code).
  it('runs a page of 100 rows of every list with every field, and refuses a page inside a page with a code and advice', async () => {
    const { adminToken } = await createTenant(dev);
    const leaves = (type: GraphQLObjectType) =>
      Object.values(type.getFields())
        .filter((field) => isLeafType(getNamedType(field.type)) && field.args.every((arg) => !isNonNullType(arg.type)))
        .map((field) => field.name);
    // A node's every field, and every field of each object it links to (the widest a console asks for).
    const everyField = (type: GraphQLObjectType) =>
      Object.values(type.getFields())
        .filter((field) => field.args.length === 0)
        .map((field) => {
          const named = getNamedType(field.type);
          if (isLeafType(named)) return field.name;
          return named instanceof GraphQLObjectType && !named.name.endsWith('Connection') && leaves(named).length ? `${field.name} { ${leaves(named).join(' ')} }` : '';
        })
        .join(' ');
    const pages = Object.values(schema.getQueryType()!.getFields()).filter((field) => field.args.some((arg) => arg.name === 'first'));
    expect(pages.length).toBeGreaterThanOrEqual(5);
    for (const page of pages) {
      const node = getNamedType((getNamedType(page.type) as GraphQLObjectType).getFields().edges!.type) as GraphQLObjectType;
      const nodeType = getNamedType(node.getFields().node!.type) as GraphQLObjectType;
      const required = page.args.filter((arg) => isNonNullType(arg.type)).map((arg) => `${arg.name}: "00000000-0000-4000-8000-000000000000"`);
      const query = `{ ${page.name}(${['first: 100', ...required].join(', ')}) { edges { cursor node { ${everyField(nodeType)} } } pageInfo { hasNextPage endCursor } } }`;
      const answer = await dev.gql(query, {}, adminToken);
      expect(answer.errors?.filter((error) => error.extensions?.code === 'GRAPHQL_VALIDATION_FAILED') ?? [], query).toEqual([]);
    }
    const nestedPages = await dev.gql('{ groups(first: 100) { edges { node { members(first: 100) { edges { node { id } } } } } } }', {}, adminToken);
    expect(nestedPages.data).toBeUndefined();
    expect(nestedPages.errors![0]).toMatchObject({ extensions: { code: 'GRAPHQL_VALIDATION_FAILED' }, message: expect.stringMatching(/^Query Cost limit of 50000 exceeded, found \d+(\.\d+)?\. Ask for fewer fields/) });
  });

  // Attack: armor counted a page by its size only where the document wrote it, so pages sized by
  // variables, or left at the default of 20, counted as one row each.
  it('counts pages sized by variables or by default as the pages they are, and refuses them as it refuses written sizes', async () => {
    const { adminToken } = await createTenant(dev);
    const costly = { extensions: { code: 'GRAPHQL_VALIDATION_FAILED' }, message: expect.stringMatching(/^Query Cost limit of 50000 exceeded, found \d+(\.\d+)?\. Ask for fewer fields/) };
    const sized = 'query($groups: Int, $members: Int) { groups(first: $groups) { edges { node { members(first: $members) { edges { node { id } } } } } } }';
    const large = await dev.gql(sized, { groups: 100, members: 100 }, adminToken);
    expect(large.data).toBeUndefined();
    expect(large.errors![0]).toMatchObject(costly);
    expect((await dev.gql(sized, { groups: 10, members: 10 }, adminToken)).errors).toBeUndefined();
    // Sizes left to the variables' defaults in the document count at those defaults.
    const sizedByDefaults = sized.replace('$groups: Int, $members: Int', '$groups: Int = 100, $members: Int = 100');
    expect((await dev.gql(sizedByDefaults, {}, adminToken)).errors![0]).toMatchObject(costly);
    expect((await dev.gql(sizedByDefaults, { groups: 10, members: 10 }, adminToken)).errors).toBeUndefined();
    // Every field of a member, in pages of the default size: 400 members, as with first: 20 written.
    const user = schema.getType('User') as GraphQLObjectType;
    const fields = Object.values(user.getFields()).filter((field) => isLeafType(getNamedType(field.type)) && field.args.length === 0).map((field) => field.name);
    const byDefault = `{ groups { edges { node { members { edges { node { ${fields.join(' ')} } } } } } } }`;
    expect((await dev.gql(byDefault.replaceAll(/(groups|members) \{/g, '$1(first: 20) {'), {}, adminToken)).errors![0]).toMatchObject(costly);
    const defaulted = await dev.gql(byDefault, {}, adminToken);
    expect(defaulted.data).toBeUndefined();
    expect(defaulted.errors![0]).toMatchObject(costly);
    expect((await dev.gql(sized, {}, adminToken)).errors).toBeUndefined();
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
