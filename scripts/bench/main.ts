/**
 * `npm run bench` (`--quick` for a smoke run): the service in a child process on a throwaway
 * Postgres database (DATABASE_URL, default the local test server; REDIS_URL when set), 10,000
 * connected authenticators, open-loop sign-ins stepped up until p99 or errors fail, a burst, and the
 * floors of the same machine measured in the same run. Prints a table and writes
 * bench/results/latest.json (or --out). See README "Benchmark".
 */
import { execSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname } from 'node:path';
import { parseArgs } from 'node:util';
import type { Client } from 'graphql-ws';
import postgres from 'postgres';
import { createThrowawayDatabase } from '../../test/support/throwawayDatabase.js';
import { startChild } from './children.js';
import { cryptoFloor, postgresFloor } from './floors.js';
import { type StepResult, runBatch, runBurst, runStep } from './openLoop.js';
import { connectPhones } from './phones.js';
import { rawWsFloor } from './rawWs.js';
import { report } from './report.js';
import { createDirectory } from './setup.js';
import { SignInDriver } from './signIns.js';
import { SOURCE_ADDRESSES } from './sockets.js';
import { progress, sleep } from './util.js';

const { values } = parseArgs({
  options: { quick: { type: 'boolean', default: false }, out: { type: 'string', default: 'bench/results/latest.json' }, users: { type: 'string' }, devices: { type: 'string' }, batch: { type: 'string' }, profile: { type: 'string' } },
});
const preset = values.quick
  ? { users: 200, devicesPerUser: 5, rates: [10, 25, 50, 100, 200], stepSeconds: 3, batch: 20, batchUsers: 20, burst: 100, idleSeconds: 3, cryptoIterations: 300, pgTransactions: 200, connectUntilSecond: 110, stepsUntilSecond: 170 }
  : { users: 2000, devicesPerUser: 5, rates: [10, 25, 50, 100, 200, 400, 700, 1000, 1400], stepSeconds: 15, batch: 50, batchUsers: 20, burst: 1000, idleSeconds: 10, cryptoIterations: 2000, pgTransactions: 2000, connectUntilSecond: 300, stepsUntilSecond: 470 };
/** --users and --devices (per user, at most 5) change the directory's size, e.g. to check the harness on a few phones. */
const plan = {
  ...preset,
  users: Number(values.users ?? preset.users),
  devicesPerUser: Math.min(5, Number(values.devices ?? preset.devicesPerUser)),
  // --batch: more sign-ins in the measured batch, for steadier counts and a fuller --profile.
  batch: Number(values.batch ?? preset.batch),
};
const authenticators = plan.users * plan.devicesPerUser;
/** Sign-ins at a time in the measured batch (statement counts). */
const BATCH_CONCURRENCY = 10;
/** PG 15 backends flush their statistics within PGSTAT_IDLE_INTERVAL (10 s) of going idle. */
const STATS_FLUSH_MS = 11_000;
const P99_TARGET_MS = 300;
/** How long the burst waits for the cancellations of failed sign-ins to give their users back. */
const CANCEL_WAIT_MS = 30_000;
const ERROR_RATE_TARGET = 0.001;
const SERVICE_POOL_SIZE = 10;
const baseUrl = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

const openFiles = Number(execSync('ulimit -n', { shell: '/bin/sh' }).toString().trim());
// Each process holds one end of every authenticator's socket, plus browsers, HTTP and Postgres.
if (openFiles < authenticators + 2000) throw new Error(`ulimit -n is ${openFiles}: the benchmark needs ${authenticators + 2000} open files a process. Raise it (ulimit -n ${authenticators * 2}).`);

const clockTicksPerSecond = Number(execSync('getconf CLK_TCK').toString().trim());
/** utime + stime of a process from /proc/<pid>/stat (fields 14 and 15), in clock ticks. */
const cpuTicks = (pid: number) => {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return Number(fields[11]) + Number(fields[12]);
};

const freePort = () =>
  new Promise<number>((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });

