import { setTimeout as delay } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import type { Database } from '../src/db/client.js';
import { stopIfCallerGone } from '../src/services/caller.js';
import { complete, onlyChallenge, phoneUser, respond, serverPerFile, started } from './signInFlow.js';

const WAIT_LIMIT_MS = 10_000;

/** True once the HTTP caller of the current request has gone (read inside the request's own work). */
const callerGone = () => {
  try {
    stopIfCallerGone();
    return false;
  } catch {
    return true;
  }
};

/**
 * Arms the next transaction: when it opens, `leave` runs (the browser gives up), and the work waits
 * until the server has seen the caller go, as with a database that answers slowly. Resolves when
 * that transaction has ended, committed or not.
 */
function slowNextTransaction(db: Database, leave: () => void): Promise<void> {
  const transaction = db.transaction;
  return new Promise((settled) => {
    db.transaction = ((work, config) => {
      db.transaction = transaction;
      leave();
      const slowWork: typeof work = async (tx) => {
        for (const start = Date.now(); !callerGone() && Date.now() - start < WAIT_LIMIT_MS; ) await delay(10);
        return work(tx);
      };
      return transaction.call(db, slowWork, config).finally(() => settled());
    }) as typeof db.transaction;
  });
}

const post = (url: string, query: string, variables: Record<string, unknown>, signal: AbortSignal) =>
  fetch(`${url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query, variables }), signal }).catch(
    (error: unknown) => error,
  );

describe('work for a caller that has gone is not committed', () => {
  const t = serverPerFile();

  it('completeSignIn abandoned by the browser while the database was slow leaves the attempt redeemable', async () => {
    const { user, phone } = await phoneUser(t);
    const browser = await started(t, user.userPrincipalName);
    expect((await respond(t, phone, await onlyChallenge(t, phone), { number: browser.number })).data?.respondToPhoneSignInChallenge.status).toBe('APPROVED');

    const browserGivesUp = new AbortController();
    const ended = slowNextTransaction(t.server.app.db, () => browserGivesUp.abort());
    const abandoned = post(t.url, 'mutation($i: SignInAttemptKeyInput!) { completeSignIn(input: $i) { __typename } }', { i: { attemptId: browser.attemptId, attemptSecret: browser.attemptSecret } }, browserGivesUp.signal);
    await ended;
    expect(await abandoned).toBeInstanceOf(Error);

    // The token of the abandoned call went nowhere, so it was never issued: the browser, back, redeems the attempt.
    const retried = await complete(t, browser);
    expect(retried.data?.completeSignIn.__typename).toBe('SignInSuccess');
  });

  it('beginSignIn abandoned while the database was slow leaves no pending attempt behind', async () => {
    const { user } = await phoneUser(t);
    const browserGivesUp = new AbortController();
    const ended = slowNextTransaction(t.server.app.db, () => browserGivesUp.abort());
    const abandoned = post(t.url, 'mutation($i: BeginSignInInput!) { beginSignIn(input: $i) { __typename } }', { i: { userPrincipalName: user.userPrincipalName, appName: 'Contoso Mail' } }, browserGivesUp.signal);
    await ended;
    expect(await abandoned).toBeInstanceOf(Error);

    // Nobody holds the abandoned attempt's secret: had it been kept, this would be PENDING_REQUEST.
    await started(t, user.userPrincipalName);
  });
});
