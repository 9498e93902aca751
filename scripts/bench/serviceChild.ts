/**
 * The benchmark's service process: the real server (startServer with the environment's config),
 * plus an operator-only hook over the IPC channel the benchmark opened — never over the network —
 * that reports this process's CPU time, heap after a full GC and the statements it sent to Postgres.
 * Run with --expose-gc.
 */
import { register } from 'node:module';

register('./countStatementsHook.mjs', import.meta.url);
const { loadConfig } = await import('../../src/config.js');
const { createLogger } = await import('../../src/logger.js');
const { startServer } = await import('../../src/server.js');
const { childStatsHandler } = await import('./childStats.js');

const config = loadConfig(process.env);
const server = await startServer(config, { logger: createLogger(config.logLevel) });
childStatsHandler(() => {
  const counts = (globalThis as { __benchStatementCounts?: { statements: number; transactions: number } }).__benchStatementCounts;
  return { statements: counts?.statements ?? 0, transactions: counts?.transactions ?? 0 };
});
process.send?.({ type: 'ready', url: server.url });
process.once('SIGTERM', () => void server.stop().finally(() => process.exit(0)));