progress(`${values.quick ? 'quick' : 'full'} run: ${plan.users} users × ${plan.devicesPerUser} authenticators; ulimit -n ${openFiles}; ${SOURCE_ADDRESSES.length} client source addresses`);
const database = await createThrowawayDatabase(baseUrl, 'bench');
const databaseName = new URL(database.url).pathname.slice(1);
const stats = postgres(baseUrl, { max: 1, onnotice: () => {} });
const xacts = async () => {
  const [row] = await stats<{ x: string }[]>`select xact_commit + xact_rollback as x from pg_stat_database where datname = ${databaseName}`;
  return Number(row!.x);
};
const port = await freePort();
const url = `http://127.0.0.1:${port}`;
const operatorToken = randomBytes(32).toString('hex');
const service = await startChild('serviceChild.ts', {
  ...process.env,
  DATABASE_URL: database.url,
  PORT: String(port),
  HOST: '127.0.0.1',
  PUBLIC_URL: url,
  OPERATOR_TOKEN: operatorToken,
  LOG_LEVEL: 'warn',
  // Every phone and browser comes from a few loopback addresses: the per-IP socket caps and rate
  // limits, meant for the public, would measure themselves rather than the service.
  WS_MAX_CONNECTIONS_PER_IP: '100000',
  WS_MAX_CONNECTIONS_PER_DEVICE: '100000',
  ...Object.fromEntries(['SIGN_IN_PER_IP', 'SIGN_IN_PER_ACCOUNT', 'ACTIVATION_PER_IP', 'DEVICE_PER_IP', 'DEVICE_PER_DEVICE', 'REFUSED_CONNECTS_PER_IP'].map((name) => [`RATE_LIMIT_${name}`, '1000000'])),
});
let phones: Client[] = [];
let cleaned: Promise<void> | undefined;
const cleanUp = () =>
  (cleaned ??= (async () => {
    await Promise.all(phones.map((client) => client.dispose()));
    await service.stop();
    await stats.end({ timeout: 5 });
    await database.drop();
  })());
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    progress(`${signal}: stopping the service and dropping ${databaseName}`);
    void cleanUp().finally(() => process.exit(130));
  });
}
try {
  progress('raw ws floor');
  const rawWs = await rawWsFloor({ count: authenticators, pushes: plan.rates[0]! * plan.stepSeconds, pushesPerSecond: plan.rates[0]! });
  progress('crypto floor');
  const crypto = await cryptoFloor(plan.cryptoIterations);
  progress('set-up');
  const directory = await createDirectory(url, database.url, operatorToken, plan);
  progress(`set-up took ${directory.setupSeconds.toFixed(1)} s; Postgres floor`);
  const pg = await postgresFloor(database.url, { transactions: plan.pgTransactions, concurrency: SERVICE_POOL_SIZE });

  const wsUrl = `${url.replace(/^http/, 'ws')}/graphql`;
  const driver = new SignInDriver(directory.endpoint, wsUrl);
  await sleep(1000);
  const heapBefore = await service.stats({ gc: true });
  const connectStart = performance.now();
  const onConnected = (n: number) => progress(`phones connected: ${n}/${authenticators}`);
  // Ten minutes in all: a service too slow to take every phone in time is measured with those it took.
  const connectUntil = plan.connectUntilSecond * 1000;
  // Statements first, with only the batch's users' phones connected: the re-reads of thousands of
  // idle subscriptions would drown the count (they are background, measured apart as idle CPU).
  const first = await connectPhones(wsUrl, directory.users.slice(0, plan.batchUsers), driver.onChallenge, connectUntil, onConnected);
  phones = first.clients;
  driver.addUsers(first.ready);

  progress(`background: ${plan.idleSeconds} s with ${phones.length} authenticators connected`);
  const quietStart = performance.now();
  const quietBefore = await service.stats();
  await sleep(plan.idleSeconds * 1000);
  const quietAfter = await service.stats();
  const quietSeconds = (performance.now() - quietStart) / 1000;
  const backgroundTransactionsPerSecond = (quietAfter.transactions - quietBefore.transactions) / quietSeconds;
  const backgroundStatementsPerSecond = (quietAfter.statements - quietBefore.statements) / quietSeconds;
  const backgroundCpuMicrosPerSecond = (quietAfter.cpuMicros - quietBefore.cpuMicros) / quietSeconds;

  progress(`statement count: ${plan.batch} sign-ins, ${BATCH_CONCURRENCY} at a time, by ${first.ready.length} users`);
  const pgBefore = await xacts();
  const pgWindowStart = performance.now();
  // --profile <file>: V8's CPU profile of the service over this batch (open it in Chrome DevTools).
  if (values.profile) await service.profile('start');
  const clientBefore = await service.stats();
  const batchStart = performance.now();
  const batch = await runBatch(driver, plan.batch, BATCH_CONCURRENCY);
  const clientAfter = await service.stats();
  if (values.profile) {
    await service.profile('stop', values.profile);
    progress(`wrote the service's CPU profile of the batch to ${values.profile}`);
  }
  const batchSeconds = (performance.now() - batchStart) / 1000;
  await sleep(STATS_FLUSH_MS);
  const pgAfter = await xacts();
  const pgWindowSeconds = (performance.now() - pgWindowStart) / 1000;
  // Per completed sign-in; none completed leaves the counts unknown (NaN, null in the JSON).
  const counted = batch.completed || Number.NaN;
  const transactionsPerSignIn = (pgAfter - pgBefore - backgroundTransactionsPerSecond * pgWindowSeconds) / counted;
  const clientTransactionsPerSignIn = (clientAfter.transactions - clientBefore.transactions - backgroundTransactionsPerSecond * batchSeconds) / counted;
  const statementsPerSignIn = (clientAfter.statements - clientBefore.statements - backgroundStatementsPerSecond * batchSeconds) / counted;
  const cpuMsPerSignIn = (clientAfter.cpuMicros - clientBefore.cpuMicros - backgroundCpuMicrosPerSecond * batchSeconds) / counted / 1000;

  const rest = await connectPhones(wsUrl, directory.users.slice(plan.batchUsers), driver.onChallenge, connectUntil, (n) => onConnected(phones.length + n));
  phones = [...phones, ...rest.clients];
  driver.addUsers(rest.ready);
  if (phones.length < authenticators) progress(`only ${phones.length} of ${authenticators} phones connected in time; ${driver.freeUsers} users sign in`);
  const connectSeconds = (performance.now() - connectStart) / 1000;
  await sleep(2000);
  const heapAfter = await service.stats({ gc: true });
  // An independent count of the phones: the service's own gauge.
  const metrics = await (await fetch(`${url}/metrics`)).text();
  const gauge = Number(/^signin_connected_authenticators (\d+)/m.exec(metrics)?.[1]);

  progress(`idle: ${plan.idleSeconds} s with ${phones.length} authenticators connected`);
  const idleStart = performance.now();
  const idleBefore = await service.stats();
  const ticksBefore = cpuTicks(service.pid);
  await sleep(plan.idleSeconds * 1000);
  const ticksAfter = cpuTicks(service.pid);
  const idleAfter = await service.stats();
  const idleMicros = (performance.now() - idleStart) * 1000;
  // The kernel's count of the same CPU time, as a check on process.cpuUsage().
  const idleCpuPercentByProcStat = ((ticksAfter - ticksBefore) / clockTicksPerSecond / (idleMicros / 1e6)) * 100;
  const idleCpuPercent = ((idleAfter.cpuMicros - idleBefore.cpuMicros) / idleMicros) * 100;

  const steps: StepResult[] = [];
  for (const rate of plan.rates) {
    // Ten minutes in all: later steps (and the burst) would not fit; the first step always runs.
    if (steps.length > 0 && performance.now() > plan.stepsUntilSecond * 1000) {
      progress(`no time left for ${rate}/s`);
      break;
    }
    progress(`open loop: ${rate} sign-ins/s for ${plan.stepSeconds} s`);
    const step = await runStep(driver, service, rate, plan.stepSeconds);
    steps.push(step);
    progress(
      `  ${rate}/s: ${step.completed}/${step.offered} ok, p50 ${step.p50Ms.toFixed(1)} ms, p99 ${step.p99Ms.toFixed(1)} ms, push p99 ${step.pushP99Ms.toFixed(1)} ms, service CPU ${step.serviceCpuPercent.toFixed(0)} %, generator CPU ${step.generatorCpuPercent.toFixed(0)} %${step.firstError ? `; first error: ${step.firstError}` : ''}`,
    );
    if (!(step.p99Ms < P99_TARGET_MS) || step.errorRate >= ERROR_RATE_TARGET) break;
  }
  await sleep(3000);
  await driver.settled(CANCEL_WAIT_MS);
  const burstSize = Math.min(plan.burst, driver.freeUsers);
  progress(`burst: ${burstSize} sign-ins at once`);
  const burst = await runBurst(driver, burstSize);

  const result = report({
    quick: values.quick!,
    redis: Boolean(process.env.REDIS_URL),
    authenticators,
    connectedAuthenticators: phones.length,
    gaugeConnectedAuthenticators: gauge,
    setupSeconds: directory.setupSeconds,
    apiAuthenticators: directory.apiAuthenticators,
    connectSeconds,
    kibPerAuthenticator: (heapAfter.heapUsedAfterGc - heapBefore.heapUsedAfterGc) / 1024 / phones.length,
    rssKibPerAuthenticator: (heapAfter.rss - heapBefore.rss) / 1024 / phones.length,
    rawWs,
    crypto,
    pg,
    idleCpuPercent,
    idleCpuPercentByProcStat,
    transactionsPerSignIn,
    clientTransactionsPerSignIn,
    statementsPerSignIn,
    cpuMsPerSignIn,
    batch,
    steps,
    burst,
    p99TargetMs: P99_TARGET_MS,
    errorRateTarget: ERROR_RATE_TARGET,
  });
  mkdirSync(dirname(values.out!), { recursive: true });
  writeFileSync(values.out!, `${JSON.stringify(result.json, null, 2)}\n`);
  console.log(result.table);
  progress(`wrote ${values.out}`);
} finally {
  await cleanUp();
}
