import { EnvelopArmorPlugin } from '@escape.tech/graphql-armor';
import { type IncomingMessage, type ServerResponse, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as delay } from 'node:timers/promises';
import { GraphQLError, type ExecutionArgs } from 'graphql';
import { CloseCode } from 'graphql-ws';
import { useServer } from 'graphql-ws/use/ws';
import { createYoga } from 'graphql-yoga';
import type { Logger } from 'pino';
import { type WebSocket, WebSocketServer } from 'ws';
import type { Config } from './config.js';
import { type DatabaseHandle, openDatabase } from './db/client.js';
import type { Clock } from './domain/clock.js';
import { clientIp } from './domain/clientIp.js';
import type { Context } from './graphql/builder.js';
import { schema } from './graphql/schema.js';
import { createLogger } from './logger.js';
import { createEventBus, type EventBus } from './realtime/events.js';
import type { App } from './services/app.js';
import { type Auth, AuthenticationError, resolveAuth } from './services/auth.js';
import { openGeoIpDatabase } from './services/geo.js';
import { LIVE_RESYNC_MS, everyMs } from './services/live.js';
import { ImportedKeyCache } from './services/keyCache.js';
import { runMaintenance } from './services/maintenance.js';
import { systemClock } from './services/system.js';
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

/** RFC 6455 §5.5: a close frame's payload is at most 125 bytes, 2 of them the code. */
const MAX_CLOSE_REASON_BYTES = 123;

/** Cuts a close reason to what a close frame carries, never inside a character. */
export function closeReason(message: string): string {
  let reason = '';
  let bytes = 0;
  for (const char of message) {
    bytes += Buffer.byteLength(char);
    if (bytes > MAX_CLOSE_REASON_BYTES) break;
    reason += char;
  }
  return reason;
}

/**
 * The Authorization value of a connection_init payload. The key is matched without regard to case,
 * like an HTTP header; a payload naming it twice, or with a value that is not a string, is refused
 * rather than read as anonymous.
 */
function connectionAuthorization(params: Record<string, unknown> | undefined): string | undefined {
  const values = Object.entries(params ?? {}).filter(([key]) => key.toLowerCase() === 'authorization');
  if (values.length === 0) return undefined;
  const [[, value]] = values as [[string, unknown]];
  if (values.length > 1 || typeof value !== 'string') {
    throw new AuthenticationError('The connection_init payload must carry one "authorization" string: "Bearer <token>" or "Device <device assertion>".');
  }
  return value;
}

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
      importedKeys: new ImportedKeyCache(),
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
          // No authorization endpoint and no ID tokens yet (standard OpenID Connect sign-in is a later
          // issue): no response types. Access tokens are for this API only, with aud = issuer.
          response_types_supported: [],
          subject_types_supported: ['public'],
          // Non-standard: where the API is, and the audience of its access tokens.
          graphql_endpoint: `${issuer}${GRAPHQL_PATH}`,
          access_token_audience: issuer,
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
          try {
            ctx.extra.auth = await resolveAuth(app, connectionAuthorization(ctx.connectionParams));
          } catch (error) {
            if (!(error instanceof AuthenticationError)) throw error;
            // Closed here with the reason, as HTTP answers 401 with it, so the app can tell a clock to fix
            // (sign again) from a removed device (register again). graphql-ws's own close after `false`
            // (4403, no reason) then finds the socket closing and does nothing.
            ctx.extra.socket.close(CloseCode.Unauthorized, closeReason(error.message));
            return false;
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
