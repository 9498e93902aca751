/**
 * `npm run bench`: measures the service as a separate process over HTTP and graphql-ws, and reports
 * each figure as a ratio to a baseline measured in the same run on the same machine:
 * - complete phone sign-ins per second, against trivial GraphQL requests per second;
 * - push latency (beginSignIn answered → challenge on the phone), against a graphql-ws round trip;
 * - server memory per connected authenticator (subscribed), against a bare graphql-ws connection.
 * Options: --users N (phones signing in concurrently, 8), --seconds S (per throughput phase, 5),
 * --connections N (for memory, 500). Uses DATABASE_URL / REDIS_URL when set (a throwaway database).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { parseArgs } from 'node:util';
import { type Client, createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { AuthenticatorApp, type PhoneSignInChallenge, graphqlRequest } from '../src/sdk/client.js';
import { createThrowawayDatabase } from '../test/support/throwawayDatabase.js';

const { values } = parseArgs({
  options: { users: { type: 'string', default: '8' }, seconds: { type: 'string', default: '5' }, connections: { type: 'string', default: '500' } },
});
const USERS = Number(values.users);
const SECONDS = Number(values.seconds);
const CONNECTIONS = Number(values.connections);
const PASSWORD = 'benchmark password 123';

const freePort = () =>
  new Promise<number>((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? Number.NaN;
const p95 = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length * 0.95)] ?? Number.NaN;
const rssKiB = (pid: number) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function startService(): Promise<{ child: ChildProcess; url: string; operatorToken: string; cleanup: () => Promise<void> }> {
  const port = await freePort();
  const operatorToken = randomBytes(32).toString('hex');
  let databaseUrl: string | undefined;
  let cleanup = async () => {};
  if (process.env.DATABASE_URL) {
    const database = await createThrowawayDatabase(process.env.DATABASE_URL, 'bench');
    databaseUrl = database.url;
    cleanup = database.drop;
  }
  const env: NodeJS.ProcessEnv = { ...process.env, PORT: String(port), HOST: '127.0.0.1', OPERATOR_TOKEN: operatorToken, DATA_DIR: 'memory://', LOG_LEVEL: 'warn',
    // The benchmark's phones all connect from one address, and several sockets share each device.
    WS_MAX_CONNECTIONS_PER_IP: '100000', WS_MAX_CONNECTIONS_PER_DEVICE: '100000' };
  if (databaseUrl) env.DATABASE_URL = databaseUrl;
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], { env, stdio: ['ignore', 'ignore', 'inherit'] });
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 300; i++) {
    try {
      if ((await fetch(`${url}/ready`)).ok) return { child, url, operatorToken, cleanup };
    } catch {}
    await sleep(100);
  }
  child.kill();
  throw new Error('the service did not become ready within 30 s');
}

/** A tenant whose users may sign in with the phone, and `count` users each with an activated phone. */
async function setUp(url: string, operatorToken: string, count: number) {
  const endpoint = `${url}/graphql`;
  const domain = `bench${randomBytes(3).toString('hex')}.example.com`;
  await graphqlRequest(
    endpoint,
    'mutation($i: CreateTenantInput!) { createTenant(input: $i) { __typename ... on Error { code message } } }',
    { i: { name: 'Bench', domain, adminUserPrincipalName: `admin@${domain}`, adminPassword: PASSWORD } },
    `Bearer ${operatorToken}`,
  );
  const token = async (userPrincipalName: string) =>
    (
      await graphqlRequest(endpoint, 'mutation($i: SignInWithPasswordInput!) { signInWithPassword(input: $i) { ... on SignInSuccess { accessToken } ... on Error { code message } } }', {
        i: { userPrincipalName, password: PASSWORD },
      })
    ).signInWithPassword.accessToken as string;
  const admin = `Bearer ${await token(`admin@${domain}`)}`;
  await graphqlRequest(endpoint, 'mutation { setLegacyPhoneSignInPolicy(enabled: true) { __typename ... on Error { code message } } }', {}, admin);
  await graphqlRequest(
    endpoint,
    'mutation($i: UpdateTenantSettingsInput!) { updateTenantSettings(input: $i) { __typename ... on Error { code message } } }',
    { i: { pushRateLimit: { maxPushes: 100, windowMinutes: 1 }, failureLockoutThreshold: 100 } },
    admin,
  );
  const users: Array<{ userPrincipalName: string; app: AuthenticatorApp }> = [];
  for (let i = 0; i < count; i++) {
    const userPrincipalName = `user${i}@${domain}`;
    await graphqlRequest(
      endpoint,
      'mutation($i: CreateUserInput!) { createUser(input: $i) { __typename ... on Error { code message } } }',
      { i: { userPrincipalName, displayName: `User ${i}`, password: PASSWORD } },
      admin,
    );
    const registration = await graphqlRequest(
      endpoint,
      'mutation { beginAuthenticatorRegistration { ... on AuthenticatorRegistration { activationUrl } ... on Error { code message } } }',
      {},
      `Bearer ${await token(userPrincipalName)}`,
    );
    const app = await AuthenticatorApp.activate(registration.beginAuthenticatorRegistration.activationUrl, {
      displayName: `Phone ${i}`,
      platform: 'ANDROID',
      osVersion: '14',
      appVersion: '6.2403.1',
    });
    await app.enablePhoneSignIn();
    users.push({ userPrincipalName, app });
  }
  return { endpoint, users };
}

