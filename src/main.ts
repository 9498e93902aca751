import cluster from 'node:cluster';
import { type Config, ConfigError, loadConfig } from './config.js';
import { runPrimary } from './cluster.js';
import { createLogger } from './logger.js';
import { type RunningServer, startServer } from './server.js';
import { issueSetupCode } from './services/firstRun.js';

/** The time a stop may take beyond SHUTDOWN_GRACE_MS (closing the database and Redis) before the process gives up. */
const STOP_MARGIN_MS = 3000;

let config: Config;
try {
  config = loadConfig(process.env);
} catch (error) {
  if (error instanceof ConfigError) {
    console.error(error.message);
    process.exit(1);
  }
  throw error;
}
const logger = createLogger(config.logLevel);

/** Start-up failures are the operator's to fix: say what failed, without a stack trace. */
function startFailed(error: unknown): never {
  if (error instanceof ConfigError) {
    console.error(error.message);
    process.exit(1);
  }
  const where = config.databaseUrl ? 'the Postgres database of DATABASE_URL' : `the embedded database in DATA_DIR (${config.dataDir})`;
  let root = error;
  while (root instanceof Error && root.cause) root = root.cause;
  const reason = root instanceof Error ? root.message : String(root);
  console.error(`Could not start: ${reason}\nCheck PORT (${config.port}) and ${where}.`);
  process.exit(1);
}

/** One node: serves until SIGTERM or SIGINT, then drains and exits 0. */
async function serve() {
  let server: RunningServer | undefined;
  let stopping = false;
  const shutdown = async (signal: string) => {
    // A second signal (the primary forwards the one a terminal sent the whole group) changes nothing.
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    // Stopped while starting: nothing is served yet, so nothing to drain.
    if (!server) process.exit(0);
    setTimeout(() => {
      logger.error('shutdown took too long: exiting');
      process.exit(1);
    }, config.shutdownGraceMs + STOP_MARGIN_MS).unref();
    try {
      await server.stop();
    } catch (error) {
      logger.error({ err: error }, 'stopping failed');
      process.exit(1);
    }
    process.exit(0);
  };
  // Before start-up, so a signal while the database opens ends the process cleanly.
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));
  server = await startServer(config, { logger }).catch(startFailed);
  if (!cluster.isWorker || cluster.worker?.id === 1) {
    console.log(`Phone sign-in service: ${server.issuer}/graphql (GraphiQL in a browser)`);
    if (!config.operatorToken) console.log('Operator API disabled: set OPERATOR_TOKEN to create tenants.');
    // To this console only, never through the logger (whose lines may be shipped elsewhere).
    const setupCode = await issueSetupCode(server.app);
    if (setupCode) console.log(`No organisation yet: open ${server.issuer}/setup and enter the one-time setup code.\nSetup code: ${setupCode}`);
  }
}

if (config.workers > 1 && cluster.isPrimary) await runPrimary(config, logger).catch(startFailed);
else await serve();
