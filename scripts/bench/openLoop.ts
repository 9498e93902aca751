/**
 * Open-loop load: sign-ins arrive at a fixed rate whether or not earlier ones finished (a slow
 * server does not slow the arrivals down, as it would in a closed loop). Also measures the load
 * generator itself — its CPU and how late it started arrivals — to tell whether it, not the
 * service, was the limit.
 */
import type { Child } from './children.js';
import type { SignInDriver, SignInResult } from './signIns.js';
import { inPool, percentile, sleep } from './util.js';

export interface StepResult {
  rate: number;
  offered: number;
  completed: number;
  errors: number;
  errorRate: number;
  p50Ms: number;
  p99Ms: number;
  pushP50Ms: number;
  pushP99Ms: number;
  approvedP99Ms: number;
  /** Service process CPU over the step, in % of one core. */
  serviceCpuPercent: number;
  /** Load generator CPU over the step, in % of one core. */
  generatorCpuPercent: number;
  /** How late the generator started arrivals (p99), a sign of the generator being the limit. */
  arrivalLagP99Ms: number;
  firstError?: string;
}

export function summarise(rate: number, results: SignInResult[], extra: Pick<StepResult, 'serviceCpuPercent' | 'generatorCpuPercent' | 'arrivalLagP99Ms'>): StepResult {
  const ok = results.filter((r) => r.ok);
  const failed = results.filter((r) => !r.ok);
  return {
    rate,
    offered: results.length,
    completed: ok.length,
    errors: failed.length,
    errorRate: results.length ? failed.length / results.length : 0,
    // A failed sign-in counts at its full time, so errors cannot make p99 look better.
    p50Ms: percentile(results.map((r) => r.totalMs), 0.5),
    p99Ms: percentile(results.map((r) => r.totalMs), 0.99),
    pushP50Ms: percentile(ok.map((r) => r.pushMs), 0.5),
    pushP99Ms: percentile(ok.map((r) => r.pushMs), 0.99),
    approvedP99Ms: percentile(ok.map((r) => r.approvedMs), 0.99),
    ...extra,
    ...(failed[0] ? { firstError: failed[0].error } : {}),
  };
}

/** `rate` sign-ins a second for `seconds`, then waits for the last to end (each ends within its timeout). */
export async function runStep(driver: SignInDriver, service: Child, rate: number, seconds: number): Promise<StepResult> {
  const count = Math.max(1, Math.round(rate * seconds));
  const intervalMs = 1000 / rate;
  const lags: number[] = [];
  const running: Promise<SignInResult>[] = [];
  const serviceBefore = await service.stats();
  const cpuBefore = process.cpuUsage();
  const start = performance.now();
  for (let launched = 0; launched < count; ) {
    const due = Math.min(count, Math.floor((performance.now() - start) / intervalMs) + 1);
    for (; launched < due; launched++) {
      lags.push(performance.now() - (start + launched * intervalMs));
      running.push(driver.signIn());
    }
    if (launched < count) await sleep(Math.max(0, start + launched * intervalMs - performance.now()));
  }
  const results = await Promise.all(running);
  const wallMicros = (performance.now() - start) * 1000;
  const cpu = process.cpuUsage(cpuBefore);
  const serviceAfter = await service.stats();
  return summarise(rate, results, {
    serviceCpuPercent: ((serviceAfter.cpuMicros - serviceBefore.cpuMicros) / wallMicros) * 100,
    generatorCpuPercent: ((cpu.user + cpu.system) / wallMicros) * 100,
    arrivalLagP99Ms: percentile(lags, 0.99),
  });
}

/**
 * `count` sign-ins, `concurrency` at a time (closed): the batch whose statements are counted, where
 * arrivals outrunning a slow service would only add timeouts. `rate` is the achieved rate.
 */
export async function runBatch(driver: SignInDriver, count: number, concurrency: number): Promise<StepResult> {
  const results: SignInResult[] = [];
  const start = performance.now();
  const cpuBefore = process.cpuUsage();
  await inPool(Array.from({ length: count }), concurrency, async () => {
    results.push(await driver.signIn());
  });
  const wallMicros = (performance.now() - start) * 1000;
  const cpu = process.cpuUsage(cpuBefore);
  return summarise((count / wallMicros) * 1e6, results, { serviceCpuPercent: Number.NaN, generatorCpuPercent: ((cpu.user + cpu.system) / wallMicros) * 100, arrivalLagP99Ms: 0 });
}

/** `count` sign-ins started at the same moment. */
export async function runBurst(driver: SignInDriver, count: number) {
  const results = await Promise.all(Array.from({ length: count }, () => driver.signIn()));
  const ok = results.filter((r) => r.ok);
  return {
    started: count,
    completed: ok.length,
    approvedP99Ms: percentile(ok.map((r) => r.approvedMs), 0.99),
    p99Ms: percentile(results.map((r) => r.totalMs), 0.99),
    firstError: results.find((r) => !r.ok)?.error,
  };
}