/** Baseline: trivial GraphQL requests per second with the same concurrency. */
async function trivialRequestsPerSecond(endpoint: string, concurrency: number): Promise<number> {
  let done = 0;
  const until = Date.now() + SECONDS * 1000;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (Date.now() < until) {
        await graphqlRequest(endpoint, '{ __typename }');
        done++;
      }
    }),
  );
  return done / SECONDS;
}

/** Every user signs in over and over: begin, push, approve with the number, complete. */
async function signIns(endpoint: string, users: Array<{ userPrincipalName: string; app: AuthenticatorApp }>) {
  const latencies: number[] = [];
  let completed = 0;
  const until = Date.now() + SECONDS * 1000;
  const clients: Client[] = [];
  await Promise.all(
    users.map(async ({ userPrincipalName, app }) => {
      const waiting = new Map<string, (c: PhoneSignInChallenge) => void>();
      const early = new Map<string, PhoneSignInChallenge>();
      clients.push(
        await app.listen((challenge) => {
          const resolve = waiting.get(challenge.id);
          if (resolve) resolve(challenge);
          else early.set(challenge.id, challenge);
        }),
      );
      await sleep(200);
      while (Date.now() < until) {
        const begun = (
          await graphqlRequest(
            endpoint,
            'mutation($i: BeginSignInInput!) { beginSignIn(input: $i) { __typename ... on PhoneSignInStarted { attemptId attemptSecret number } ... on PasswordRequired { reason } } }',
            { i: { userPrincipalName, appName: 'Benchmark' } },
          )
        ).beginSignIn;
        if (begun.__typename !== 'PhoneSignInStarted') throw new Error(`beginSignIn answered ${JSON.stringify(begun)}`);
        const answered = Date.now();
        const challenge =
          early.get(begun.attemptId) ?? (await new Promise<PhoneSignInChallenge>((resolve) => waiting.set(begun.attemptId, resolve)));
        latencies.push(Date.now() - answered);
        waiting.delete(begun.attemptId);
        early.delete(begun.attemptId);
        await app.respond(challenge, { decision: 'approve', number: begun.number, uv: 'biometric' });
        await graphqlRequest(
          endpoint,
          'mutation($i: SignInAttemptKeyInput!) { completeSignIn(input: $i) { ... on SignInSuccess { accessToken } ... on Error { code message } } }',
          { i: { attemptId: begun.attemptId, attemptSecret: begun.attemptSecret } },
        );
        completed++;
      }
    }),
  );
  await Promise.all(clients.map((c) => c.dispose()));
  return { perSecond: completed / SECONDS, latencies };
}

