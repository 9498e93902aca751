import { describe, expect, it } from 'vitest';
import { signInLogs } from '../src/db/schema.js';
import { addUser } from './authenticatorClient.js';
import { createTenant, type TestServer } from './harness.js';
import { complete, follow, onlyChallenge, passwordSignIn, phoneUser, respond, serverPerFile, started } from './signInFlow.js';

const t = serverPerFile();

const SIGN_IN_LOG = 'id feedCursor userId userPrincipalName method status reasonCode';
const SIGN_IN_FEED = `subscription($filter: SignInLogFilter, $after: String) { signInLogs(filter: $filter, after: $after) { ${SIGN_IN_LOG} } }`;
const AUDIT_FEED = `subscription($filter: AuditLogFilter, $after: String) { auditLogs(filter: $filter, after: $after) { id feedCursor action targetId result } }`;

/** The feedCursor of the tenant's newest record: subscribing after it sees everything the test does next, however slowly the socket connects. */
async function newestCursor(s: TestServer, admin: { adminToken: string }, log: 'signInLogs' | 'auditLogs') {
  const page = await s.gql(`{ ${log}(first: 1) { edges { node { feedCursor } } } }`, {}, admin.adminToken);
  return page.data[log].edges[0].node.feedCursor as string;
}

const next = async (feed: ReturnType<typeof follow>) => {
  const event = await feed.next();
  if (event === 'done' || event.errors) throw new Error(`expected a record, got ${JSON.stringify(event)}`);
  return Object.values(event.data as object)[0] as Record<string, any>;
};

describe('the live sign-in log', () => {
  // Attack: an admin of one tenant follows the live feed hoping to watch another tenant's sign-ins.
  it("hands a signed-in admin their own tenant's sign-ins, in order, and never another tenant's", async () => {
    const mine = await createTenant(t);
    const theirs = await createTenant(t);
    const alice = await addUser(t, mine);
    const mallory = await addUser(t, theirs);
    const feed = follow(t.ws(mine.adminToken), SIGN_IN_FEED, { after: await newestCursor(t, mine, 'signInLogs') });

    // The other tenant's sign-in is written first: had it leaked, it would come first.
    await passwordSignIn(t, mallory.userPrincipalName, mallory.password);
    await passwordSignIn(t, alice.userPrincipalName, 'not the password');
    await passwordSignIn(t, mallory.userPrincipalName, 'not the password');
    await passwordSignIn(t, alice.userPrincipalName, alice.password);
    const first = await next(feed);
    const second = await next(feed);
    expect([first, second]).toMatchObject([
      { userId: alice.userId, method: 'PASSWORD', status: 'FAILURE', reasonCode: 'INVALID_PASSWORD' },
      { userId: alice.userId, method: 'PASSWORD', status: 'SUCCESS' },
    ]);
    expect(Number(second.id)).toBeGreaterThan(Number(first.id));
    await feed.close();
  });

  it('sends a phone sign-in again when it changes, with a new cursor each time', async () => {
    const { tenant, user, phone } = await phoneUser(t);
    const feed = follow(t.ws(tenant.adminToken), SIGN_IN_FEED, { filter: { userId: user.userId }, after: await newestCursor(t, tenant, 'signInLogs') });
    const attempt = await started(t, user.userPrincipalName);
    const begun = await next(feed);
    expect(begun).toMatchObject({ method: 'PHONE_SIGN_IN', status: 'IN_PROGRESS' });
    await respond(t, phone, await onlyChallenge(t, phone), { number: attempt.number });
    expect((await complete(t, attempt)).data.completeSignIn.__typename).toBe('SignInSuccess');
    // The approval moves the row too (the answering device is recorded), then completeSignIn ends it.
    const changes = [begun];
    while (changes.at(-1)!.status !== 'SUCCESS') changes.push(await next(feed));
    expect(changes.map((c) => c.id)).toEqual(changes.map(() => begun.id));
    expect(new Set(changes.map((c) => c.feedCursor)).size).toBe(changes.length);
    await feed.close();
  });

  it('replays from the last cursor a console saw after it reconnects, then goes on live', async () => {
    const tenant = await createTenant(t);
    const alice = await addUser(t, tenant);
    const filter = { userId: alice.userId };
    const first = follow(t.ws(tenant.adminToken), SIGN_IN_FEED, { filter, after: await newestCursor(t, tenant, 'signInLogs') });
    await passwordSignIn(t, alice.userPrincipalName, alice.password);
    const seen = await next(first);
    await first.close();

    // Written while the console was away.
    await passwordSignIn(t, alice.userPrincipalName, 'wrong once');
    await passwordSignIn(t, alice.userPrincipalName, 'wrong twice');
    const resumed = follow(t.ws(tenant.adminToken), SIGN_IN_FEED, { filter, after: seen.feedCursor });
    const missed = [await next(resumed), await next(resumed)];
    expect(missed.map((r) => r.status)).toEqual(['FAILURE', 'FAILURE']);
    expect(Number(missed[0]!.id)).toBeGreaterThan(Number(seen.id));
    expect(Number(missed[1]!.id)).toBeGreaterThan(Number(missed[0]!.id));
    await passwordSignIn(t, alice.userPrincipalName, alice.password);
    expect(await next(resumed)).toMatchObject({ status: 'SUCCESS' });
    await resumed.close();
  });

  it('refuses a cursor that is not one, one too far behind, and callers who are not admins', async () => {
    const tenant = await createTenant(t);
    const user = await addUser(t, tenant);
    const refusal = async (token: string, variables: Record<string, unknown>) => {
      const event = await follow(t.ws(token), SIGN_IN_FEED, variables).next();
      return event === 'done' ? event : event.errors?.[0]?.extensions?.code;
    };
    expect(await refusal(tenant.adminToken, { after: '12' })).toBe('BAD_USER_INPUT');
    expect(await refusal(tenant.adminToken, { filter: { userId: 'nope' } })).toBe('BAD_USER_INPUT');
    expect(await refusal(user.token, {})).toBe('FORBIDDEN');

    const old = await newestCursor(t, tenant, 'signInLogs');
    // Set-up: a backlog longer than a subscription replays, written straight to the log.
    const row = { tenantId: tenant.tenantId, userPrincipalName: user.userPrincipalName, method: 'PASSWORD', status: 'FAILURE' };
    await t.server.app.db.insert(signInLogs).values(Array.from({ length: 1001 }, () => row));
    expect(await refusal(tenant.adminToken, { after: old })).toBe('CURSOR_TOO_OLD');
  });
});

