/**
 * Measures live delivery alone, with the benchmark's parts (`npm run bench` is the benchmark): heap
 * per subscribed authenticator after GC, the service's CPU while every socket is open and idle, and
 * push latency (beginSignIn sent → the challenge on a phone) with them all connected, one push at a
 * time. Postgres (DATABASE_URL, default the local test server; a throwaway database) and Redis
 * when REDIS_URL is set. `--snapshot <dir>` also writes V8 heap snapshots of the service before and
 * after the phones connect (compare them in Chrome DevTools' Memory tab, "Comparison" view);
 * `--profile <file>` writes a V8 CPU profile of the service over the pushes.
 * Usage: tsx scripts/measureLive.ts --users 400 --devices 5 --pushes 100 --idle 10
 */
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import { parseArgs } from 'node:util';
import { graphqlRequest } from '../src/sdk/index.js';
import { createThrowawayDatabase } from '../test/support/throwawayDatabase.js';
import { startChild } from './bench/children.js';
import { connectPhones } from './bench/phones.js';
import { createDirectory } from './bench/setup.js';
import { percentile, progress, round, sleep } from './bench/util.js';

const { values } = parseArgs({
  options: {
    users: { type: 'string', default: '400' },
    devices: { type: 'string', default: '5' },
    pushes: { type: 'string', default: '100' },
    idle: { type: 'string', default: '10' },
    snapshot: { type: 'string' },
    profile: { type: 'string' },
  },
});
const PUSH_TIMEOUT_MS = 30_000;
const port = await new Promise<number>((resolve) => {
  const server = createServer().listen(0, '127.0.0.1', () => {
    const { port } = server.address() as { port: number };
    server.close(() => resolve(port));
  });
});
const url = `http://127.0.0.1:${port}`;
const operatorToken = randomBytes(32).toString('hex');
const database = await createThrowawayDatabase(process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test', 'measure');
const service = await startChild('serviceChild.ts', {
  ...process.env,
  DATABASE_URL: database.url,
  PORT: String(port),
  HOST: '127.0.0.1',
  PUBLIC_URL: url,
  OPERATOR_TOKEN: operatorToken,
  LOG_LEVEL: 'warn',
  WS_MAX_CONNECTIONS_PER_IP: '100000',
  WS_MAX_CONNECTIONS_PER_DEVICE: '100000',
  ...Object.fromEntries(['SIGN_IN_PER_IP', 'SIGN_IN_PER_ACCOUNT', 'ACTIVATION_PER_IP', 'DEVICE_PER_IP', 'DEVICE_PER_DEVICE', 'REFUSED_CONNECTS_PER_IP'].map((name) => [`RATE_LIMIT_${name}`, '1000000'])),
  ...(values.snapshot ? { BENCH_SNAPSHOT_DIR: values.snapshot } : {}),
});
try {
  const directory = await createDirectory(url, database.url, operatorToken, { users: Number(values.users), devicesPerUser: Number(values.devices) });
  const arrived = new Map<string, number>();
  await sleep(1000);
  const before = await service.stats({ gc: true, snapshot: 'before' });
  const { clients, ready } = await connectPhones(
    `${url.replace(/^http/, 'ws')}/graphql`,
    directory.users,
    (challenge, _phone, at) => arrived.has(challenge.id) || arrived.set(challenge.id, at),
    Number.POSITIVE_INFINITY,
    (n) => progress(`${n} phones connected`),
  );
  await sleep(2000);
  const after = await service.stats({ gc: true, snapshot: 'after' });
  const idleStart = performance.now();
  const idleBefore = await service.stats();
  await sleep(Number(values.idle) * 1000);
  const idleAfter = await service.stats();
  const idleCpuPercent = ((idleAfter.cpuMicros - idleBefore.cpuMicros) / ((performance.now() - idleStart) * 1000)) * 100;
  const pushes: number[] = [];
  /** From beginSignIn's answer to the push: what live delivery adds beyond the sign-in's own request. */
  const afterAnswer: number[] = [];
  if (values.profile) await service.profile('start');
  for (let i = 0; i < Number(values.pushes); i++) {
    const user = ready[i % ready.length]!;
    const sentAt = performance.now();
    const begun = (
      await graphqlRequest(
        directory.endpoint,
        'mutation($i: BeginSignInInput!) { beginSignIn(input: $i) { ... on PhoneSignInStarted { attemptId attemptSecret } } }',
        { i: { userPrincipalName: user.userPrincipalName, appName: 'Measure' } },
      )
    ).beginSignIn;
    const answeredAt = performance.now();
    if (!begun.attemptId) throw new Error(`beginSignIn did not push for ${user.userPrincipalName}`);
    for (const until = performance.now() + PUSH_TIMEOUT_MS; !arrived.has(begun.attemptId) && performance.now() < until; ) await sleep(1);
    pushes.push((arrived.get(begun.attemptId) ?? Number.NaN) - sentAt);
    afterAnswer.push((arrived.get(begun.attemptId) ?? Number.NaN) - answeredAt);
    await graphqlRequest(directory.endpoint, 'mutation($i: SignInAttemptKeyInput!) { cancelSignIn(input: $i) { __typename } }', { i: begun });
  }
  if (values.profile) await service.profile('stop', values.profile);
  console.log(
    JSON.stringify({
      events: process.env.REDIS_URL ? 'redis' : 'in-process',
      authenticators: clients.length,
      kibPerAuthenticator: round((after.heapUsedAfterGc - before.heapUsedAfterGc) / 1024 / clients.length, 2),
      rssKibPerAuthenticator: round((after.rss - before.rss) / 1024 / clients.length, 2),
      idleCpuPercent: round(idleCpuPercent, 2),
      pushMs: { p50: round(percentile(pushes, 0.5), 2), p99: round(percentile(pushes, 0.99), 2), max: round(Math.max(...pushes), 2) },
      pushAfterAnswerMs: { p50: round(percentile(afterAnswer, 0.5), 2), p99: round(percentile(afterAnswer, 0.99), 2) },
    }),
  );
  await Promise.all(clients.map((client) => client.dispose()));
} finally {
  await service.stop();
  await database.drop();
}
