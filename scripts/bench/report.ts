/** The benchmark's result: the JSON of bench/results/latest.json and the table printed beside it. */
import type { StepResult } from './openLoop.js';
import { round } from './util.js';

/** A generator above this share of one core, or starting arrivals this late, may be the limit itself. */
const GENERATOR_CPU_LIMIT_PERCENT = 80;
const GENERATOR_LAG_LIMIT_MS = 50;
/** ES256 work of the server per sign-in: verify the respond call's device assertion and the signed answer; sign the access token. */
const VERIFIES_PER_SIGN_IN = 2;
const SIGNATURES_PER_SIGN_IN = 1;

export interface Measured {
  quick: boolean;
  redis: boolean;
  authenticators: number;
  connectedAuthenticators: number;
  gaugeConnectedAuthenticators: number;
  setupSeconds: number;
  apiAuthenticators: number;
  connectSeconds: number;
  kibPerAuthenticator: number;
  rssKibPerAuthenticator: number;
  rawWs: { kibPerConnection: number; pushP50Ms: number; pushP99Ms: number; pushes: number };
  crypto: { signMicros: number; verifyMicros: number };
  pg: { transactionMicros: number; concurrency: number };
  idleCpuPercent: number;
  idleCpuPercentByProcStat: number;
  transactionsPerSignIn: number;
  clientTransactionsPerSignIn: number;
  statementsPerSignIn: number;
  /** Service CPU (user + system) per complete sign-in over the measured batch, less the background. */
  cpuMsPerSignIn: number;
  batch: StepResult;
  steps: StepResult[];
  burst: { started: number; completed: number; approvedP99Ms: number; p99Ms: number; firstError?: string };
  p99TargetMs: number;
  errorRateTarget: number;
}

