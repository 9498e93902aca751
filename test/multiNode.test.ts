import { describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { deviceAuthorization } from './authenticatorClient.js';
import { ATTEMPT, CHALLENGE, cancel, complete, follow, phoneUser, sharedServices, signResponse, started, twoNodesPerBlock } from './signInFlow.js';

// Several API nodes behind one PUBLIC_URL share Postgres and Redis: a sign-in begun on one node is
// pushed to a phone connected to another, and the browser on the first learns the outcome live.

describe.runIf(sharedServices)('several API nodes on one Postgres and Redis', () => {
  const [a, b] = twoNodesPerBlock();

  it('shares one issuer and signing key', async () => {
    expect(b.server.issuer).toBe(a.server.issuer);
    const jwksA = await (await fetch(`${a.url}/.well-known/jwks.json`)).json();
    const jwksB = await (await fetch(`${b.url}/.well-known/jwks.json`)).json();
    expect(jwksB).toEqual(jwksA);
  });

  it('pushes a challenge begun on one node to a phone on another, and reports the approval live', async () => {
    const { user, phone } = await phoneUser(a);
    const viewer = await b.gql('{ viewer { id } }', {}, user.token);
    expect(viewer.data.viewer.id).toBe(user.userId);

    const challenges = follow(b.ws(await deviceAuthorization(a, phone)), `subscription { phoneSignInChallenges { ${CHALLENGE} } }`);
    const first = await started(a, user.userPrincipalName);
    expect(((await challenges.next()) as any).data.phoneSignInChallenges.id).toBe(first.attemptId);
    await cancel(a, first);

    // The phone's subscription on node B is live now: the next challenge comes from node A through Redis.
    const second = await started(a, user.userPrincipalName);
    const pushed = (await challenges.next()) as any;
    expect(pushed.data.phoneSignInChallenges.id).toBe(second.attemptId);
    const browser = follow(a.ws(), `subscription($id: ID!, $s: String!) { signInAttempt(attemptId: $id, attemptSecret: $s) { ${ATTEMPT} } }`, {
      id: second.attemptId,
      s: second.attemptSecret,
    });
    expect(((await browser.next()) as any).data.signInAttempt.status).toBe('PENDING');

    // Node B checks the device assertion against the shared issuer (node A's URL here).
    const response = await signResponse(a, phone, pushed.data.phoneSignInChallenges, { number: second.number });
    const answered = await b.gql(
      'mutation($i: RespondToPhoneSignInChallengeInput!) { respondToPhoneSignInChallenge(input: $i) { ... on SignInAttempt { status } } }',
      { i: { response } },
      await deviceAuthorization(a, phone),
    );
    expect(answered.data.respondToPhoneSignInChallenge.status).toBe('APPROVED');
    expect(((await browser.next()) as any).data.signInAttempt.status).toBe('APPROVED');
    const token = await complete(a, second);
    expect(token.data.completeSignIn.__typename).toBe('SignInSuccess');
    const onB = await b.gql('{ viewer { id } }', {}, token.data.completeSignIn.accessToken);
    expect(onB.data.viewer.id).toBe(user.userId);
  });

  it('closes a removed phone’s connection on every node', async () => {
    const { user, phone } = await phoneUser(a);
    const closed = new Promise<{ code: number; reason: string }>((resolve, reject) => {
      void deviceAuthorization(a, phone).then((authorization) => {
        const ws = new WebSocket(`${b.url.replace(/^http/, 'ws')}/graphql`, 'graphql-transport-ws');
        ws.on('open', () => ws.send(JSON.stringify({ type: 'connection_init', payload: { authorization } })));
        ws.on('message', async (message) => {
          if (JSON.parse(String(message)).type !== 'connection_ack') return;
          const methods = await a.gql('{ viewer { authenticationMethods { id } } }', {}, user.token);
          const id = methods.data.viewer.authenticationMethods[0].id;
          await a.gql('mutation($id: ID!) { removeAuthenticationMethod(id: $id) { __typename } }', { id }, user.token);
        });
        ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() }));
        ws.on('error', reject);
      });
    });
    expect(await closed).toEqual({ code: 4403, reason: 'Forbidden: this device was removed' });
  });
});
