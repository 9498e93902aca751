import { describe, expect, it } from 'vitest';
import { addUser } from './authenticatorClient.js';
import { createTenant } from './harness.js';
import { follow, passwordSignIn, sharedServices, twoNodesPerBlock } from './signInFlow.js';

// An admin's console is connected to one node while sign-ins land on another: the feed hears of
// them through Redis and reads them from the shared Postgres.

const FEED = `subscription($filter: SignInLogFilter, $after: String) { signInLogs(filter: $filter, after: $after) { id feedCursor userId status } }`;

describe.runIf(sharedServices)('the live sign-in log across two nodes', () => {
  const [a, b] = twoNodesPerBlock();

  it('delivers a sign-in made on one node to an admin following on the other, and resumes on either', async () => {
    const tenant = await createTenant(a);
    const alice = await addUser(a, tenant);
    const newest = await a.gql('{ signInLogs(first: 1) { edges { node { feedCursor } } } }', {}, tenant.adminToken);
    const filter = { userId: alice.userId };
    const onB = follow(b.ws(tenant.adminToken), FEED, { filter, after: newest.data.signInLogs.edges[0].node.feedCursor });

    await passwordSignIn(a, alice.userPrincipalName, alice.password);
    const seen = ((await onB.next()) as any).data.signInLogs;
    expect(seen).toMatchObject({ userId: alice.userId, status: 'SUCCESS' });
    await onB.close();

    // The console reconnects to the other node, from where it stopped.
    await passwordSignIn(b, alice.userPrincipalName, 'not the password');
    const onA = follow(a.ws(tenant.adminToken), FEED, { filter, after: seen.feedCursor });
    expect(((await onA.next()) as any).data.signInLogs).toMatchObject({ status: 'FAILURE' });
    await passwordSignIn(b, alice.userPrincipalName, alice.password);
    expect(((await onA.next()) as any).data.signInLogs).toMatchObject({ status: 'SUCCESS' });
    await onA.close();
  });
});
