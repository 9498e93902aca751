import { EnvelopArmorPlugin } from '@escape.tech/graphql-armor';
import { type IncomingMessage, type ServerResponse, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as delay } from 'node:timers/promises';
import { GraphQLError, type ExecutionArgs } from 'graphql';
import { useServer } from 'graphql-ws/use/ws';
import { createYoga } from 'graphql-yoga';
import type { Logger } from 'pino';
import { type WebSocket, WebSocketServer } from 'ws';
import type { Config } from './config.js';
import { type DatabaseHandle, openDatabase } from './db/client.js';
import { type Clock, systemClock } from './domain/clock.js';
import { clientIp } from './domain/clientIp.js';
import type { Context } from './graphql/builder.js';
import { schema } from './graphql/schema.js';
import { createLogger } from './logger.js';
import { createEventBus, type EventBus } from './realtime/events.js';
import type { App } from './services/app.js';
import { type Auth, AuthenticationError, resolveAuth } from './services/auth.js';
import { openGeoIpDatabase } from './services/geo.js';
import { LIVE_RESYNC_MS, everyMs } from './services/live.js';
import { runMaintenance } from './services/maintenance.js';
import { TokenService } from './services/tokens.js';

export interface ServerOptions {
  clock?: Clock;
  logger?: Logger;
  /** Run housekeeping (expiries, clean-up) on a timer; tests turn it off and call runMaintenance(). */
  maintenanceIntervalMs?: number | null;
  /** How often live subscriptions re-read the database (default LIVE_RESYNC_MS); tests shorten it. */
  liveResyncMs?: number;
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
  stop(): Promise<void>;
}

const MAINTENANCE_INTERVAL_MS = 1000;
// Request bodies are GraphQL documents and small variables; nothing legitimate comes near 1 MiB.
const MAX_BODY_BYTES = 1024 * 1024;
// Query shape limits against resource-exhaustion documents; introspection (GraphiQL) stays within them.
const ARMOR = { maxDepth: { n: 12 }, maxAliases: { n: 20 }, maxTokens: { n: 2000 }, costLimit: { maxCost: 5000 } };
const GRAPHQL_PATH = '/graphql';

type WsExtra = {
  socket: WebSocket;
  request: IncomingMessage;
  auth?: Auth;
  clientIp?: string | null;
};

const unauthenticated = (error: AuthenticationError) =>
  new GraphQLError(error.message, { extensions: { code: 'UNAUTHENTICATED', http: { status: 401 } } });