describe('the live audit log', () => {
  it("hands admins their tenant's audit records as they are written, filtered like the query, and replays after a reconnect", async () => {
    const tenant = await createTenant(t);
    const other = await createTenant(t);
    const filter = { action: 'user.create' };
    const createUser = (admin: { adminToken: string; domain: string }, name: string) =>
      admin === other
        ? t.gql('mutation($i: CreateUserInput!) { createUser(input: $i) { __typename } }', { i: { userPrincipalName: `${name}@${admin.domain}`, displayName: name } }, admin.adminToken)
        : t.gql('mutation($i: CreateUserInput!) { createUser(input: $i) { ... on User { id } } }', { i: { userPrincipalName: `${name}@${admin.domain}`, displayName: name } }, admin.adminToken);
    const feed = follow(t.ws(tenant.adminToken), AUDIT_FEED, { filter, after: await newestCursor(t, tenant, 'auditLogs') });
    await createUser(other, 'eve');
    await t.gql('mutation($i: CreateGroupInput!) { createGroup(input: $i) { __typename } }', { i: { name: 'Not a user' } }, tenant.adminToken);
    const bob = await createUser(tenant, 'bob');
    const seen = await next(feed);
    expect(seen).toMatchObject({ action: 'user.create', targetId: bob.data.createUser.id, result: 'SUCCESS' });
    await feed.close();

    const carol = await createUser(tenant, 'carol');
    const resumed = follow(t.ws(tenant.adminToken), AUDIT_FEED, { filter, after: seen.feedCursor });
    expect(await next(resumed)).toMatchObject({ action: 'user.create', targetId: carol.data.createUser.id });
    const dave = await createUser(tenant, 'dave');
    expect(await next(resumed)).toMatchObject({ action: 'user.create', targetId: dave.data.createUser.id });
    await resumed.close();
  });
});

// Ids and transaction numbers are handed out before commit, so rows can commit out of order; the
// feed must hold a later row back until every earlier transaction is settled, or a console that
// resumes after the later one would never see the earlier. Two connections at once: Postgres only.
describe.runIf(process.env.DATABASE_URL)('the live feed while an older transaction is still open', () => {
  it('holds back rows until every older transaction is settled, then sends them in order', async () => {
    const tenant = await createTenant(t);
    const alice = await addUser(t, tenant);
    const feed = follow(t.ws(tenant.adminToken), SIGN_IN_FEED, { filter: { userId: alice.userId }, after: await newestCursor(t, tenant, 'signInLogs') });
    const row = { tenantId: tenant.tenantId, userId: alice.userId, userPrincipalName: alice.userPrincipalName, method: 'PASSWORD', status: 'FAILURE' };
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    let written!: () => void;
    const older = new Promise<void>((resolve) => (written = resolve));
    // Set-up: a slow writer's transaction, straight on the database, opened first and committed last.
    const slow = t.server.app.db.transaction(async (tx) => {
      await tx.insert(signInLogs).values({ ...row, reasonCode: 'OLDER' });
      written();
      await released;
    });
    await older;
    await passwordSignIn(t, alice.userPrincipalName, alice.password);
    const first = next(feed);
    expect(await Promise.race([first, new Promise((resolve) => setTimeout(() => resolve('nothing yet'), 500))])).toBe('nothing yet');
    release();
    await slow;
    // The slow writer published nothing: the read that held the later row back comes again and finds it.
    expect((await first).reasonCode).toBe('OLDER');
    expect(await next(feed)).toMatchObject({ status: 'SUCCESS' });
    await feed.close();
  });
});
