import cluster, { type Worker } from 'node:cluster';
import type { Logger } from 'pino';
import type { Config } from './config.js';
import { openDatabase } from './db/client.js';

/** A worker that dies is started again after this, doubling while it keeps dying young. */
const RESTART_BACKOFF_MIN_MS = 500;
const RESTART_BACKOFF_MAX_MS = 30_000;
/** A worker that lived this long died of something other than its start-up: restart it at once. */
const HEALTHY_LIFETIME_MS = 30_000;
/** Beyond the workers' own grace period, before the primary kills what is left. */
const STOP_MARGIN_MS = 5000;

/**
 * The primary of WORKERS > 1: migrates once, forks the workers (node:cluster shares the port
 * between them), starts again any that dies, with backoff, and on SIGTERM or SIGINT has each
 * drain and stop. Live events reach every worker through the same transport as between nodes.
 */
export async function runPrimary(config: Config, logger: Logger): Promise<void> {
  // Workers would migrate under the advisory lock anyway; doing it here once means a failed
  // migration stops start-up with one message instead of a restart loop.
  const database = await openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir });
  try {
    await database.migrate();
  } finally {
    await database.close();
  }

  const workers = new Set<Worker>();
  const restarts = new Set<NodeJS.Timeout>();
  let youngDeaths = 0;
  let stopping = false;
  let failed = false;

  const fork = () => {
    const worker = cluster.fork();
    const born = performance.now();
    workers.add(worker);
    worker.once('exit', (code, signal) => {
      workers.delete(worker);
      if (stopping) {
        if (code !== 0) {
          failed = true;
          logger.warn({ workerPid: worker.process.pid, code, signal }, 'worker did not stop cleanly');
        }
        if (workers.size === 0) process.exit(failed ? 1 : 0);
        return;
      }
      youngDeaths = performance.now() - born < HEALTHY_LIFETIME_MS ? youngDeaths + 1 : 0;
      const delayMs = youngDeaths === 0 ? 0 : Math.min(RESTART_BACKOFF_MAX_MS, RESTART_BACKOFF_MIN_MS * 2 ** (youngDeaths - 1));
      logger.error({ workerPid: worker.process.pid, code, signal, restartInMs: delayMs }, 'worker died; starting another');
      const restart = setTimeout(() => {
        restarts.delete(restart);
        fork();
      }, delayMs);
      restarts.add(restart);
    });
  };

  const stop = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal, workers: workers.size }, 'stopping workers');
    for (const restart of restarts) clearTimeout(restart);
    if (workers.size === 0) process.exit(0);
    for (const worker of workers) worker.process.kill('SIGTERM');
    setTimeout(() => {
      logger.error('workers did not stop in time: killing them');
      for (const worker of workers) worker.process.kill('SIGKILL');
      process.exit(1);
    }, config.shutdownGraceMs + STOP_MARGIN_MS).unref();
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);

  for (let i = 0; i < config.workers; i++) fork();
  logger.info({ workers: config.workers }, 'started workers');
}