/** Opens the database, migrates it, and serves HTTP and graphql-ws on one port. */
export async function startServer(config: Config, options: ServerOptions = {}): Promise<RunningServer> {
  const logger = options.logger ?? createLogger(config.logLevel);
  const clock = options.clock ?? systemClock;
  // Before the port opens: a GEOIP_DATABASE that cannot be read stops start-up with a ConfigError.
  if (config.geoIpDatabase) await openGeoIpDatabase(config.geoIpDatabase);
  let database: DatabaseHandle | undefined;
  let bus: EventBus | undefined;
  let handler: ((req: IncomingMessage, res: ServerResponse) => void) | undefined;

  const httpServer = createServer((req, res) => {
    if (handler) return handler(req, res);
    res.writeHead(503, { 'content-type': 'application/json' }).end(JSON.stringify({ status: 'starting' }));
  });
  await new Promise<void>((resolve, reject) => {
    httpServer.once('error', reject);
    httpServer.listen(config.port, config.host, resolve);
  });
  const port = (httpServer.address() as AddressInfo).port;
  const issuer = config.publicUrl ?? `http://localhost:${port}`;

  try {
    database = await openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir });
    await database.migrate();
    bus = createEventBus(config.redisUrl, logger);
    const tokens = new TokenService(database.db, issuer, clock, config.accessTokenTtlSeconds);
    await tokens.init();
    const app: App = {
      config,
      issuer,
      db: database.db,
      clock,
      events: bus.events,
      logger,
      tokens,
      liveResync: everyMs(options.liveResyncMs ?? LIVE_RESYNC_MS),
      sleep: options.sleep ?? ((ms) => delay(ms)),
    };
    const db = database;

    const yoga = createYoga<{ req?: IncomingMessage; ws?: { auth: Auth; clientIp: string | null } }, Context>({
      schema,
      plugins: [EnvelopArmorPlugin(ARMOR)],
      graphqlEndpoint: GRAPHQL_PATH,
      graphiql: { subscriptionsProtocol: 'WS', title: 'Phone sign-in' },
      landingPage: false,
      logging: {
        // Yoga's debug lines can carry request variables (passwords, passes): never logged.
        debug: () => {},
        info: (...args) => logger.info(args),
        warn: (...args) => logger.warn(args),
        error: (...args) => logger.error(args),
      },
      context: async ({ request, req, ws }): Promise<Context> => {
        if (ws) return { app, auth: ws.auth, clientIp: ws.clientIp };
        try {
          const auth = await resolveAuth(app, request.headers.get('authorization'));
          return { app, auth, clientIp: clientIp(req?.socket.remoteAddress, request.headers.get('x-forwarded-for'), config.trustedProxies) };
        } catch (error) {
          if (error instanceof AuthenticationError) throw unauthenticated(error);
          throw error;
        }
      },
    });

    const json = (res: ServerResponse, status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' }).end(JSON.stringify(body));
    };
    const routes: Record<string, (res: ServerResponse) => void | Promise<void>> = {
      '/health': (res) => json(res, 200, { status: 'ok' }),
      '/ready': async (res) => {
        try {
          await db.ping();
          json(res, 200, { status: 'ready' });
        } catch {
          json(res, 503, { status: 'database unreachable' });
        }
      },
      '/.well-known/jwks.json': (res) => json(res, 200, tokens.jwks()),
      '/.well-known/openid-configuration': (res) =>
        json(res, 200, {
          issuer,
          jwks_uri: `${issuer}/.well-known/jwks.json`,
          id_token_signing_alg_values_supported: ['ES256'],
          subject_types_supported: ['public'],
          response_types_supported: ['code'],
        }),
    };
    handler = (req, res) => {
      if (Number(req.headers['content-length'] ?? 0) > MAX_BODY_BYTES) {
        return json(res, 413, { errors: [{ message: 'The request body is larger than 1 MiB.', extensions: { code: 'PAYLOAD_TOO_LARGE' } }] });
      }
      const route = req.method === 'GET' ? routes[new URL(req.url ?? '/', 'http://x').pathname] : undefined;
      if (route) return void route(res);
      return void yoga(req, res);
    };

    // graphql-ws on the same port and path, through yoga's envelop so both get the same plugins and context.
    const socketsByDevice = new Map<string, Set<WebSocket>>();
    const wsServer = new WebSocketServer({ server: httpServer, path: GRAPHQL_PATH });
    useServer<Record<string, unknown> | undefined, WsExtra>(
      {
        onConnect: async (ctx) => {
          const authorization = ctx.connectionParams?.authorization;
          try {
            ctx.extra.auth = await resolveAuth(app, typeof authorization === 'string' ? authorization : undefined);
          } catch (error) {
            if (error instanceof AuthenticationError) return false;
            throw error;
          }
          ctx.extra.clientIp = clientIp(ctx.extra.request.socket.remoteAddress, null, []);
          if (ctx.extra.auth.kind === 'device') {
            const { deviceId } = ctx.extra.auth;
            const sockets = socketsByDevice.get(deviceId) ?? new Set();
            sockets.add(ctx.extra.socket);
            socketsByDevice.set(deviceId, sockets);
          }
          return true;
        },
        onClose: (ctx) => {
          if (ctx.extra.auth?.kind === 'device') socketsByDevice.get(ctx.extra.auth.deviceId)?.delete(ctx.extra.socket);
        },
        execute: (args: any) => args.rootValue.execute(args),
        subscribe: (args: any) => args.rootValue.subscribe(args),
        onSubscribe: async (ctx, _id, payload) => {
          const enveloped = yoga.getEnveloped({
            ws: { auth: ctx.extra.auth ?? { kind: 'anonymous' }, clientIp: ctx.extra.clientIp ?? null },
            params: payload,
          } as never);
          const document = enveloped.parse(payload.query);
          const args: ExecutionArgs = {
            schema: enveloped.schema,
            operationName: payload.operationName,
            document,
            variableValues: payload.variables,
            contextValue: await enveloped.contextFactory(),
            rootValue: { execute: enveloped.execute, subscribe: enveloped.subscribe },
          };
          const errors = enveloped.validate(args.schema, args.document);
          return errors.length > 0 ? errors : args;
        },
      },
      wsServer,
    );

    // A removed or revoked device loses its live connections at once, on every node.
    const revocations = app.events.subscribe('deviceRevoked');
    void (async () => {
      for await (const { deviceId } of revocations) {
        for (const socket of socketsByDevice.get(deviceId) ?? []) socket.close(4403, 'Forbidden: this device was removed');
        socketsByDevice.delete(deviceId);
      }
    })();

    const maintain = async () => {
      try {
        await runMaintenance(app);
      } catch (error) {
        logger.error({ err: error }, 'maintenance failed');
      }
    };
    const intervalMs = options.maintenanceIntervalMs === undefined ? MAINTENANCE_INTERVAL_MS : options.maintenanceIntervalMs;
    const timer = intervalMs === null ? undefined : setInterval(maintain, intervalMs);
    timer?.unref();

    logger.info({ url: issuer, database: database.kind, redis: Boolean(config.redisUrl) }, 'phone sign-in service listening');

    return {
      url: `http://localhost:${port}`,
      issuer,
      app,
      runMaintenance: () => runMaintenance(app),
      stop: async () => {
        if (timer) clearInterval(timer);
        await revocations.return?.();
        for (const client of wsServer.clients) client.close(1001, 'Server shutting down');
        await new Promise<void>((resolve) => wsServer.close(() => resolve()));
        httpServer.closeAllConnections();
        await new Promise<void>((resolve) => httpServer.close(() => resolve()));
        await bus?.close();
        await db.close();
      },
    };
  } catch (error) {
    httpServer.close();
    await bus?.close();
    await database?.close();
    throw error;
  }
}
