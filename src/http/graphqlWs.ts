import type { IncomingMessage, Server } from 'node:http';
import type { ExecutionArgs } from 'graphql';
import { CloseCode } from 'graphql-ws';
import { useServer } from 'graphql-ws/use/ws';
import { type WebSocket, WebSocketServer } from 'ws';
import { clientIp } from '../domain/clientIp.js';
import type { App } from '../services/app.js';
import { type Auth, AuthenticationError, resolveAuth } from '../services/auth.js';
import { GRAPHQL_PATH, type GraphQLYoga } from './yoga.js';

type WsExtra = {
  socket: WebSocket;
  request: IncomingMessage;
  auth?: Auth;
  clientIp?: string | null;
};

/** RFC 6455 §5.5: a close frame's payload is at most 125 bytes, 2 of them the code. */
const MAX_CLOSE_REASON_BYTES = 123;
/** Sent to every socket of a device that was removed or revoked (the code graphql-ws uses for Forbidden). */
const DEVICE_REMOVED_CLOSE = { code: CloseCode.Forbidden, reason: 'Forbidden: this device was removed' } as const;

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

/** The open sockets of each device on this node, so a removed device can be cut off. */
class DeviceSockets {
  private readonly byDevice = new Map<string, Set<WebSocket>>();

  add(deviceId: string, socket: WebSocket) {
    const sockets = this.byDevice.get(deviceId) ?? new Set();
    sockets.add(socket);
    this.byDevice.set(deviceId, sockets);
  }

  remove(deviceId: string, socket: WebSocket) {
    this.byDevice.get(deviceId)?.delete(socket);
  }

  closeAll(deviceId: string) {
    for (const socket of this.byDevice.get(deviceId) ?? []) socket.close(DEVICE_REMOVED_CLOSE.code, DEVICE_REMOVED_CLOSE.reason);
    this.byDevice.delete(deviceId);
  }
}

/**
 * graphql-ws on the HTTP server's port and GraphQL path, through yoga's envelop so WebSocket
 * operations get the same plugins, limits and context as HTTP. A removed or revoked device loses
 * its live connections at once, on every node (the `deviceRevoked` event reaches them all).
 */
export function serveGraphQLWs(httpServer: Server, yoga: GraphQLYoga, app: App): { close(): Promise<void> } {
  const deviceSockets = new DeviceSockets();
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
        if (ctx.extra.auth.kind === 'device') deviceSockets.add(ctx.extra.auth.deviceId, ctx.extra.socket);
        if (ctx.extra.auth.kind === 'device') app.metrics.authenticatorConnected();
        return true;
      },
      onClose: (ctx) => {
        if (ctx.extra.auth?.kind === 'device') deviceSockets.remove(ctx.extra.auth.deviceId, ctx.extra.socket);
        if (ctx.extra.auth?.kind === 'device') app.metrics.authenticatorDisconnected();
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

  const revocations = app.events.subscribe('deviceRevoked');
  void (async () => {
    for await (const { deviceId } of revocations) deviceSockets.closeAll(deviceId);
  })();

  return {
    close: async () => {
      await revocations.return?.();
      for (const client of wsServer.clients) client.close(1001, 'Server shutting down');
      await new Promise<void>((resolve) => wsServer.close(() => resolve()));
    },
  };
}
