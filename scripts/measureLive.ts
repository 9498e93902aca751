/**
 * Measures live delivery alone (`npm run bench` is the benchmark): heap per subscribed
 * authenticator after GC, the server's CPU while every socket is open and idle, and push latency
 * (beginSignIn answered → challenge on the phone) with them all connected. The service runs as a
 * child with `--expose-gc` that reports its heap and CPU over IPC. Uses DATABASE_URL / REDIS_URL
 * when set (a throwaway database).
 * Usage: node --import tsx scripts/measureLive.ts --sockets 1500 --users 20 --pushes 40 --idle 10
 */
import { fork } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import { parseArgs } from 'node:util';
import WebSocket from 'ws';
import { AuthenticatorApp, type ChallengeFeed, graphqlRequest } from '../src/sdk/index.js';
import { createThrowawayDatabase } from '../test/support/throwawayDatabase.js';

const { values } = parseArgs({
  options: { sockets: { type: 'string', default: '2000' }, users: { type: 'string', default: '50' }, pushes: { type: 'string', default: '50' }, idle: { type: 'string', default: '10' }, child: { type: 'boolean', default: false } },
});

if (values.child) {
  const { loadConfig } = await import('../src/config.js');
  const { startServer } = await import('../src/server.js');
  await startServer(loadConfig(process.env));
  process.on('message', (message: string) => {
    if (message === 'heap') {
      for (let i = 0; i < 3; i++) (globalThis as { gc?: () => void }).gc?.();
      process.send!({ heap: process.memoryUsage().heapUsed });
    } else if (message === 'cpu') process.send!({ cpu: process.cpuUsage() });
  });
  process.send!({ ready: true });
} else {
  const SOCKETS = Number(values.sockets);
  const USERS = Number(values.users);
  const PASSWORD = 'measure password 123';
  const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
  const port = await new Promise<number>((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
  const operatorToken = randomBytes(32).toString('hex');
  const database = process.env.DATABASE_URL ? await createThrowawayDatabase(process.env.DATABASE_URL, 'measure') : undefined;
  const env = { ...process.env, PORT: String(port), HOST: '127.0.0.1', OPERATOR_TOKEN: operatorToken, DATA_DIR: 'memory://', LOG_LEVEL: 'warn',
    WS_MAX_CONNECTIONS_PER_IP: '100000', WS_MAX_CONNECTIONS_PER_DEVICE: '100000', ...(database ? { DATABASE_URL: database.url } : {}) };
  const child = fork(new URL(import.meta.url).pathname, ['--child'], { env, execArgv: ['--expose-gc', '--import', 'tsx'] });
  const ask = <T>(what: string) => new Promise<T>((resolve) => { child.once('message', (m) => resolve(m as T)); child.send(what); });
  await new Promise((resolve) => child.once('message', resolve));
  console.error('child ready');
  const url = `http://127.0.0.1:${port}`;
  const endpoint = `${url}/graphql`;
  try {
    const domain = `m${randomBytes(3).toString('hex')}.example.com`;
    await graphqlRequest(endpoint, 'mutation($i: CreateTenantInput!) { createTenant(input: $i) { __typename } }', { i: { name: 'M', domain, adminUserPrincipalName: `admin@${domain}`, adminPassword: PASSWORD } }, `Bearer ${operatorToken}`);
    const token = async (upn: string) => (await graphqlRequest(endpoint, 'mutation($i: SignInWithPasswordInput!) { signInWithPassword(input: $i) { ... on SignInSuccess { accessToken } } }', { i: { userPrincipalName: upn, password: PASSWORD } })).signInWithPassword.accessToken as string;
    const admin = `Bearer ${await token(`admin@${domain}`)}`;
    await graphqlRequest(endpoint, 'mutation { setLegacyPhoneSignInPolicy(enabled: true) { __typename } }', {}, admin);
    await graphqlRequest(endpoint, 'mutation($i: UpdateTenantSettingsInput!) { updateTenantSettings(input: $i) { __typename } }', { i: { pushRateLimit: { maxPushes: 1000, windowMinutes: 1 }, failureLockoutThreshold: 100 } }, admin);
    const phones: Array<{ upn: string; app: AuthenticatorApp }> = [];
    for (let i = 0; i < USERS; i++) {
      const upn = `u${i}@${domain}`;
      await graphqlRequest(endpoint, 'mutation($i: CreateUserInput!) { createUser(input: $i) { __typename } }', { i: { userPrincipalName: upn, displayName: `U${i}`, password: PASSWORD } }, admin);
      const reg = await graphqlRequest(endpoint, 'mutation { beginAuthenticatorRegistration { ... on AuthenticatorRegistration { activationUrl } } }', {}, `Bearer ${await token(upn)}`);
      const app = await AuthenticatorApp.activate(reg.beginAuthenticatorRegistration.activationUrl, { displayName: `P${i}`, platform: 'ANDROID', osVersion: '14', appVersion: '6.2403.1' }, { webSocketImpl: WebSocket });
      await app.enablePhoneSignIn();
      phones.push({ upn, app });
    }
    console.error('set up');
    const heap0 = (await ask<{ heap: number }>('heap')).heap;
    const received = new Map<string, number>();
    const clients: ChallengeFeed[] = [];
    for (let i = 0; i < SOCKETS; i++) {
      await new Promise<void>((resolve) => {
        const feed = phones[i % USERS]!.app.listen({ onChallenge: (c) => { if (!received.has(c.id)) received.set(c.id, performance.now()); }, onState: (state) => state === 'live' && resolve() });
        clients.push(feed);
      });
      if ((i + 1) % 100 === 0) console.error(`${i + 1} sockets`);
    }
    console.error('connected');
    await sleep(2000);
    const heap1 = (await ask<{ heap: number }>('heap')).heap;
    const cpu0 = (await ask<{ cpu: NodeJS.CpuUsage }>('cpu')).cpu;
    const t0 = performance.now();
    await sleep(Number(values.idle) * 1000);
    const cpu1 = (await ask<{ cpu: NodeJS.CpuUsage }>('cpu')).cpu;
    const idleCpu = (cpu1.user - cpu0.user + cpu1.system - cpu0.system) / 1000 / (performance.now() - t0);
    const latencies: number[] = [];
    for (let i = 0; i < Number(values.pushes); i++) {
      const { upn } = phones[i % USERS]!;
      const begun = (await graphqlRequest(endpoint, 'mutation($i: BeginSignInInput!) { beginSignIn(input: $i) { ... on PhoneSignInStarted { attemptId attemptSecret } ... on PasswordRequired { reason } } }', { i: { userPrincipalName: upn, appName: 'M' } })).beginSignIn;
      const answered = performance.now();
      for (const until = performance.now() + 30_000; !received.has(begun.attemptId) && performance.now() < until; ) await sleep(1);
      latencies.push((received.get(begun.attemptId) ?? Number.NaN) - answered);
      await graphqlRequest(endpoint, 'mutation($i: SignInAttemptKeyInput!) { cancelSignIn(input: $i) { __typename } }', { i: { attemptId: begun.attemptId, attemptSecret: begun.attemptSecret } }).catch(() => {});
    }
    latencies.sort((a, b) => a - b);
    const pct = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * p))]!.toFixed(1);
    console.log(JSON.stringify({ database: database ? 'postgres' : 'pglite', redis: Boolean(process.env.REDIS_URL), sockets: SOCKETS, users: USERS,
      heapKiBPerAuthenticator: +((heap1 - heap0) / 1024 / SOCKETS).toFixed(1), idleCpuPercent: +(idleCpu * 100).toFixed(1),
      pushMs: { p50: pct(0.5), p99: pct(0.99), max: pct(1) } }));
    await Promise.all(clients.map((c) => c.stop()));
  } finally {
    child.kill('SIGTERM');
    await database?.drop();
  }
}
