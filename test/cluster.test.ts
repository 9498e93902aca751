import { execFileSync } from 'node:child_process';
import { Agent, request } from 'node:http';
import { afterAll, describe, expect, it } from 'vitest';
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { openDatabase, type DatabaseHandle } from '../src/db/client.js';
import { deviceAuthorization } from './authenticatorClient.js';
import { loadConfig } from '../src/config.js';
import { TokenService } from '../src/services/tokens.js';
import { ManualClock, RATE_LIMITS_OFF, type GraphQLResponse, type TestServer } from './harness.js';
import { CHALLENGES, cancel, follow, phoneUser, started } from './signInFlow.js';
import { type ChildServer, startChildServer, untilReady } from './support/childServer.js';
import { createThrowawayDatabase } from './support/throwawayDatabase.js';

// WORKERS=2: node:cluster shares one port between two worker processes, which share live events
// through Redis as separate nodes do. PGlite lives in one process, so this needs Postgres and Redis.
const shared = Boolean(process.env.DATABASE_URL && process.env.REDIS_URL);
// Three cold starts of the service (two workers, one restarted) on a loaded 2-core machine.
const CLUSTER_TEST_MS = 600_000;
// One worker's cold start (compile and connect) took over a minute there; the first two, over two.
const WORKER_START_MS = 240_000;
const REQUEST_TIMEOUT_MS = 5000;

interface Answer {
  worker: string | undefined;
  status: number;
  body: string;
}

/** One HTTP request; `agent` false opens a new connection, which the primary hands to the next worker. */
function call(url: string, agent: Agent | false, o: { method?: string; path: string; body?: string; headers?: Record<string, string> }): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(`${url}${o.path}`, { method: o.method ?? 'GET', agent, headers: o.headers }, (res) => {
      let body = '';
      res.on('data', (chunk) => (body += chunk));
      res.on('end', () => resolve({ worker: res.headers['x-worker'] as string | undefined, status: res.statusCode!, body }));
    });
    // A connection handed to a worker as it dies is never answered.
    req.setTimeout(REQUEST_TIMEOUT_MS, () => req.destroy(new Error('no answer')));
    req.on('error', reject);
    req.end(o.body);
  });
}

/** Polling on new connections until `found` accepts an answer, for as long as a worker takes to start. */
async function pollUntil(url: string, path: string, found: (answer: Answer) => boolean, what: string): Promise<Answer> {
  const deadline = Date.now() + WORKER_START_MS;
  while (Date.now() < deadline) {
    const answer = await call(url, false, { path }).catch(() => undefined);
    if (answer && found(answer)) return answer;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`never saw ${what}`);
}

/** The test helpers' view of the cluster: GraphQL through `agent` (one worker's connection), the database directly for set-up. */
function clusterAsTestServer(url: string, db: DatabaseHandle, tokens: TokenService, operatorToken: string, agent: Agent | false, expectWorker?: string): TestServer {
  return {
    url,
    server: { issuer: tokens.issuer, app: { db: db.db, tokens } },
    clock: new ManualClock(),
    operatorToken,
    async gql(query: string, variables?: Record<string, unknown>, auth?: string): Promise<GraphQLResponse> {
      const authorization = auth === undefined ? undefined : /^(Bearer|Device) /.test(auth) ? auth : `Bearer ${auth}`;
      const answer = await call(url, agent, {
        method: 'POST',
        path: '/graphql',
        headers: { 'content-type': 'application/json', accept: 'application/json', ...(authorization ? { authorization } : {}) },
        body: JSON.stringify({ query, variables }),
      });
      if (expectWorker) expect(answer.worker).toBe(expectWorker);
      return { status: answer.status, ...JSON.parse(answer.body) };
    },
    ws: (authorization?: string) =>
      createClient({ url: `${url.replace(/^http/, 'ws')}/graphql`, webSocketImpl: WebSocket, connectionParams: authorization ? { authorization } : undefined, retryAttempts: 0 }),
  } as unknown as TestServer;
}

