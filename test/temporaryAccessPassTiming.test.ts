import { describe, expect, it } from 'vitest';
import { TAP_REFUSAL_FLOOR_MS } from '../src/services/temporaryAccessPass.js';
import { addUser } from './authenticatorClient.js';
import { createTenant } from './harness.js';
import { serverPerFile, signInLogsOf } from './signInFlow.js';

// Attack: account enumeration through signInWithTemporaryAccessPass's response time (an unknown
// name was answered after one query, a known one after a transaction and a log row).
const waits: number[] = [];
const t = serverPerFile({ server: { sleep: async (ms) => void waits.push(ms) } });

const ERR = '... on Error { code message }';
/** One redemption timed from outside, which is at least the server's own path to its answer. */
async function timedRedeem(userPrincipalName: string, pass: string) {
  const before = waits.length;
  const sent = performance.now();
  const answer = await t.gql(
    `mutation($i: SignInWithTemporaryAccessPassInput!) { signInWithTemporaryAccessPass(input: $i) { __typename ... on SignInSuccess { accessToken } ${ERR} } }`,
    { i: { userPrincipalName, pass } },
  );
  return { result: answer.data.signInWithTemporaryAccessPass, took: performance.now() - sent, slept: waits.slice(before) };
}

const issuePass = async (adminToken: string, userId: string) =>
  (
    await t.gql(
      `mutation($i: CreateTemporaryAccessPassInput!) { createTemporaryAccessPass(input: $i) { ... on TemporaryAccessPass { pass } } }`,
      { i: { userId, lifetimeMinutes: 60, isUsableOnce: true } },
      adminToken,
    )
  ).data.createTemporaryAccessPass.pass as string;

describe('Temporary Access Pass refusals', () => {
  it('holds every refusal to one floor, known name or not, and logs each in the tenant owning the domain', async () => {
    const tenant = await createTenant(t);
    const known = await addUser(t, tenant);
    const wrongPass = 'A'.repeat(22);
    const unknownInTenant = `nobody.${Date.now()}@${tenant.domain}`;
    for (const name of ['someone@unknown-domain.example.org', unknownInTenant, known.userPrincipalName]) {
      const { result, took, slept } = await timedRedeem(name, wrongPass);
      expect(result, name).toMatchObject({ __typename: 'DomainError', code: 'TEMPORARY_ACCESS_PASS_INVALID' });
      expect(slept, name).toHaveLength(1);
      // The sleep tops the path up to the floor, and only up to it.
      expect(took + slept[0]!, name).toBeGreaterThanOrEqual(TAP_REFUSAL_FLOOR_MS);
      expect(slept[0]!, name).toBeLessThan(TAP_REFUSAL_FLOOR_MS);
    }
    expect(await signInLogsOf(t, { userPrincipalName: unknownInTenant })).toMatchObject([
      { tenantId: tenant.tenantId, userId: null, method: 'TEMPORARY_ACCESS_PASS', status: 'FAILURE', reasonCode: 'USER_NOT_FOUND' },
    ]);

    const pass = await issuePass(tenant.adminToken, known.userId);
    const success = await timedRedeem(known.userPrincipalName, pass);
    expect(success.result.__typename).toBe('SignInSuccess');
    expect(success.slept).toEqual([]);
    const tapLogs = (await signInLogsOf(t, { userId: known.userId })).filter((row) => row.method === 'TEMPORARY_ACCESS_PASS');
    expect(tapLogs.map((row) => [row.method, row.status, row.reasonCode])).toEqual([
      ['TEMPORARY_ACCESS_PASS', 'FAILURE', 'TEMPORARY_ACCESS_PASS_INVALID'],
      ['TEMPORARY_ACCESS_PASS', 'SUCCESS', null],
    ]);
  });
});
