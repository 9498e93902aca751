import cluster from 'node:cluster';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as delay } from 'node:timers/promises';
import type { Logger } from 'pino';
import type { Config } from './config.js';
import { type DatabaseHandle, openDatabase } from './db/client.js';
import type { Leadership } from './db/leadership.js';
import type { Clock } from './domain/clock.js';
import { serveGraphQLWs } from './http/graphqlWs.js';
import { HttpDrain } from './http/draining.js';
import { oidcRoutes } from './http/oidc/mount.js';
import { type RequestHandler, httpRoutes, starting } from './http/routes.js';
import { createGraphQLYoga } from './http/yoga.js';
import { createLogger } from './logger.js';
import { type HousekeepingOutcome, Metrics } from './metrics.js';
import { createEventBus, type EventBus } from './realtime/events.js';
import type { App } from './services/app.js';
import { geoIpDatabasePath, openGeoIpDatabase } from './services/geo.js';
import { ImportedKeyCache } from './services/keyCache.js';
import { RateLimits } from './services/rateLimits.js';
import { RefusalAudit } from './services/refusalAudit.js';
import { startLiveHub } from './services/liveHub.js';
import { announceLogWrites } from './services/useCase.js';
import { housekeepingLeadership, housekeepingPeriod, runMaintenance } from './services/maintenance.js';
import { systemClock } from './services/system.js';
import { TokenService } from './services/tokens.js';

export interface ServerOptions {
  clock?: Clock;
  logger?: Logger;
  /**
   * How often housekeeping (expiries, clean-up) runs, by one node of those sharing a database
   * (null: never; most tests turn it off and call runMaintenance()).
   */
  maintenanceIntervalMs?: number | null;
  /** The WebSocket heartbeat's tick (default a second; each socket is pinged every 30 ticks); tests shorten it. */
  heartbeatTickMs?: number;
  /** Real-time waiting (default setTimeout); tests record it instead of waiting. */
  sleep?: (ms: number) => Promise<void>;
}

export interface RunningServer {
  /** Where this node listens. */
  url: string;
  /** The public URL shared by every node (PUBLIC_URL): token issuer and `aud` of signed messages. */
  issuer: string;
  app: App;
  runMaintenance(): Promise<void>;
  /**
   * Drains and stops: no new connections, /ready 503, every WebSocket closed with 1012 while
   * in-flight requests finish (both within SHUTDOWN_GRACE_MS), then the database and Redis.
   */
  stop(): Promise<void>;
}

const MAINTENANCE_INTERVAL_MS = 1000;

/** Opens the database, migrates it, and serves HTTP and graphql-ws on one port. */
export async function startServer(config: Config, options: ServerOptions = {}): Promise<RunningServer> {
  const logger = options.logger ?? createLogger(config.logLevel);
  const clock = options.clock ?? systemClock;
  // Before the port opens: a GEOIP_DATABASE that cannot be read stops start-up with a ConfigError;
  // without one the bundled country-level database is loaded here, not on the first sign-in.
  await openGeoIpDatabase(geoIpDatabasePath(config));
  let database: DatabaseHandle | undefined;
  let bus: EventBus | undefined;
  let handler: RequestHandler = starting;
  // A second stop (a signal while the first drains) waits for the first.
  let stopped: Promise<void> | undefined;

  const drain = new HttpDrain();
  // Names the worker that answered, when several share the port (WORKERS), so each can be told apart.
  const worker = cluster.isWorker ? String(cluster.worker!.id) : undefined;
  const httpServer = createServer(
    drain.wrap((req, res) => {
      if (worker) res.setHeader('x-worker', worker);
      handler(req, res);
    }),
  );
  await new Promise<void>((resolve, reject) => {
    httpServer.once('error', reject);
    httpServer.listen(config.port, config.host, resolve);
  });
  const port = (httpServer.address() as AddressInfo).port;
  const issuer = config.publicUrl ?? `http://localhost:${port}`;

  try {
    database = await openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir, timeouts: config.databaseTimeouts });
    await database.migrate();
    bus = createEventBus(config.redisUrl, logger);
    const metrics = new Metrics({ transportConnected: bus.connected, db: database.db, counts: database.counts });
    const tokens = new TokenService(database.db, issuer, clock, config.accessTokenTtlSeconds);
    await tokens.init();
    const app: App = {
      config,
      issuer,
      db: database.db,
      clock,
      events: bus.events,
      logger,
      metrics,
      tokens,
      importedKeys: new ImportedKeyCache(),
      rateLimits: await RateLimits.create(config.rateLimits, issuer, config.redisUrl, logger),
      refusalAudit: new RefusalAudit(database.db, clock),
      // Set just below: the hub reads through the app it belongs to.
      live: undefined as never,
      sleep: options.sleep ?? ((ms) => delay(ms)),
    };
    app.live = startLiveHub(app, bus, logger);
    announceLogWrites(app);
    const db = database;

    const yoga = createGraphQLYoga(app);
    handler = httpRoutes({ db, tokens, yoga, oidc: oidcRoutes(app), metrics, metricsToken: config.metricsToken, eventsConnected: bus.connected });
    const graphqlWs = serveGraphQLWs(httpServer, yoga, app, options.heartbeatTickMs);

    const intervalMs = options.maintenanceIntervalMs === undefined ? MAINTENANCE_INTERVAL_MS : options.maintenanceIntervalMs;
    const leadership = intervalMs === null ? undefined : housekeepingLeadership(config.databaseUrl);
    const maintain = async (lead: Leadership) => {
      let outcome: HousekeepingOutcome = 'failed';
      try {
        outcome = await housekeepingPeriod(app, lead);
      } catch (error) {
        logger.error({ err: error }, 'maintenance failed');
      }
      metrics.housekeepingRan(outcome);
    };
    const timer = leadership && setInterval(maintain, intervalMs!, leadership);
    timer?.unref();

    const drainAndStop = async () => {
      const deadline = performance.now() + config.shutdownGraceMs;
      const left = () => Math.max(0, deadline - performance.now());
      drain.start();
      const closed = new Promise<void>((resolve) => httpServer.close(() => resolve()));
      httpServer.closeIdleConnections();
      if (timer) clearInterval(timer);
      await leadership?.release();
      // Sockets are closed at once, beside the requests: a phone reconnects to another node now
      // rather than after the slowest request here.
      const requests = drain.waitForRequests(left()).then((done) => done || logger.warn('shutdown grace period over: cutting requests still in flight'));
      await Promise.all([requests, graphqlWs.close(left())]);
      await app.live.close();
      httpServer.closeAllConnections();
      await closed;
      await bus?.close();
      await app.rateLimits.close();
      await db.close();
    };

    logger.info({ url: issuer, database: database.kind, redis: Boolean(config.redisUrl) }, 'phone sign-in service listening');

    return {
      url: `http://localhost:${port}`,
      issuer,
      app,
      runMaintenance: () => runMaintenance(app),
      stop: () => (stopped ??= drainAndStop()),
    };
  } catch (error) {
    httpServer.close();
    await bus?.close();
    await database?.close();
    throw error;
  }
}