export function report(m: Measured) {
  const passing = m.steps.filter((s) => s.p99Ms < m.p99TargetMs && s.errorRate < m.errorRateTarget);
  const best = passing.at(-1);
  const shown = best ?? m.steps[0] ?? m.batch;
  const floorMicros = m.pg.transactionMicros + VERIFIES_PER_SIGN_IN * m.crypto.verifyMicros + SIGNATURES_PER_SIGN_IN * m.crypto.signMicros;
  const floorSignInsPerSecond = 1e6 / floorMicros;
  const signInsPerSecond = best?.rate ?? 0;
  const ratio = signInsPerSecond / floorSignInsPerSecond;
  const pushP99Ms = m.steps[0]?.pushP99Ms ?? Number.NaN;
  // The last step is where the service gave out (or the highest offered): was the generator the limit there?
  const last = m.steps.at(-1) ?? m.batch;
  const generatorLimited = last.generatorCpuPercent > GENERATOR_CPU_LIMIT_PERCENT || last.arrivalLagP99Ms > GENERATOR_LAG_LIMIT_MS;
  const targets = {
    ratio: { target: '>= 0.5 with p99 < 300 ms', met: ratio >= 0.5 },
    pushP99Ms: { target: `<= 2 × rawWsPushP99Ms (${round(2 * m.rawWs.pushP99Ms, 2)} ms)`, met: pushP99Ms <= 2 * m.rawWs.pushP99Ms },
    kibPerAuthenticator: { target: '<= 10', met: m.kibPerAuthenticator <= 10 },
    idleCpuPercent: { target: '<= 5', met: m.idleCpuPercent <= 5 },
    transactionsPerSignIn: { target: '<= 3', met: m.transactionsPerSignIn <= 3 },
  };
  const json = {
    mode: m.quick ? 'quick' : 'full',
    database: 'postgres',
    events: m.redis ? 'redis' : 'in-process',
    signInsPerSecond,
    floorSignInsPerSecond: round(floorSignInsPerSecond),
    ratio: round(ratio, 3),
    p50Ms: round(shown.p50Ms, 2),
    p99Ms: round(shown.p99Ms, 2),
    connectedAuthenticators: m.connectedAuthenticators,
    pushP99Ms: round(pushP99Ms, 2),
    rawWsPushP99Ms: round(m.rawWs.pushP99Ms, 2),
    kibPerAuthenticator: round(m.kibPerAuthenticator, 2),
    rawWsKibPerConnection: round(m.rawWs.kibPerConnection, 2),
    idleCpuPercent: round(m.idleCpuPercent, 2),
    transactionsPerSignIn: round(m.transactionsPerSignIn, 2),
    statementsPerSignIn: round(m.statementsPerSignIn, 2),
    cpuMsPerSignIn: round(m.cpuMsPerSignIn, 2),
    burst: { started: m.burst.started, completed: m.burst.completed, approvedP99Ms: round(m.burst.approvedP99Ms, 1), p99Ms: round(m.burst.p99Ms, 1), ...(m.burst.firstError ? { firstError: m.burst.firstError } : {}) },
    targets,
    floor: {
      postgresTransactionMicros: round(m.pg.transactionMicros),
      es256VerifyMicros: round(m.crypto.verifyMicros),
      es256SignMicros: round(m.crypto.signMicros),
      formula: `1e6 / (postgresTransactionMicros + ${VERIFIES_PER_SIGN_IN} × es256VerifyMicros + ${SIGNATURES_PER_SIGN_IN} × es256SignMicros)`,
    },
    checks: {
      connectedAuthenticatorsByServiceGauge: m.gaugeConnectedAuthenticators,
      idleCpuPercentByProcStat: round(m.idleCpuPercentByProcStat, 2),
      transactionsPerSignInCountedAtClient: round(m.clientTransactionsPerSignIn, 2),
      rawWsPushP50Ms: round(m.rawWs.pushP50Ms, 2),
      pushP50Ms: round(m.steps[0]?.pushP50Ms ?? Number.NaN, 2),
      rssKibPerAuthenticator: round(m.rssKibPerAuthenticator, 2),
      setupSeconds: round(m.setupSeconds),
      authenticatorsSetUpThroughApi: m.apiAuthenticators,
      connectSeconds: round(m.connectSeconds),
      statementBatch: { signIns: m.batch.completed, errors: m.batch.errors },
    },
    generator: {
      limitedAtLastStep: generatorLimited,
      cpuPercentAtLastStep: round(last.generatorCpuPercent),
      arrivalLagP99MsAtLastStep: round(last.arrivalLagP99Ms, 2),
    },
    steps: m.steps.map((s) => Object.fromEntries(Object.entries(s).map(([k, v]) => [k, typeof v === 'number' ? round(v, 2) : v]))),
    notes: [
      'A sign-in: beginSignIn (HTTP) → the browser follows signInAttempt on its own graphql-ws socket → the first of the user\'s phones to get the push signs an approval and calls respondToPhoneSignInChallenge → the browser sees APPROVED → completeSignIn returns a token. Times from beginSignIn sent, performance.now().',
      'Open loop: each step offers a fixed arrival rate; signInsPerSecond is the highest rate whose p99 < 300 ms with < 0.1 % errors (failures count at their full time, up to a 30 s timeout); p50Ms/p99Ms are of that step.',
      `pushP99Ms: beginSignIn sent → challenge on the first of the user\'s phones, at the first step (${m.steps[0]?.rate}/s) with every phone connected; rawWsPushP99Ms: POST to a trivial ws server sent → the message on the chosen one of as many raw sockets, at the same rate.`,
      'kibPerAuthenticator and rawWsKibPerConnection: growth of the server process\'s V8 heap after two full GCs, from before the sockets connected to after, divided by sockets.',
      'idleCpuPercent: service process CPU (process.cpuUsage, user+system) over the idle window with every authenticator connected, in % of one core.',
      `transactionsPerSignIn: pg_stat_database xact_commit+xact_rollback of the bench database over the measured batch (${m.batch.offered} sign-ins 10 at a time, ${m.batch.completed} completed, with only the batch users' phones connected; read after the statistics flush), less the background (housekeeping, subscription re-reads) counted at the client just before. statementsPerSignIn: counted at the service's postgres.js client (its debug hook, bench child only), BEGIN and COMMIT included, less background; pg_stat_statements is not loaded on this Postgres. cpuMsPerSignIn: the service's process.cpuUsage (user + system) over the same batch, less the background's CPU at the same rate, per completed sign-in.`,
      `Floor: the server\'s own per-sign-in work on this machine — the sign-in\'s writes as one raw postgres.js transaction (insert attempt and its log, approve, complete, finish the log, insert the session; ${m.pg.concurrency} at a time, wall time over count) plus ES256 with jose — summed as if on one core.`,
      'The load generator runs in one process; generator.limitedAtLastStep is true when it used more than 80 % of a core or started arrivals more than 50 ms late (p99) at the last step.',
    ],
  };
  const mark = (met: boolean) => (met ? 'ok ' : 'MISS');
  const row = (name: string, value: string, target: string, met?: boolean) => `${name.padEnd(28)} ${value.padStart(14)}   ${met === undefined ? '    ' : mark(met)} ${target}`;
  const table = [
    `phone sign-in benchmark (${json.mode}, Postgres, ${json.events} events, ${m.connectedAuthenticators} authenticators)`,
    '',
    ` rate/s  offered   ok  errors   p50 ms   p99 ms  push p99  service CPU %  generator CPU %  lag p99 ms`,
    ...m.steps.map(
      (s) =>
        `${String(s.rate).padStart(7)} ${String(s.offered).padStart(8)} ${String(s.completed).padStart(4)} ${String(s.errors).padStart(7)} ${s.p50Ms.toFixed(1).padStart(8)} ${s.p99Ms.toFixed(1).padStart(8)} ${s.pushP99Ms.toFixed(1).padStart(9)} ${s.serviceCpuPercent.toFixed(0).padStart(14)} ${s.generatorCpuPercent.toFixed(0).padStart(16)} ${s.arrivalLagP99Ms.toFixed(1).padStart(11)}`,
    ),
    '',
    row('signInsPerSecond', String(signInsPerSecond), `p99 < ${m.p99TargetMs} ms, errors < 0.1 %`),
    row('floorSignInsPerSecond', floorSignInsPerSecond.toFixed(0), json.floor.formula),
    row('ratio', ratio.toFixed(3), targets.ratio.target, targets.ratio.met),
    row('p50Ms / p99Ms', `${shown.p50Ms.toFixed(1)} / ${shown.p99Ms.toFixed(1)}`, 'at signInsPerSecond'),
    row('connectedAuthenticators', String(m.connectedAuthenticators), `service gauge says ${m.gaugeConnectedAuthenticators}`),
    row('pushP99Ms', pushP99Ms.toFixed(2), targets.pushP99Ms.target, targets.pushP99Ms.met),
    row('rawWsPushP99Ms', m.rawWs.pushP99Ms.toFixed(2), 'floor'),
    row('kibPerAuthenticator', m.kibPerAuthenticator.toFixed(2), targets.kibPerAuthenticator.target, targets.kibPerAuthenticator.met),
    row('rawWsKibPerConnection', m.rawWs.kibPerConnection.toFixed(2), 'floor'),
    row('idleCpuPercent', m.idleCpuPercent.toFixed(2), targets.idleCpuPercent.target, targets.idleCpuPercent.met),
    row('transactionsPerSignIn', m.transactionsPerSignIn.toFixed(2), `${targets.transactionsPerSignIn.target} (client count ${m.clientTransactionsPerSignIn.toFixed(2)})`, targets.transactionsPerSignIn.met),
    row('statementsPerSignIn', m.statementsPerSignIn.toFixed(2), 'counted at the service\'s postgres.js client'),
    row('cpuMsPerSignIn', m.cpuMsPerSignIn.toFixed(2), 'service CPU per complete sign-in (the batch, less background)'),
    row('burst', `${m.burst.completed}/${m.burst.started}`, `completed; approval p99 ${m.burst.approvedP99Ms.toFixed(0)} ms seen by the browser`),
    row('floor parts (µs)', `${m.pg.transactionMicros.toFixed(0)} + ${m.crypto.verifyMicros.toFixed(0)} + ${m.crypto.signMicros.toFixed(0)}`, 'Postgres transaction + ES256 verify + ES256 sign'),
    '',
    generatorLimited
      ? `The load generator may have been the limit at the last step (${last.generatorCpuPercent.toFixed(0)} % CPU, arrivals ${last.arrivalLagP99Ms.toFixed(1)} ms late at p99).`
      : `The load generator was not the limit: at the last step it used ${last.generatorCpuPercent.toFixed(0)} % of a core and started arrivals ${last.arrivalLagP99Ms.toFixed(1)} ms late at p99.`,
  ].join('\n');
  return { json, table };
}
