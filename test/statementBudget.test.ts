import { describe, expect, it } from 'vitest';
import { scrape } from './support/metrics.js';
import { deviceAuthorization } from './authenticatorClient.js';
import { CHALLENGES, complete, follow, onlyChallenge, phoneUser, serverPerFile, signResponse, started, watchAttempt } from './signInFlow.js';

const RESPOND = 'mutation($input: RespondToPhoneSignInChallengeInput!) { respondToPhoneSignInChallenge(input: $input) { ... on SignInAttempt { status } ... on Error { code message } } }';

const t = serverPerFile();

/** The database work of this node so far, as /metrics reports it. */
async function counts() {
  const metrics = await scrape(t.url);
  const writing = metrics.value('signin_db_transactions_total{writes="true"}');
  return { statements: metrics.value('signin_db_statements_total'), transactions: writing + metrics.value('signin_db_transactions_total{writes="false"}'), writing };
}

/**
 * Ceilings of one complete sign-in, as the whole path runs it: beginSignIn, the push, the browser's
 * subscription, the phone's answer on its socket (as the SDK answers while its feed is live),
 * completeSignIn and the browser seeing each change. Before the short path: 37 statements in 19
 * transactions, 5 writing; then 17 in 11, 4 writing; then 14 in 7. Now (BEGIN and COMMIT not counted):
 * - beginSignIn's transaction (3: the user, the push decision, the attempt with its log row); the
 *   node that began it pushes to its own sockets what it wrote, with no read (other nodes read once);
 * - the browser's first state: on the node that began the sign-in, what it wrote and the events
 *   since, with no read (elsewhere, or with the event transport away or lately back, the read of
 *   the attempt that checks the secret);
 * - the answer's transaction (3: the context read, the compare-and-set, the log); the socket was
 *   authenticated when it connected. Over HTTP the request's device assertion adds the device read
 *   and the jti's insert (in the same transaction): 5 statements in 2 transactions;
 * - completeSignIn's transaction (3: the compare-and-set, the user update with the session insert,
 *   the log).
 * The browser learns APPROVED and COMPLETED from the events, which carry the attempt's view: no
 * read. Every transaction writes.
 */
const MAX_STATEMENTS = 9;
const MAX_TRANSACTIONS = 3;
const MAX_WRITING_TRANSACTIONS = 3;

describe('the sign-in path', () => {
  it('runs a complete sign-in, push and browser subscription included, within its statement and transaction budget', async () => {
    const { user, phone } = await phoneUser(t);
    // The phone's one socket: challenges come in on it, and answers go out on it (as the SDK answers while live).
    const socket = t.ws(await deviceAuthorization(t, phone));
    const device = follow(socket, CHALLENGES);
    const answerOnSocket = async (challenge: { id: string; nonce: string }, number: string) =>
      (await follow(socket, RESPOND, { input: { response: await signResponse(t, phone, challenge, { number }) } }).next()) as any;
    // A first sign-in warms up what is read once per process or once per phone connection.
    const first = await started(t, user.userPrincipalName);
    await device.next();
    expect((await answerOnSocket(await onlyChallenge(t, phone), first.number)).data.respondToPhoneSignInChallenge.status).toBe('APPROVED');
    expect((await complete(t, first)).data.completeSignIn.__typename).toBe('SignInSuccess');

    const steps: Array<[string, Awaited<ReturnType<typeof counts>>]> = [['start', await counts()]];
    const attempt = await started(t, user.userPrincipalName);
    steps.push(['beginSignIn', await counts()]);
    const pushed = ((await device.next()) as any).data.phoneSignInChallenges;
    expect(pushed.id).toBe(attempt.attemptId);
    steps.push(['push to the phone', await counts()]);
    const browser = watchAttempt(t, attempt);
    expect(await browser.next()).toMatchObject({ data: { signInAttempt: { status: 'PENDING' } } });
    steps.push(['browser subscribes', await counts()]);
    const answered = await answerOnSocket(pushed, attempt.number);
    expect(answered.data.respondToPhoneSignInChallenge.status).toBe('APPROVED');
    steps.push(['respond on the phone\'s socket', await counts()]);
    expect(await browser.next()).toMatchObject({ data: { signInAttempt: { status: 'APPROVED' } } });
    steps.push(['browser sees APPROVED', await counts()]);
    expect((await complete(t, attempt)).data.completeSignIn.__typename).toBe('SignInSuccess');
    steps.push(['completeSignIn', await counts()]);
    expect(await browser.next()).toMatchObject({ data: { signInAttempt: { status: 'COMPLETED' } } });
    expect(await browser.next()).toBe('done');
    steps.push(['browser sees COMPLETED', await counts()]);

    const table = steps.slice(1).map(([step, c], i) => {
      const before = steps[i]![1];
      return `${step}: ${c.statements - before.statements} statements, ${c.transactions - before.transactions} transactions (${c.writing - before.writing} writing)`;
    });
    const total = { statements: steps.at(-1)![1].statements - steps[0]![1].statements, transactions: steps.at(-1)![1].transactions - steps[0]![1].transactions, writing: steps.at(-1)![1].writing - steps[0]![1].writing };
    console.info(`one complete sign-in:\n  ${table.join('\n  ')}\n  total: ${JSON.stringify(total)}`);
    // beginSignIn, the answer and completeSignIn each write: fewer would mean the counter is not counting.
    expect(total.writing, table.join('\n')).toBeGreaterThanOrEqual(3);
    expect(total.writing, table.join('\n')).toBeLessThanOrEqual(MAX_WRITING_TRANSACTIONS);
    expect(total.transactions, table.join('\n')).toBeLessThanOrEqual(MAX_TRANSACTIONS);
    expect(total.statements, table.join('\n')).toBeLessThanOrEqual(MAX_STATEMENTS);
    device.close();
  });
});
