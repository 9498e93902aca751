import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { devices, groupMembers, groups, signInLogs, users } from '../src/db/schema.js';
import { createTenant, startTestServer, type TestServer } from './harness.js';

// Fields that read a row per parent (a log's user and device, a group's member count) are
// batched: a page costs the same number of statements whatever its length, and each batch
// stays inside the tenant of the rows that name it.

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer();
});
afterAll(() => t.stop());

const db = () => t.server.app.db;

async function insertUsers(tenant: { tenantId: string; domain: string }, n: number) {
  return db()
    .insert(users)
    .values(Array.from({ length: n }, (_, i) => ({ tenantId: tenant.tenantId, userPrincipalName: `u${i}-${randomBytes(3).toString('hex')}@${tenant.domain}`, displayName: `User ${i}` })))
    .returning();
}

async function insertDevices(tenantId: string, owners: { id: string }[]) {
  return db()
    .insert(devices)
    .values(
      owners.map((owner, i) => ({
        tenantId,
        userId: owner.id,
        displayName: `Phone ${i}`,
        platform: i % 2 ? ('ANDROID' as const) : ('IOS' as const),
        osVersion: '17.4',
        appVersion: '6.2',
        publicJwk: { kty: 'EC', crv: 'P-256', x: 'x', y: 'y' },
        keyThumbprint: randomBytes(16).toString('hex'),
      })),
    )
    .returning();
}

/** Runs `query` and counts the SELECT statements the server issued for it. */
async function countingSelects<T>(query: () => Promise<T>): Promise<{ result: T; selects: number }> {
  const spy = vi.spyOn(db(), 'select');
  try {
    const result = await query();
    return { result, selects: spy.mock.calls.length };
  } finally {
    spy.mockRestore();
  }
}