const authenticatorsOn = (metrics: string) => Number(/^signin_connected_authenticators (\d+)/m.exec(metrics)?.[1] ?? 0);

describe.runIf(shared)('WORKERS=2 on one port', () => {
  let server: ChildServer | undefined;
  let database: DatabaseHandle | undefined;
  let dropDatabase = async () => {};
  const agents: Agent[] = [];
  afterAll(async () => {
    server?.kill();
    for (const agent of agents) agent.destroy();
    await database?.close();
    await dropDatabase();
  });

  it('answers from two workers, pushes across them, restarts a dead one and stops on SIGTERM', async () => {
    const throwaway = await createThrowawayDatabase(process.env.DATABASE_URL!, 'cluster');
    dropDatabase = throwaway.drop;
    const operatorToken = 'o'.repeat(40);
    server = await startChildServer(['--import', 'tsx', 'src/main.ts'], {
      WORKERS: '2',
      DATABASE_URL: throwaway.url,
      REDIS_URL: process.env.REDIS_URL,
      OPERATOR_TOKEN: operatorToken,
      LOG_LEVEL: 'warn',
      ...RATE_LIMITS_OFF,
    });
    await untilReady(server, WORKER_START_MS);
    const workersSeen = new Set<string>();
    await pollUntil(server.url, '/ready', (a) => workersSeen.add(a.worker!).size === 2, 'two workers');
    expect([...workersSeen].sort()).toEqual(['1', '2']);

    database = await openDatabase({ databaseUrl: throwaway.url, dataDir: 'memory://' });
    // Admins' set-up tokens are signed with the workers' own key, read from the shared database.
    const tokens = new TokenService(database.db, server.url.replace('127.0.0.1', 'localhost'), new ManualClock(), loadConfig({}).accessTokenTtlSeconds);
    await tokens.init();
    const anyWorker = clusterAsTestServer(server.url, database, tokens, operatorToken, false);
    const { user, phone } = await phoneUser(anyWorker);
    const challenges = follow(anyWorker.ws(await deviceAuthorization(anyWorker, phone)), CHALLENGES);

    // The worker holding the phone's socket counts it in its own gauge; sign-ins begin on the other.
    const phoneWorker = (await pollUntil(server.url, '/metrics', (a) => authenticatorsOn(a.body) === 1, 'the phone connected')).worker!;
    let other: TestServer | undefined;
    for (let i = 0; i < 20 && !other; i++) {
      const agent = new Agent({ keepAlive: true, maxSockets: 1 });
      agents.push(agent);
      const { worker } = await call(server.url, agent, { path: '/health' });
      if (worker !== phoneWorker) other = clusterAsTestServer(server.url, database, tokens, operatorToken, agent, worker);
    }
    expect(other).toBeDefined();

    const first = await started(other!, user.userPrincipalName);
    expect(((await challenges.next()) as any).data.phoneSignInChallenges.id).toBe(first.attemptId);
    await cancel(other!, first);
    // The phone's subscription is live now: this one crosses from one worker to the other through Redis.
    const second = await started(other!, user.userPrincipalName);
    expect(((await challenges.next()) as any).data.phoneSignInChallenges.id).toBe(second.attemptId);
    await challenges.close();

    // A worker that dies is replaced (cluster ids count up): two workers answer again.
    // Children running main.ts: the primary has others (tsx's esbuild service).
    const [victim] = execFileSync('pgrep', ['-P', String(server.child.pid), '-f', 'main.ts']).toString().trim().split('\n');
    process.kill(Number(victim), 'SIGKILL');
    await pollUntil(server.url, '/ready', (a) => a.worker === '3' && a.status === 200, 'a worker started in place of the dead one');

    server.child.kill('SIGTERM');
    const exit = await server.exited;
    expect(exit, server.output()).toEqual({ code: 0, signal: null });
    expect(server.output()).toMatch(/worker died; starting another/);
  }, CLUSTER_TEST_MS);
});
