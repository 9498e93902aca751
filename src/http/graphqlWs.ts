import type { IncomingMessage, Server } from 'node:http';
import { type ExecutionArgs, GraphQLError } from 'graphql';
import { CloseCode, type Context, type SubscribePayload, makeServer } from 'graphql-ws';
import { type WebSocket, WebSocketServer } from 'ws';
import type { App } from '../services/app.js';
import { type Auth, AuthenticationError } from '../services/auth.js';
import { RateLimitedError } from '../services/rateLimits.js';
import { GRAPHQL_PATH, type GraphQLYoga, allowedOrigins, authenticate, requestClientIp } from './yoga.js';
import { type LeanHost, LeanSubscription, isLeanOperation } from './leanSubscription.js';
import { UserSockets } from './userSockets.js';
import { serveGraphQLWsProtocol } from './wsTransport.js';

/** What the node keeps for a socket beside graphql-ws's own state: not the upgrade request, nor the credential. */
type WsExtra = {
  socket: WebSocket;
  /** The address its socket count is kept under. */
  ip: string;
  clientIp: string | null;
  auth?: Auth;
  /** connection_init has come (wsTransport.ts closes a socket that sends none in time). */
  initReceived?: boolean;
};

/** RFC 6455 §5.5: a close frame's payload is at most 125 bytes, 2 of them the code. */
const MAX_CLOSE_REASON_BYTES = 123;
/** Sent to every socket of a device that was removed or revoked (the code graphql-ws uses for Forbidden). */
const DEVICE_REMOVED_CLOSE = { code: CloseCode.Forbidden, reason: 'Forbidden: this device was removed' } as const;

/**
 * The largest WebSocket message, in bytes: GraphQL documents and their variables are a few KiB, and
 * `ws` would otherwise take 100 MiB. A bigger frame closes the socket with 1009 (message too big).
 */
const MAX_MESSAGE_BYTES = 64 * 1024;
const TOO_MANY = CloseCode.TooManyInitialisationRequests;

/** How many sockets each client IP holds on this node. */
class ConnectionCounts {
  private readonly byIp = new Map<string, number>();

  count = (ip: string) => this.byIp.get(ip) ?? 0;
  add = (ip: string) => this.byIp.set(ip, this.count(ip) + 1);
  remove(ip: string) {
    const left = this.count(ip) - 1;
    if (left > 0) this.byIp.set(ip, left);
    else this.byIp.delete(ip);
  }
}

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

const INVALID_SUBSCRIPTION = 'This operation is not valid: a subscription selects exactly one root field, and whether it does may not depend on a variable (@include or @skip with a variable there).';

/** The open sockets of each device on this node, so a removed device can be cut off. */
class DeviceSockets {
  private readonly byDevice = new Map<string, Set<WebSocket>>();

  add(deviceId: string, socket: WebSocket) {
    const sockets = this.byDevice.get(deviceId) ?? new Set();
    sockets.add(socket);
    this.byDevice.set(deviceId, sockets);
  }

  /** Whether the socket was registered (a refused socket never was). */
  remove(deviceId: string, socket: WebSocket): boolean {
    const sockets = this.byDevice.get(deviceId);
    const removed = sockets?.delete(socket) ?? false;
    if (sockets?.size === 0) this.byDevice.delete(deviceId);
    return removed;
  }

  count(deviceId: string) {
    return this.byDevice.get(deviceId)?.size ?? 0;
  }

  closeAll(deviceId: string) {
    for (const socket of this.byDevice.get(deviceId) ?? []) socket.close(DEVICE_REMOVED_CLOSE.code, DEVICE_REMOVED_CLOSE.reason);
    this.byDevice.delete(deviceId);
  }
}

/**
 * graphql-ws on the HTTP server's port and GraphQL path, through yoga's envelop so WebSocket
 * operations get the same plugins, limits and context as HTTP. A removed or revoked device loses
 * its live connections at once, on every node (the `deviceRevoked` event reaches them all); so do
 * users signed out, disabled, deleted or demoted, and a token's sockets when it expires (UserSockets).
 * Limits per node: message size, messages per second and operations per socket, sockets per
 * client IP (refused at the upgrade) and per device (refused at connection_init).
 */