describe('batched per-row fields', () => {
  it('answers every sign-in log row with its own user and device, in a constant number of statements', async () => {
    const tenant = await createTenant(t);
    const other = await createTenant(t);
    const people = await insertUsers(tenant, 6);
    const phones = await insertDevices(tenant.tenantId, people);
    const [stranger] = await insertUsers(other, 1);
    const [strangersPhone] = await insertDevices(other.tenantId, [stranger!]);
    // Oldest first: the page lists them newest first. Row 6 names no user or device; row 7 names
    // another tenant's user and device, which this tenant's log must never show.
    const rows = [
      ...people.map((person, i) => ({ userId: person.id, deviceId: phones[i]!.id, userPrincipalName: person.userPrincipalName })),
      { userId: null, deviceId: null, userPrincipalName: `nobody@${tenant.domain}` },
      { userId: stranger!.id, deviceId: strangersPhone!.id, userPrincipalName: stranger!.userPrincipalName },
    ];
    for (const row of rows) {
      await db().insert(signInLogs).values({ tenantId: tenant.tenantId, method: 'PASSWORD', status: 'SUCCESS', ...row });
    }

    const page = (first: number) =>
      t.gql(`query($first: Int) { signInLogs(first: $first) { edges { node { userPrincipalName user { id displayName } device { id displayName platform } } } } }`, { first }, tenant.adminToken);
    const small = await countingSelects(() => page(2));
    const whole = await countingSelects(() => page(rows.length));

    const expected = rows
      .map((row) => {
        const i = people.findIndex((p) => p.id === row.userId);
        return {
          userPrincipalName: row.userPrincipalName,
          user: i < 0 ? null : { id: people[i]!.id, displayName: `User ${i}` },
          device: i < 0 ? null : { id: phones[i]!.id, displayName: `Phone ${i}`, platform: i % 2 ? 'ANDROID' : 'IOS' },
        };
      })
      .reverse();
    expect(whole.result.errors).toBeUndefined();
    expect(whole.result.data.signInLogs.edges.map((e: any) => e.node)).toEqual(expected);
    expect(small.result.data.signInLogs.edges.map((e: any) => e.node)).toEqual(expected.slice(0, 2));
    // Per-row reads would cost two more statements for every further row.
    expect(whole.selects).toBe(small.selects);
  });

  it('counts and pages the members of every group of a page, in a constant number of statements', async () => {
    const tenant = await createTenant(t);
    const people = await insertUsers(tenant, 4);
    const made = await db()
      .insert(groups)
      .values(['A', 'B', 'C', 'D', 'E'].map((name) => ({ tenantId: tenant.tenantId, name })))
      .returning();
    // Group A has 0 members, B 1, C 2, … (by name order, as the connection lists them).
    const byName = [...made].sort((a, b) => a.name.localeCompare(b.name));
    const memberships = byName.flatMap((group, n) => people.slice(0, n).map((person) => ({ groupId: group.id, userId: person.id })));
    await db().insert(groupMembers).values(memberships);

    const page = (first: number) =>
      t.gql(
        `query($first: Int) { groups(first: $first) { edges { node { name memberCount members(first: 2) { edges { node { id createdAt } } pageInfo { hasNextPage endCursor } } } } } }`,
        { first },
        tenant.adminToken,
      );
    const small = await countingSelects(() => page(2));
    const whole = await countingSelects(() => page(5));

    const byPrincipalName = [...people].sort((a, b) => (a.userPrincipalName < b.userPrincipalName ? -1 : 1));
    const expected = byName.map((group, n) => {
      const members = byPrincipalName.filter((person) => people.slice(0, n).includes(person));
      const edges = members.slice(0, 2).map(({ id, createdAt }) => ({ node: { id, createdAt: createdAt.toISOString() } }));
      return { name: group.name, memberCount: n, members: { edges, pageInfo: { hasNextPage: n > 2, endCursor: expect.toBeOneOf([null, expect.any(String)]) } } };
    });
    expect(whole.result.errors).toBeUndefined();
    expect(whole.result.data.groups.edges.map((e: any) => e.node)).toEqual(expected);
    expect(small.result.data.groups.edges.map((e: any) => e.node)).toEqual(expected.slice(0, 2));
    expect(whole.selects).toBe(small.selects);

    // The next page of the biggest group (E, 4 members) continues after the cursor.
    const after = whole.result.data.groups.edges[4].node.members.pageInfo.endCursor;
    const next = await t.gql(`query($after: String) { groups { edges { node { members(first: 2, after: $after) { edges { node { id } } pageInfo { hasNextPage hasPreviousPage } } } } } }`, { after }, tenant.adminToken);
    expect(next.data.groups.edges[4].node.members).toEqual({
      edges: byPrincipalName.slice(2, 4).map(({ id }) => ({ node: { id } })),
      pageInfo: { hasNextPage: false, hasPreviousPage: true },
    });
  });

  it("answers every user of a page with their own authenticators and policy, in a constant number of statements", async () => {
    const tenant = await createTenant(t);
    const other = await createTenant(t);
    const people = await insertUsers(tenant, 5);
    // Person i has i % 3 phones; persons 0, 2 and 4 are in the group the policy includes.
    const phones = await insertDevices(tenant.tenantId, people.flatMap((person, i) => Array.from({ length: i % 3 }, () => person)));
    const [group] = await db().insert(groups).values({ tenantId: tenant.tenantId, name: 'Phone sign-in' }).returning();
    await db().insert(groupMembers).values([0, 2, 4].map((i) => ({ groupId: group!.id, userId: people[i]!.id })));
    const saved = await t.gql(
      `mutation($i: UpdatePhoneSignInPolicyInput!) { updatePhoneSignInPolicy(input: $i) { __typename } }`,
      { i: { enabled: true, includeTargets: [{ targetType: 'GROUP', targetId: group!.id }] } },
      tenant.adminToken,
    );
    expect(saved.data.updatePhoneSignInPolicy.__typename).toBe('PhoneSignInPolicy');
    // Another tenant's phone: never among this tenant's users' methods.
    const [stranger] = await insertUsers(other, 1);
    await insertDevices(other.tenantId, [stranger!]);

    const page = (first: number) =>
      t.gql(`query($first: Int) { users(first: $first) { edges { node { id authenticationMethods { id } phoneSignInPolicy { allowed reason } } } } }`, { first }, tenant.adminToken);
    const small = await countingSelects(() => page(2));
    const whole = await countingSelects(() => page(6));

    const everyone = [{ id: tenant.adminId, userPrincipalName: tenant.adminUserPrincipalName }, ...people].sort((a, b) => (a.userPrincipalName < b.userPrincipalName ? -1 : 1));
    const expected = everyone.map((user) => {
      const included = [0, 2, 4].some((i) => people[i]!.id === user.id);
      return {
        id: user.id,
        // Oldest first, then by id: these phones were all added at the same instant.
        authenticationMethods: phones
          .filter((phone) => phone.userId === user.id)
          .map((phone) => ({ id: phone.id }))
          .sort((a, b) => (a.id < b.id ? -1 : 1)),
        phoneSignInPolicy: included ? { allowed: true, reason: null } : { allowed: false, reason: 'NOT_TARGETED' },
      };
    });
    expect(whole.result.errors).toBeUndefined();
    expect(whole.result.data.users.edges.map((e: any) => e.node)).toEqual(expected);
    expect(small.result.data.users.edges.map((e: any) => e.node)).toEqual(expected.slice(0, 2));
    expect(whole.selects).toBe(small.selects);
  });
});
