import { describe, expect, it } from 'vitest';
import { deviceAuthorization } from './authenticatorClient.js';
import { CHALLENGES, complete, follow, phoneUser, serverPerFile, signResponse, started } from './signInFlow.js';

const t = serverPerFile();
const RESPOND = 'mutation($input: RespondToPhoneSignInChallengeInput!) { respondToPhoneSignInChallenge(input: $input) { ... on SignInAttempt { status } ... on Error { code message } } }';

/** An authenticator answers on the graphql-ws connection it receives challenges on (the SDK does while live). */
describe('answers on the phone\'s socket', () => {
  it('approve a sign-in as an answer over HTTP does', async () => {
    const { user, phone } = await phoneUser(t);
    const socket = t.ws(await deviceAuthorization(t, phone));
    const pushed = follow(socket, CHALLENGES).next();
    const attempt = await started(t, user.userPrincipalName);
    const challenge = ((await pushed) as any).data.phoneSignInChallenges;
    const response = await signResponse(t, phone, challenge, { number: attempt.number });
    const answered = (await follow(socket, RESPOND, { input: { response } }).next()) as any;
    expect(answered.data.respondToPhoneSignInChallenge).toEqual({ status: 'APPROVED' });
    // The same signed response again: the stored outcome, nothing changed.
    expect(((await follow(socket, RESPOND, { input: { response } }).next()) as any).data.respondToPhoneSignInChallenge).toEqual({ status: 'APPROVED' });
    expect((await complete(t, attempt)).data.completeSignIn.__typename).toBe('SignInSuccess');
    await socket.dispose();
  });

  // Attack: a connected device flooding answers, each a database transaction, past the per-device allowance.
  it('count against the device\'s allowance of requests, as HTTP requests do', async () => {
    const limited = await import('./harness.js').then(({ startTestServer }) => startTestServer({ RATE_LIMIT_DEVICE_PER_DEVICE: '6' }));
    try {
      const { phone } = await phoneUser(limited);
      const socket = limited.ws(await deviceAuthorization(limited, phone));
      // A phone keeps its challenge feed open; the answers go beside it on the one connection.
      const feed = follow(socket, CHALLENGES);
      const nothingPending = feed.next().catch(() => 'closed');
      const codes: string[] = [];
      for (let i = 0; i < 8; i++) {
        const answer = (await follow(socket, RESPOND, { input: { response: 'not.a.response' } }).next()) as any;
        codes.push(answer.data.respondToPhoneSignInChallenge.code);
      }
      const refusedFrom = codes.indexOf('RATE_LIMITED');
      expect(refusedFrom, codes.join(' ')).toBeGreaterThan(0);
      expect(codes.slice(0, refusedFrom).every((code) => code === 'INVALID_CHALLENGE_RESPONSE'), codes.join(' ')).toBe(true);
      expect(codes.slice(refusedFrom).every((code) => code === 'RATE_LIMITED'), codes.join(' ')).toBe(true);
      await feed.close();
      await nothingPending;
      await socket.dispose();
    } finally {
      await limited.stop();
    }
  });
});
