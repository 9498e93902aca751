import { ConfigError, loadConfig } from './config.js';
import { createLogger } from './logger.js';
import { startServer } from './server.js';

let config;
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
let server;
try {
  server = await startServer(config, { logger });
} catch (error) {
  // Start-up failures are the operator's to fix: say what failed, without a stack trace.
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
console.log(`Phone sign-in service: ${server.issuer}/graphql (GraphiQL in a browser)`);
if (!config.operatorToken) console.log('Operator API disabled: set OPERATOR_TOKEN to create tenants.');

let stopping = false;
const shutdown = async (signal: string) => {
  if (stopping) return;
  stopping = true;
  logger.info({ signal }, 'shutting down');
  await server.stop();
  process.exit(0);
};
process.once('SIGTERM', () => void shutdown('SIGTERM'));
process.once('SIGINT', () => void shutdown('SIGINT'));
