import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { startTestServer } from './harness.js';
import { scrape, until } from './support/metrics.js';
import { begin, cancel, complete, passwordSignIn, phoneUser, respond, serverPerFile, started, watchChallenges } from './signInFlow.js';

const outcome = (method: string, status: string) => `signin_outcomes_total{method="${method}",outcome="${status}"}`;

describe('Prometheus metrics at /metrics', () => {
  const t = serverPerFile();

  it('counts a phone sign-in by its outcome, its push, and the phone while it is connected', async () => {
    const { user, phone, tenant } = await phoneUser(t);
    const before = await scrape(t.url);
    expect(before.has('process_cpu_user_seconds_total')).toBe(true);
    expect(before.value('signin_event_transport_up')).toBe(1);

    const challenges = await watchChallenges(t, phone);
    const attempt = await started(t, user.userPrincipalName);
    const pushed = (await challenges.next()) as any;
    const answered = await respond(t, phone, pushed.data.phoneSignInChallenges, { number: attempt.number });
    expect(answered.data.respondToPhoneSignInChallenge.status).toBe('APPROVED');
    expect((await complete(t, attempt)).data.completeSignIn.__typename).toBe('SignInSuccess');
    expect((await begin(t, `nobody@${tenant.domain}`)).__typename).toBe('PasswordRequired');
    expect((await passwordSignIn(t, user.userPrincipalName, 'not the password')).data.signInWithPassword.code).toBe('INVALID_CREDENTIALS');

    const during = await scrape(t.url);
    expect(during.value(outcome('PHONE_SIGN_IN', 'SUCCESS')) - before.value(outcome('PHONE_SIGN_IN', 'SUCCESS'))).toBe(1);
    expect(during.value(outcome('PHONE_SIGN_IN', 'INTERRUPTED')) - before.value(outcome('PHONE_SIGN_IN', 'INTERRUPTED'))).toBe(1);
    expect(during.value(outcome('PASSWORD', 'FAILURE')) - before.value(outcome('PASSWORD', 'FAILURE'))).toBe(1);
    // Nothing else ended: approving on the phone is not an outcome, and nothing is counted twice.
    expect(during.sum('signin_outcomes_total') - before.sum('signin_outcomes_total')).toBe(3);
    expect(during.value('signin_push_delivery_seconds_count') - before.value('signin_push_delivery_seconds_count')).toBe(1);
    expect(during.value('signin_connected_authenticators') - before.value('signin_connected_authenticators')).toBe(1);
    expect(during.value('signin_db_transaction_wait_seconds_count')).toBeGreaterThan(before.value('signin_db_transaction_wait_seconds_count'));

    await challenges.close();
    await until(async () => (await scrape(t.url)).value('signin_connected_authenticators') === before.value('signin_connected_authenticators'), 'the phone counted as gone');
  });

  it('counts an attempt the browser cancels as a failure', async () => {
    const { user } = await phoneUser(t);
    const before = await scrape(t.url);
    const attempt = await started(t, user.userPrincipalName);
    expect((await cancel(t, attempt)).data.cancelSignIn.status).toBe('CANCELLED');
    const after = await scrape(t.url);
    expect(after.value(outcome('PHONE_SIGN_IN', 'FAILURE')) - before.value(outcome('PHONE_SIGN_IN', 'FAILURE'))).toBe(1);
    expect(after.sum('signin_outcomes_total') - before.sum('signin_outcomes_total')).toBe(1);
  });

  it('asks for METRICS_TOKEN when one is set', async () => {
    const token = randomBytes(32).toString('hex');
    const guarded = await startTestServer({ METRICS_TOKEN: token });
    try {
      expect((await fetch(`${guarded.url}/metrics`)).status).toBe(401);
      expect((await fetch(`${guarded.url}/metrics`, { headers: { authorization: `Bearer ${token}x` } })).status).toBe(401);
      const allowed = await fetch(`${guarded.url}/metrics`, { headers: { authorization: `Bearer ${token}` } });
      expect(allowed.status).toBe(200);
      expect(await allowed.text()).toContain('signin_connected_authenticators 0');
    } finally {
      await guarded.stop();
    }
  });
});
