import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import { afterAll, describe, expect, it } from 'vitest';
import { RATE_LIMITS_OFF } from './harness.js';
import { createThrowawayDatabase } from './support/throwawayDatabase.js';
import { type TcpProxy, startTcpProxy, targetOf } from './support/tcpProxy.js';

const DATABASE_URL = process.env.DATABASE_URL;
const WORKERS = 20;
const DROPS = 5;
const LATENCY_MS = 100; // the fault run's: queries are in flight when the link drops
const RECOVERY_LIMIT_MS = 5000;
const REQUEST_TIMEOUT_MS = 15_000;

interface Node {
  process: ChildProcess;
  url: string;
  output: () => string;
}

/** `npm start` as its own process, so that a crash ends it where a test can see it. */
async function startNode(env: Record<string, string>): Promise<Node> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    env: { PATH: process.env.PATH, PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'warn', ...RATE_LIMITS_OFF, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (chunk) => (output += chunk));
  child.stderr!.on('data', (chunk) => (output += chunk));
  for (const start = Date.now(); Date.now() - start < 60_000; await delay(100)) {
    const url = /Phone sign-in service: (http:\/\/\S+)\/graphql/.exec(output)?.[1];
    if (url) return { process: child, url, output: () => output };
    if (child.exitCode !== null) break;
  }
  child.kill('SIGKILL');
  throw new Error(`the node did not start:\n${output}`);
}

async function stopNode(node: Node) {
  if (node.process.exitCode !== null || node.process.signalCode !== null) return;
  const exited = new Promise((resolve) => node.process.once('exit', resolve));
  node.process.kill('SIGTERM');
  const timer = setTimeout(() => node.process.kill('SIGKILL'), 5000);
  await exited;
  clearTimeout(timer);
}

const gql = async (url: string, query: string, variables: Record<string, unknown>, authorization?: string) => {
  const response = await fetch(`${url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(authorization ? { authorization: `Bearer ${authorization}` } : {}) },
    body: JSON.stringify({ query, variables }),
    signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
  });
  return { status: response.status, ...((await response.json()) as { data?: any; errors?: Array<{ extensions?: { code?: string } }> }) };
};

const BEGIN = 'mutation($i: BeginSignInInput!) { beginSignIn(input: $i) { __typename } }';

describe.skipIf(!DATABASE_URL)('a dropped database link under load (Postgres only: PGlite has no link to drop)', () => {
  const cleanup: Array<() => Promise<unknown>> = [];
  afterAll(async () => {
    for (const step of cleanup.reverse()) await step().catch(() => {});
  });

  it(`the process survives ${DROPS} drops with ${WORKERS} requests in flight, and serves again within ${RECOVERY_LIMIT_MS} ms of each restore`, async () => {
    const database = await createThrowawayDatabase(DATABASE_URL!, 'faults');
    cleanup.push(database.drop);
    const proxy: TcpProxy = await startTcpProxy(targetOf(database.url));
    cleanup.push(() => proxy.close());
    const operatorToken = randomBytes(32).toString('hex');
    const node = await startNode({ DATABASE_URL: proxy.via(database.url), OPERATOR_TOKEN: operatorToken });
    cleanup.push(() => stopNode(node));

    const domain = `t${randomBytes(4).toString('hex')}.example.com`;
    const created = await gql(node.url, 'mutation($i: CreateTenantInput!) { createTenant(input: $i) { __typename } }', { i: { name: 'Contoso', domain, adminUserPrincipalName: `admin@${domain}`, adminPassword: 'correct horse battery staple' } }, operatorToken);
    expect(created.data?.createTenant.__typename).toBe('CreateTenantPayload');

    // Each beginSignIn of an unknown user of the tenant is a transaction that locks and writes.
    const begin = (n: number) => gql(node.url, BEGIN, { i: { userPrincipalName: `ghost${n}@${domain}`, appName: 'Load' } });
    const outcomes = new Map<string, number>();
    const count = (what: string) => outcomes.set(what, (outcomes.get(what) ?? 0) + 1);
    // When each request that succeeded had been sent.
    const servedSentAt: number[] = [];
    let loading = true;
    const workers = Array.from({ length: WORKERS }, async (_, worker) => {
      for (let i = 0; loading && i < 100_000; i += 1) {
        try {
          const sentAt = Date.now();
          const result = await begin(worker);
          if (result.data?.beginSignIn?.__typename === 'PasswordRequired') servedSentAt.push(sentAt);
          count(result.data?.beginSignIn?.__typename ?? `${result.status} ${result.errors?.[0]?.extensions?.code}`);
        } catch (error) {
          count(`no answer: ${(error as Error).name}`);
          await delay(50);
        }
      }
    });

    const recoveries: number[] = [];
    try {
      for (let drop = 0; drop < DROPS; drop += 1) {
        proxy.setLatency(LATENCY_MS);
        await delay(1500);
        // Both ways a link ends: postgres.js crashed on a close (a queued write found no socket).
        proxy.cut(drop % 2 === 0 ? 'close' : 'reset');
        await delay(1000);
        // The link comes back whole: under 100 ms each way and this load a request takes seconds
        // even without a drop, which would hide the time the recovery itself takes.
        proxy.setLatency(0);
        proxy.restore();
        const restoredAt = Date.now();
        // Back when a request sent after the restore has been served.
        while (!servedSentAt.some((sentAt) => sentAt >= restoredAt)) {
          expect(node.process.exitCode, node.output()).toBeNull();
          expect(Date.now() - restoredAt, `still not serving after the restore of drop ${drop + 1}: ${JSON.stringify(Object.fromEntries(outcomes))}\n${node.output().slice(-3000)}`).toBeLessThan(RECOVERY_LIMIT_MS);
          await delay(20);
        }
        recoveries.push(Date.now() - restoredAt);
      }
    } finally {
      loading = false;
      await Promise.all(workers);
    }

    expect(node.process.exitCode, node.output()).toBeNull();
    expect(node.process.signalCode).toBeNull();
    console.info(`survived ${DROPS} drops; recovery after restore (ms): ${recoveries.join(', ')}; outcomes: ${JSON.stringify(Object.fromEntries(outcomes))}`);
    // Served between the drops, and every failure said "try again" rather than INTERNAL_SERVER_ERROR.
    expect(outcomes.get('PasswordRequired')).toBeGreaterThan(0);
    const failures = [...outcomes.keys()].filter((k) => k !== 'PasswordRequired');
    expect(failures.filter((k) => k !== '503 SERVICE_UNAVAILABLE')).toEqual([]);
  }, 180_000);
});
