import type { IncomingMessage } from 'node:http';
import { CloseCode, DEPRECATED_GRAPHQL_WS_PROTOCOL, handleProtocols, type makeServer } from 'graphql-ws';
import type { Logger } from 'pino';
import type { RawData, WebSocket, WebSocketServer } from 'ws';

/**
 * Messages (graphql-ws messages and protocol pings) a socket may send: a burst of this many, then
 * this many a second. Our clients send a handful at connect and a ping every few seconds; a flood
 * is closed. The close code is graphql-ws's "too many" code, which its client does not retry.
 */
const MESSAGE_BURST = 100;
const MESSAGES_PER_SECOND = 20;
/**
 * Every socket is pinged once per this many heartbeat ticks (seconds) and cut at its next turn if
 * it has not answered: a peer gone without a FIN (a phone that lost its network) is let go within
 * two periods. 30 s keeps traffic on every connection well inside the 60 s idle timeout that load
 * balancers and proxies use by default.
 */
const HEARTBEAT_SLOTS = 30;
const HEARTBEAT_TICK_MS = 1000;

/** One open socket: all that this layer keeps for it. */
interface Connection {
  slot: number;
  awaitingPong: boolean;
  /** The message bucket: tokens left, refilled at MESSAGES_PER_SECOND up to MESSAGE_BURST. */
  tokens: number;
  refilledAt: number;
  onMessage?: (data: string) => Promise<void>;
}

type GraphQLWsServer<E> = ReturnType<typeof makeServer<Record<string, unknown> | undefined, E>>;

/**
 * graphql-ws's protocol (its `makeServer`) on `ws` sockets, in place of graphql-ws's `useServer`,
 * which keeps for every socket an interval and a timeout for keep-alive pings, a pong listener per
 * ping, the upgrade request for the socket's life and an async frame per message. Here a socket is
 * one small record and two listeners, and one node-wide timer pings a thirtieth of the sockets each
 * second. Returns the function that stops the heartbeat.
 */
export function serveGraphQLWsProtocol<E extends { socket: WebSocket }>(
  wsServer: WebSocketServer,
  server: GraphQLWsServer<E>,
  extraOf: (socket: WebSocket, request: IncomingMessage) => E,
  logger: Logger,
): { stop(): void } {
  const connections = new Map<WebSocket, Connection>();
  const slots = Array.from({ length: HEARTBEAT_SLOTS }, () => new Set<WebSocket>());
  let opened = 0;
  let tick = 0;
  wsServer.options.handleProtocols = handleProtocols;

  /** Spends one message of the socket's allowance; a socket over it is closed and the message dropped. */
  const spend = (socket: WebSocket, connection: Connection): boolean => {
    const now = performance.now();
    connection.tokens = Math.min(MESSAGE_BURST, connection.tokens + ((now - connection.refilledAt) / 1000) * MESSAGES_PER_SECOND);
    connection.refilledAt = now;
    if (connection.tokens >= 1) {
      connection.tokens -= 1;
      return true;
    }
    if (socket.readyState === socket.OPEN) socket.close(CloseCode.TooManyInitialisationRequests, `Too many messages: at most ${MESSAGES_PER_SECOND} a second.`);
    return false;
  };
  // Shared listeners (`this` is the socket), so a socket costs no closure for them.
  function onPing(this: WebSocket) {
    const connection = connections.get(this);
    if (connection) spend(this, connection);
  }
  function onPong(this: WebSocket) {
    const connection = connections.get(this);
    if (connection) connection.awaitingPong = false;
  }
  // An invalid frame: ws has already sent its close code (1009 for a message too big).
  function onError(this: WebSocket, err: Error) {
    logger.debug({ err: err.message }, 'websocket protocol error');
    this.close(CloseCode.InternalServerError, 'Internal server error');
  }

  wsServer.on('connection', (socket, request) => {
    const connection: Connection = { slot: opened++ % HEARTBEAT_SLOTS, awaitingPong: false, tokens: MESSAGE_BURST, refilledAt: performance.now() };
    connections.set(socket, connection);
    slots[connection.slot]!.add(socket);
    socket.on('ping', onPing);
    socket.on('pong', onPong);
    socket.once('error', onError);
    // Registered before graphql-ws sees the socket, so a message over the rate is never answered.
    socket.on('message', (data: RawData) => {
      if (!spend(socket, connection) || !connection.onMessage) return;
      connection.onMessage(String(data)).catch((err: unknown) => {
        logger.error({ err }, 'graphql-ws message handling failed');
        socket.close(CloseCode.InternalServerError, 'Internal server error');
      });
    });
    const closed = server.opened(
      {
        protocol: socket.protocol,
        send: (data) => {
          if (socket.readyState === socket.OPEN) socket.send(data);
        },
        close: (code, reason) => socket.close(code, reason),
        onMessage: (handle) => {
          connection.onMessage = handle;
        },
      },
      extraOf(socket, request),
    );
    socket.once('close', (code, reason) => {
      connections.delete(socket);
      slots[connection.slot]!.delete(socket);
      if (code === CloseCode.SubprotocolNotAcceptable && socket.protocol === DEPRECATED_GRAPHQL_WS_PROTOCOL) {
        logger.debug('a client asked for subscriptions-transport-ws, which this server does not speak');
      }
      closed(code, String(reason)).catch((err: unknown) => logger.error({ err }, 'graphql-ws close handling failed'));
    });
  });

  const heartbeat = setInterval(() => {
    for (const socket of slots[tick++ % HEARTBEAT_SLOTS]!) {
      const connection = connections.get(socket);
      if (!connection || socket.readyState !== socket.OPEN) continue;
      if (connection.awaitingPong) {
        socket.terminate();
        continue;
      }
      connection.awaitingPong = true;
      socket.ping();
    }
  }, HEARTBEAT_TICK_MS);
  heartbeat.unref();

  return { stop: () => clearInterval(heartbeat) };
}
