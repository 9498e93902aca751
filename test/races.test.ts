import { and, count, eq, inArray } from 'drizzle-orm';
import { beforeAll, describe, expect, it } from 'vitest';
import { auditLogs, sessions } from '../src/db/schema.js';
import { begin, complete, onlyChallenge, phoneUser, respond, serverPerFile, setSettings, started } from './signInFlow.js';

/**
 * Attack: racing the server. Concurrent answers, redemptions and starts must each produce exactly
 * one transition, one session, one push: the compare-and-set in SQL decides, not the order of
 * arrival. Every race runs many rounds so a lucky interleaving cannot hide a bug.
 */

const ROUNDS = 20;
const RACERS = 8;

const t = serverPerFile();
let ctx: Awaited<ReturnType<typeof phoneUser>>;
beforeAll(async () => {
  ctx = await phoneUser(t);
  // Many rounds for one user: keep the anti-fatigue limits out of the way.
  await setSettings(t, ctx.tenant.tenantId, { failureLockoutThreshold: 100, pushRateLimit: { maxPushes: 100, windowMinutes: 1 } });
});

const outcomesOf = async (attemptId: string) =>
  (
    await t.server.app.db
      .select({ action: auditLogs.action })
      .from(auditLogs)
      .where(and(eq(auditLogs.targetId, attemptId), inArray(auditLogs.action, ['signIn.approved', 'signIn.denied'])))
  ).map((r) => r.action);

const sessionCount = async () => {
  const [row] = await t.server.app.db.select({ n: count() }).from(sessions).where(eq(sessions.userId, ctx.user.userId));
  return row!.n;
};

/** Starts over every minute of clock so the rate-limit window never fills. */
const nextRound = () => t.clock.advance(61);

describe('races', () => {
  it(`${RACERS} simultaneous approvals make one transition (${ROUNDS} rounds)`, async () => {
    for (let round = 0; round < ROUNDS; round++) {
      nextRound();
      const attempt = await started(t, ctx.user.userPrincipalName);
      const challenge = await onlyChallenge(t, ctx.phone);
      const answers = await Promise.all(Array.from({ length: RACERS }, () => respond(t, ctx.phone, challenge, { number: attempt.number })));
      for (const answer of answers) expect(answer.data.respondToPhoneSignInChallenge).toMatchObject({ status: 'APPROVED' });
      expect(await outcomesOf(attempt.attemptId)).toEqual(['signIn.approved']);
      await complete(t, attempt);
    }
  });

  it(`approve and deny together: one wins and both are told the same (${ROUNDS} rounds)`, async () => {
    for (let round = 0; round < ROUNDS; round++) {
      nextRound();
      const attempt = await started(t, ctx.user.userPrincipalName);
      const challenge = await onlyChallenge(t, ctx.phone);
      const [approve, deny] = await Promise.all([
        respond(t, ctx.phone, challenge, { number: attempt.number }),
        respond(t, ctx.phone, challenge, { decision: 'deny', number: '' }),
      ]);
      const outcome = approve.data.respondToPhoneSignInChallenge.status;
      expect(['APPROVED', 'DENIED']).toContain(outcome);
      expect(deny.data.respondToPhoneSignInChallenge.status).toBe(outcome);
      const recorded = await outcomesOf(attempt.attemptId);
      expect(recorded).toEqual([outcome === 'APPROVED' ? 'signIn.approved' : 'signIn.denied']);
      if (outcome === 'APPROVED') await complete(t, attempt);
    }
  });

  it(`${RACERS} simultaneous completeSignIn calls issue one session (${ROUNDS} rounds)`, async () => {
    for (let round = 0; round < ROUNDS; round++) {
      nextRound();
      const attempt = await started(t, ctx.user.userPrincipalName);
      await respond(t, ctx.phone, await onlyChallenge(t, ctx.phone), { number: attempt.number });
      const before = await sessionCount();
      const results = await Promise.all(Array.from({ length: RACERS }, () => complete(t, attempt)));
      const kinds = results.map((r) => r.data.completeSignIn.__typename === 'SignInSuccess' ? 'token' : r.data.completeSignIn.code);
      expect(kinds.filter((k) => k === 'token')).toHaveLength(1);
      expect(kinds.filter((k) => k === 'SIGN_IN_NOT_APPROVED')).toHaveLength(RACERS - 1);
      expect(await sessionCount()).toBe(before + 1);
    }
  });

  it(`${RACERS} simultaneous beginSignIn calls send one push (${ROUNDS} rounds)`, async () => {
    for (let round = 0; round < ROUNDS; round++) {
      nextRound();
      const results = await Promise.all(Array.from({ length: RACERS }, () => begin(t, ctx.user.userPrincipalName)));
      const startedOnes = results.filter((r) => r.__typename === 'PhoneSignInStarted');
      expect(startedOnes).toHaveLength(1);
      for (const r of results) if (r.__typename !== 'PhoneSignInStarted') expect(r).toEqual({ __typename: 'PasswordRequired', reason: 'PENDING_REQUEST' });
      const attempt = startedOnes[0];
      await respond(t, ctx.phone, await onlyChallenge(t, ctx.phone), { number: attempt.number });
      await complete(t, attempt);
    }
  });
});
