import type { IncomingMessage } from 'node:http';
import { CloseCode, handleProtocols, type makeServer } from 'graphql-ws';
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
/**
 * graphql-ws's connection_init wait (its default, 3 s), kept here instead of by graphql-ws, which
 * holds a timer for each socket's whole life: the node's tick closes a socket still without
 * connection_init at its first turn after the wait (within one tick of it).
 */
export const CONNECTION_INIT_WAIT_MS = 3000;

/**
 * One open socket, as graphql-ws's server sees it, and all that this layer keeps for it. A class,
 * so its methods are shared rather than closures made for every socket.
 */
class Connection {
  readonly slot: number;
  awaitingPong = false;
  /** The message bucket: tokens left, refilled at MESSAGES_PER_SECOND up to MESSAGE_BURST. */
  tokens = MESSAGE_BURST;
  refilledAt = performance.now();
  handle?: (data: string) => Promise<void>;
  closed?: (code: number, reason: string) => Promise<void>;

  constructor(
    readonly socket: WebSocket,
    slot: number,
  ) {
    this.slot = slot;
  }

  get protocol() {
    return this.socket.protocol;
  }

  send(data: string) {
    if (this.socket.readyState === this.socket.OPEN) this.socket.send(data);
  }

  close(code: number, reason: string) {
    this.socket.close(code, reason);
  }

  onMessage(handle: (data: string) => Promise<void>) {
    this.handle = handle;
  }

  /** Spends one message of the allowance; a socket over it is closed and the message dropped. */
  spend(): boolean {
    const now = performance.now();
    this.tokens = Math.min(MESSAGE_BURST, this.tokens + ((now - this.refilledAt) / 1000) * MESSAGES_PER_SECOND);
    this.refilledAt = now;
    if (this.tokens >= 1) {
      this.tokens -= 1;
      return true;
    }
    if (this.socket.readyState === this.socket.OPEN) this.socket.close(CloseCode.TooManyInitialisationRequests, `Too many messages: at most ${MESSAGES_PER_SECOND} a second.`);
    return false;
  }
}

type GraphQLWsServer<E> = ReturnType<typeof makeServer<Record<string, unknown> | undefined, E>>;

/**
 * graphql-ws's protocol (its `makeServer`) on `ws` sockets, in place of graphql-ws's `useServer`,
 * which keeps for every socket an interval and a timeout for keep-alive pings, a pong listener per
 * ping, the upgrade request for the socket's life and an async frame per message. Here a socket is
 * one small record, listeners are shared by all sockets, and one node-wide timer pings a thirtieth
 * of the sockets each second (and closes those that sent no connection_init in time, in place of
 * graphql-ws's timer per socket). Returns the function that stops the heartbeat.
 */
export function serveGraphQLWsProtocol<E extends { socket: WebSocket; initReceived?: boolean }>(
  wsServer: WebSocketServer,
  server: GraphQLWsServer<E>,
  extraOf: (socket: WebSocket, request: IncomingMessage) => E,
  logger: Logger,
  heartbeatTickMs = HEARTBEAT_TICK_MS,
): { stop(): void } {
  const connections = new Map<WebSocket, Connection>();
  /** Sockets that have not sent connection_init yet (graphql-ws's onConnect sets `initReceived`), with their deadline. */
  const awaitingInit = new Map<WebSocket, { extra: E; deadline: number }>();
  const slots = Array.from({ length: HEARTBEAT_SLOTS }, () => new Set<WebSocket>());
  let opened = 0;
  let tick = 0;
  wsServer.options.handleProtocols = handleProtocols;

  // Listeners shared by every socket (`this` is the socket): a socket costs no closure for them.
  function onMessage(this: WebSocket, data: RawData) {
    const connection = connections.get(this);
    if (!connection?.spend() || !connection.handle) return;
    connection.handle(String(data)).catch((err: unknown) => {
      logger.error({ err }, 'graphql-ws message handling failed');
      this.close(CloseCode.InternalServerError, 'Internal server error');
    });
  }
  function onPing(this: WebSocket) {
    connections.get(this)?.spend();
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
  function onClose(this: WebSocket, code: number, reason: Buffer) {
    const connection = connections.get(this);
    if (!connection) return;
    connections.delete(this);
    slots[connection.slot]!.delete(this);
    awaitingInit.delete(this);
    connection.closed?.(code, String(reason)).catch((err: unknown) => logger.error({ err }, 'graphql-ws close handling failed'));
  }

  wsServer.on('connection', (socket, request) => {
    const connection = new Connection(socket, opened++ % HEARTBEAT_SLOTS);
    connections.set(socket, connection);
    slots[connection.slot]!.add(socket);
    // Registered before graphql-ws sees the socket, so a message over the rate is never answered.
    socket.on('message', onMessage);
    socket.on('ping', onPing);
    socket.on('pong', onPong);
    // `on`, not `once`: each fires once anyway, and `once` wraps the listener anew for every socket.
    socket.on('error', onError);
    socket.on('close', onClose);
    const extra = extraOf(socket, request);
    awaitingInit.set(socket, { extra, deadline: performance.now() + CONNECTION_INIT_WAIT_MS });
    connection.closed = server.opened(connection, extra);
  });

  const heartbeat = setInterval(() => {
    const now = performance.now();
    for (const [socket, { extra, deadline }] of awaitingInit) {
      if (extra.initReceived) awaitingInit.delete(socket);
      else if (now >= deadline) {
        awaitingInit.delete(socket);
        socket.close(CloseCode.ConnectionInitialisationTimeout, 'Connection initialisation timeout');
      }
    }
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
  }, heartbeatTickMs);
  heartbeat.unref();

  return { stop: () => clearInterval(heartbeat) };
}