export function serveGraphQLWs(httpServer: Server, yoga: GraphQLYoga, app: App, heartbeatTickMs?: number): { close(waitMs?: number): Promise<void> } {
  const { trustedProxies, wsMaxConnectionsPerIp, wsMaxConnectionsPerDevice, wsMaxSubscriptionsPerSocket } = app.config;
  const deviceSockets = new DeviceSockets();
  const userSockets = new UserSockets(app);
  const ipSockets = new ConnectionCounts();
  const ipOf = (request: IncomingMessage) => requestClientIp(request, trustedProxies) ?? '';
  const origins = allowedOrigins(app);
  const wsServer = new WebSocketServer({
    server: httpServer,
    path: GRAPHQL_PATH,
    maxPayload: MAX_MESSAGE_BYTES,
    // Browsers always send Origin on an upgrade, so a page elsewhere cannot open a socket here
    // (cross-site WebSocket hijacking); apps and servers send none. An address whose connections
    // keep being refused waits out the minute. The socket count is checked in the turn that
    // accepts, so it and the count on 'connection' below happen together.
    verifyClient: ({ req, origin }, accept) => {
      if (origin && !origins.has(origin)) return accept(false, 403, `WebSockets from ${origin} are not allowed; the service's ALLOWED_ORIGINS do not list it.`);
      const ip = ipOf(req);
      app.rateLimits.retryAfter('refusedConnect', requestClientIp(req, trustedProxies)).then(
        (wait) => {
          if (wait > 0) return accept(false, 429, `Too many refused connections from ${ip}: try again in ${wait} seconds.`, { 'Retry-After': String(wait) });
          if (ipSockets.count(ip) < wsMaxConnectionsPerIp) return accept(true);
          accept(false, 429, `Too many connections from ${ip}: at most ${wsMaxConnectionsPerIp} at a time.`);
        },
        (err: unknown) => {
          app.logger.error({ err }, 'refused-connection throttle failed');
          accept(false, 503, 'Try again shortly.');
        },
      );
    },
  });
  /** Yoga's plugins and context for an operation of a socket: who its connection proved to be. */
  const envelope = (ctx: Context<Record<string, unknown> | undefined, WsExtra>, params?: SubscribePayload) =>
    yoga.getEnveloped({ ws: { auth: ctx.extra.auth ?? { kind: 'anonymous' }, clientIp: ctx.extra.clientIp ?? null }, params } as never);
  const leanHost: LeanHost = { envelope };
  const server = makeServer<Record<string, unknown> | undefined, WsExtra>(
    {
      onConnect: async (ctx) => {
        ctx.extra.initReceived = true;
        try {
          ctx.extra.auth = await authenticate(app, connectionAuthorization(ctx.connectionParams), ctx.extra.clientIp);
        } catch (error) {
          if (error instanceof RateLimitedError) {
            ctx.extra.socket.close(TOO_MANY, closeReason(error.message));
            return false;
          }
          if (!(error instanceof AuthenticationError)) throw error;
          // Counted before the close, so an address that reconnects at once, over the limit, is
          // already refused at the upgrade.
          await app.rateLimits.consume('refusedConnect', { ip: ctx.extra.clientIp }).catch((limited: unknown) => {
            if (!(limited instanceof RateLimitedError)) throw limited;
          });
          // Closed here with the reason, as HTTP answers 401 with it, so the app can tell a clock to fix
          // (sign again) from a removed device (register again). graphql-ws's own close after `false`
          // (4403, no reason) then finds the socket closing and does nothing.
          ctx.extra.socket.close(CloseCode.Unauthorized, closeReason(error.message));
          return false;
        }
        // The credential is spent (a device assertion) or held as `auth` (a token): not kept as text for the socket's life.
        (ctx as { connectionParams?: unknown }).connectionParams = undefined;
        // Closed while its credential was being checked: onClose has run already, so registering
        // it now would keep it (and the gauge) forever.
        if (ctx.extra.socket.readyState !== ctx.extra.socket.OPEN) return false;
        if (ctx.extra.auth.kind === 'device') {
          const { deviceId } = ctx.extra.auth;
          if (deviceSockets.count(deviceId) >= wsMaxConnectionsPerDevice) {
            ctx.extra.socket.close(TOO_MANY, `Too many connections of this device: at most ${wsMaxConnectionsPerDevice} at a time.`);
            return false;
          }
          deviceSockets.add(deviceId, ctx.extra.socket);
          app.metrics.authenticatorConnected();
        }
        if (ctx.extra.auth.kind === 'user') userSockets.add(ctx.extra.auth, ctx.extra.socket);
        return true;
      },
      onClose: (ctx) => {
        ipSockets.remove(ctx.extra.ip);
        if (ctx.extra.auth?.kind === 'device' && deviceSockets.remove(ctx.extra.auth.deviceId, ctx.extra.socket)) app.metrics.authenticatorDisconnected();
        if (ctx.extra.auth?.kind === 'user') userSockets.remove(ctx.extra.auth, ctx.extra.socket);
      },
      execute: (args: any) => args.rootValue.execute(args),
      subscribe: (args: any) => args.rootValue.subscribe(args),
      onSubscribe: async (ctx, id, payload) => {
        // graphql-ws has already counted this operation in ctx.subscriptions.
        if (Object.keys(ctx.subscriptions).length > wsMaxSubscriptionsPerSocket) {
          return [new GraphQLError(`Too many operations on this connection: at most ${wsMaxSubscriptionsPerSocket} at a time. Complete one first.`, { extensions: { code: 'TOO_MANY_OPERATIONS' } })];
        }
        const enveloped = envelope(ctx, payload);
        const document = enveloped.parse(payload.query);
        const args: ExecutionArgs = {
          schema: enveloped.schema,
          operationName: payload.operationName,
          document,
          variableValues: payload.variables,
          contextValue: await enveloped.contextFactory(),
          rootValue: { execute: enveloped.execute, subscribe: enveloped.subscribe },
        };
        let errors: readonly GraphQLError[];
        try {
          errors = enveloped.validate(args.schema, args.document);
        } catch {
          // graphql-js's one-root-field rule throws (rather than reporting) on a root field whose
          // @include or @skip depends on a variable: refused as invalid, not a crash of the socket.
          return [new GraphQLError(INVALID_SUBSCRIPTION, { extensions: { code: 'GRAPHQL_VALIDATION_FAILED' } })];
        }
        if (errors.length > 0) return [...errors];
        // A phone's challenge subscription lives for hours on thousands of sockets: the lean path keeps
        // only its topic entry and one small object for it (leanSubscription.ts).
        if (isLeanOperation(document, payload.operationName, ctx.extra.auth?.kind ?? 'anonymous')) {
          args.rootValue = new LeanSubscription(leanHost, ctx, id, args, enveloped.subscribe);
        }
        return args;
      },
      // The wait for connection_init is kept by the transport's node-wide tick, not by a timer per socket.
      connectionInitWaitTimeout: 0,
    },
  );
  const transport = serveGraphQLWsProtocol(
    wsServer,
    server,
    (socket, request) => {
      const ip = ipOf(request);
      ipSockets.add(ip);
      return { socket, ip, clientIp: requestClientIp(request, trustedProxies) };
    },
    app.logger,
    heartbeatTickMs,
  );

  const revocations = app.events.subscribe('deviceRevoked');
  void (async () => {
    for await (const { deviceId } of revocations) deviceSockets.closeAll(deviceId);
  })();

  return {
    close: async (waitMs = 0) => {
      await revocations.return?.();
      await userSockets.stop();
      transport.stop();
      // Refuses new upgrades at once; the callback waits for the open sockets, which drain closes.
      const closed = new Promise<void>((resolve) => wsServer.close(() => resolve()));
      await drain(wsServer, waitMs);
      await closed;
    },
  };
}

/** RFC 6455 "Service Restart": graphql-ws clients reconnect, and behind a proxy reach another node. */
const SERVICE_RESTART = { code: 1012, reason: 'Service Restart' } as const;

/** Asks every socket to close with 1012; those that have not closed after `waitMs` are cut. */
async function drain(wsServer: WebSocketServer, waitMs: number) {
  const sockets = [...wsServer.clients];
  const closed = sockets.map((socket) => new Promise<void>((resolve) => (socket.readyState === socket.CLOSED ? resolve() : socket.once('close', () => resolve()))));
  for (const socket of sockets) socket.close(SERVICE_RESTART.code, SERVICE_RESTART.reason);
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([Promise.all(closed), new Promise<void>((resolve) => (timer = setTimeout(resolve, waitMs)))]);
  clearTimeout(timer);
  for (const socket of sockets) socket.terminate();
}
