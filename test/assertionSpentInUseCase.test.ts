import { and, eq } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { auditLogs, devices } from '../src/db/schema.js';
import { deviceAuthorization } from './authenticatorClient.js';
import { ATTEMPT, auditOf, onlyChallenge, phoneUser, serverPerFile, signResponse, started } from './signInFlow.js';
import type { TestServer } from './harness.js';

// respondToPhoneSignInChallenge spends its device assertion's jti inside the answer's own
// transaction (one write fewer on the sign-in path). These hold that the assertion is still
// accepted exactly once, whatever the answer does: approved, refused, raced or never run.

const t = serverPerFile();
const REPLAYED = 'Device not authenticated: this device assertion was already used (its jti was seen before); sign a new one for each request.';
const RESPOND = `mutation($i: RespondToPhoneSignInChallengeInput!) { respondToPhoneSignInChallenge(input: $i) { __typename ... on SignInAttempt { ${ATTEMPT} } ... on Error { code message } } }`;

const respondWith = (server: TestServer, authorization: string, response: unknown) => server.gql(RESPOND, { i: { response } }, authorization);

const refusals = (deviceId: string) =>
  t.server.app.db
    .select({ reasonCode: auditLogs.reasonCode })
    .from(auditLogs)
    .where(and(eq(auditLogs.action, 'device.authenticate'), eq(auditLogs.targetId, deviceId)))
    .then((rows) => rows.map((r) => r.reasonCode));

async function challenged() {
  const { user, phone } = await phoneUser(t);
  const attempt = await started(t, user.userPrincipalName);
  const challenge = await onlyChallenge(t, phone);
  return { phone, attempt, challenge };
}

describe('a device assertion spent in the answer\'s transaction', () => {
  // Attack: replaying a captured answer request, assertion and all.
  it('approves once; the same request again is refused as a replay and changes nothing', async () => {
    const { phone, attempt, challenge } = await challenged();
    t.clock.advance(61);
    const authorization = await deviceAuthorization(t, phone);
    const response = await signResponse(t, phone, challenge, { number: attempt.number });
    const first = await respondWith(t, authorization, response);
    expect(first.data.respondToPhoneSignInChallenge.status).toBe('APPROVED');
    // lastUsedAt was due (more than a minute): written in the same transaction.
    const [device] = await t.server.app.db.select({ lastUsedAt: devices.lastUsedAt }).from(devices).where(eq(devices.id, phone.deviceId!));
    expect(device!.lastUsedAt).toEqual(t.clock.now());

    const replay = await respondWith(t, authorization, response);
    expect(replay.status).toBe(401);
    expect(replay.errors?.[0]).toMatchObject({ message: REPLAYED, extensions: { code: 'UNAUTHENTICATED' } });
    expect(replay.data ?? null).toBeNull();
    expect(await refusals(phone.deviceId!)).toEqual(['ASSERTION_REPLAYED']);
    expect((await auditOf(t, 'signIn.approved', attempt.attemptId)).length).toBe(1);
  });

  // Attack: the same captured assertion sent many times at once, so the replays race the original.
  it('lets one of many simultaneous requests with one assertion through', async () => {
    const { phone, attempt, challenge } = await challenged();
    const authorization = await deviceAuthorization(t, phone);
    const response = await signResponse(t, phone, challenge, { number: attempt.number });
    const results = await Promise.all(Array.from({ length: 8 }, () => respondWith(t, authorization, response)));
    expect(results.filter((r) => r.status === 200).map((r) => r.data.respondToPhoneSignInChallenge.status)).toEqual(['APPROVED']);
    expect(results.filter((r) => r.status === 401).map((r) => r.errors?.[0]?.message)).toEqual(Array(7).fill(REPLAYED));
    expect((await auditOf(t, 'signIn.approved', attempt.attemptId)).length).toBe(1);
  });

  // Attack: an assertion whose answer is refused (rolled back) used again for another request.
  it('spends the assertion of a refused answer, and counts its forgery once', async () => {
    const { phone, attempt, challenge } = await challenged();
    const authorization = await deviceAuthorization(t, phone);
    const forged = await signResponse(t, phone, { id: challenge.id, nonce: challenge.nonce }, { number: attempt.number });
    const [header, claims] = forged.split('.');
    const tampered = `${header}.${claims}.${'A'.repeat(86)}`;
    const refused = await respondWith(t, authorization, tampered);
    expect(refused.data.respondToPhoneSignInChallenge).toMatchObject({ __typename: 'DomainError', code: 'INVALID_SIGNATURE' });

    const again = await respondWith(t, authorization, tampered);
    expect(again.status).toBe(401);
    expect(again.errors?.[0]?.message).toBe(REPLAYED);
    const reused = await t.gql('{ pendingPhoneSignInChallenges { id } }', {}, authorization);
    expect(reused.status).toBe(401);
    expect((await auditOf(t, 'signIn.respond', challenge.id)).map((row) => row.reasonCode)).toEqual(['BAD_SIGNATURE']);
  });

  it('spends the assertion of an answer whose resolver never ran (bad variables)', async () => {
    const { phone } = await challenged();
    const authorization = await deviceAuthorization(t, phone);
    const wrong = await respondWith(t, authorization, 42);
    expect(wrong.errors?.[0]?.message).toMatch(/String cannot represent a non string value/);
    const reused = await t.gql('{ pendingPhoneSignInChallenges { id } }', {}, authorization);
    expect(reused.status).toBe(401);
    expect(reused.errors?.[0]?.message).toBe(REPLAYED);
  });

  it('spends the assertion of an answer to an unknown challenge before it is audited', async () => {
    const { phone, attempt, challenge } = await challenged();
    const authorization = await deviceAuthorization(t, phone);
    const unknown = await signResponse(t, phone, { id: '00000000-0000-4000-8000-000000000000', nonce: challenge.nonce }, { number: attempt.number });
    const first = await respondWith(t, authorization, unknown);
    expect(first.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
    const again = await respondWith(t, authorization, unknown);
    expect(again.errors?.[0]?.message).toBe(REPLAYED);
    expect(await auditOf(t, 'signIn.respond', '00000000-0000-4000-8000-000000000000')).toHaveLength(1);
  });
});