/** Baseline: a `{ __typename }` round trip over an open graphql-ws connection. */
async function wsRoundTrips(url: string, count: number): Promise<number[]> {
  const client = createClient({ url: `${url.replace(/^http/, 'ws')}/graphql`, webSocketImpl: WebSocket, retryAttempts: 0 });
  const times: number[] = [];
  for (let i = 0; i < count; i++) {
    const start = Date.now();
    await new Promise<void>((resolve, reject) =>
      client.subscribe({ query: '{ __typename }' }, { next: () => {}, error: reject, complete: () => resolve() }),
    );
    times.push(Date.now() - start);
  }
  await client.dispose();
  return times;
}

/** Server RSS growth per connection: `connect` opens one, and is called `count` times. */
async function memoryPerConnection(pid: number, count: number, connect: (i: number) => Promise<Client>): Promise<number> {
  await sleep(500);
  const before = rssKiB(pid);
  const clients: Client[] = [];
  for (let i = 0; i < count; i++) clients.push(await connect(i));
  await sleep(1000);
  const after = rssKiB(pid);
  await Promise.all(clients.map((c) => c.dispose()));
  await sleep(500);
  return (after - before) / count;
}

/** Resolves once the client's connection is acknowledged (subscriptions are only meaningful then). */
const connected = (client: Client) => new Promise<Client>((resolve) => client.on('connected', () => resolve(client)));

const service = await startService();
try {
  const { endpoint, users } = await setUp(service.url, service.operatorToken, USERS);
  // Memory first, while the server holds little else, bare connections before subscribed ones.
  const pid = service.child.pid!;
  const bare = await memoryPerConnection(pid, CONNECTIONS, async () => {
    const client = createClient({ url: `${service.url.replace(/^http/, 'ws')}/graphql`, webSocketImpl: WebSocket, retryAttempts: 0, lazy: false });
    return connected(client);
  });
  const subscribed = await memoryPerConnection(pid, CONNECTIONS, async (i) => {
    const { app } = users[i % users.length]!;
    const client = await app.listen(() => {});
    return connected(client);
  });
  const trivial = await trivialRequestsPerSecond(endpoint, USERS);
  const flow = await signIns(endpoint, users);
  const roundTrips = await wsRoundTrips(service.url, 200);
  const report = {
    signInsPerSecond: flow.perSecond,
    trivialRequestsPerSecond: trivial,
    signInCostInTrivialRequests: trivial / flow.perSecond,
    pushLatencyMsP50: median(flow.latencies),
    pushLatencyMsP95: p95(flow.latencies),
    wsRoundTripMsP50: median(roundTrips),
    pushLatencyRatio: median(flow.latencies) / Math.max(median(roundTrips), 0.5),
    memoryKiBPerAuthenticator: subscribed,
    memoryKiBPerBareConnection: bare,
    memoryRatio: subscribed / Math.max(bare, 1),
  };
  console.log(
    [
      `database: ${process.env.DATABASE_URL ? 'postgres' : 'pglite'}; ${USERS} concurrent phones; ${SECONDS} s per phase; ${CONNECTIONS} connections`,
      `complete sign-ins/s   ${report.signInsPerSecond.toFixed(1)}  (a sign-in costs ${report.signInCostInTrivialRequests.toFixed(1)} trivial requests at ${trivial.toFixed(0)}/s)`,
      `push latency          p50 ${report.pushLatencyMsP50} ms, p95 ${report.pushLatencyMsP95} ms  (${report.pushLatencyRatio.toFixed(1)}× a graphql-ws round trip of ${report.wsRoundTripMsP50} ms)`,
      `memory/authenticator  ${report.memoryKiBPerAuthenticator.toFixed(1)} KiB  (${report.memoryRatio.toFixed(1)}× a bare graphql-ws connection at ${bare.toFixed(1)} KiB)`,
    ].join('\n'),
  );
  console.log(JSON.stringify(report));
} finally {
  service.child.kill('SIGTERM');
  await service.cleanup();
}
