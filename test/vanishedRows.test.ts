import postgres from 'postgres';
import { describe, expect, it } from 'vitest';
import { cancel, complete, onlyChallenge, phoneUser, respond, serverPerFile, started } from './signInFlow.js';

// Rows a use case read a moment ago may be gone when it writes: another session deleted them (a
// user deleted by an admin takes their attempts with them). Only Postgres has other sessions.
const onPostgres = Boolean(process.env.DATABASE_URL);
/** How long to wait for the request to reach the row lock; generous for a busy machine. */
const BLOCKED_WITHIN_MS = 20_000;

describe.runIf(onPostgres)('rows deleted while a use case runs', () => {
  const t = serverPerFile();

  /**
   * Holds `lock` (a row lock) in a session of its own, sends `request`, waits until the request
   * waits on that lock, deletes the user there and commits: the request then finds its rows gone.
   */
  async function deletedMidRequest<T>(lock: (sql: postgres.TransactionSql) => Promise<unknown>, userId: string, request: () => Promise<T>): Promise<T> {
    const sql = postgres(t.databaseUrl!, { max: 2, onnotice: () => {} });
    try {
      let answer!: Promise<T>;
      await sql.begin(async (tx) => {
        await lock(tx);
        answer = request();
        const deadline = performance.now() + BLOCKED_WITHIN_MS;
        for (;;) {
          const [row] = await sql`select count(*)::int as n from pg_stat_activity where datname = current_database() and wait_event_type = 'Lock'`;
          if (row!.n > 0) break;
          if (performance.now() > deadline) throw new Error('the request never waited on the row lock');
          await new Promise((resolve) => setTimeout(resolve, 20));
        }
        await tx`delete from users where id = ${userId}`;
      });
      return await answer;
    } finally {
      await sql.end();
    }
  }

  const lockAttempt = (attemptId: string) => (tx: postgres.TransactionSql) => tx`select id from sign_in_attempts where id = ${attemptId} for update`;

  // The approval's compare-and-set waits on the attempt row (it takes no lock on the user row).
  // Attack: deleting the user while their phone answers, to get a 500 (and a stack trace) out of the answer path.
  it('answers NOT_FOUND to a challenge response whose attempt vanished mid-answer', async () => {
    const { user, phone } = await phoneUser(t);
    const attempt = await started(t, user.userPrincipalName);
    const challenge = await onlyChallenge(t, phone);
    const answered = await deletedMidRequest(lockAttempt(attempt.attemptId), user.userId, () => respond(t, phone, challenge, { number: attempt.number }));
    expect(answered.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
    expect(answered.errors?.[0]?.message).toMatch(/No such challenge/);
  });

  // Attack: deleting the user while the browser cancels or redeems, to get a 500 out of either.
  it('answers cancelSignIn and completeSignIn with typed results when the attempt vanished mid-request', async () => {
    const first = await phoneUser(t);
    const toCancel = await started(t, first.user.userPrincipalName);
    const cancelled = await deletedMidRequest(lockAttempt(toCancel.attemptId), first.user.userId, () => cancel(t, toCancel));
    expect(cancelled.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');

    const second = await phoneUser(t);
    const toComplete = await started(t, second.user.userPrincipalName);
    await respond(t, second.phone, await onlyChallenge(t, second.phone), { number: toComplete.number });
    const completed = await deletedMidRequest(lockAttempt(toComplete.attemptId), second.user.userId, () => complete(t, toComplete));
    // Unknown now, as for a wrong secret: completeSignIn reads nothing before its compare-and-set.
    expect(completed.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
  });
});
