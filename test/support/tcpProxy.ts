import { type AddressInfo, type Server, type Socket, connect, createServer } from 'node:net';

export interface TcpProxy {
  /** The loopback port the proxy listens on. */
  port: number;
  /** `url` with its host and port replaced by the proxy's. */
  via(url: string): string;
  /**
   * Ends every open connection, with a reset (`reset`, as when a host vanishes) or a close
   * (`close`, as when a firewall or the server ends it), and refuses (resets) new ones until restore().
   */
  cut(how?: 'reset' | 'close'): void;
  restore(): void;
  /** Delays each chunk by this many milliseconds, in both directions (0: none). */
  setLatency(ms: number): void;
  /** Connections accepted so far (refused ones included). */
  accepted(): number;
  close(): Promise<void>;
}

// A test opens a pool or two; far more means a leak, not a workload.
const MAX_CONNECTIONS = 200;

/**
 * A TCP proxy on a free loopback port in front of a loopback service (Postgres, Redis), so a test
 * can cut the link and restore it, or slow it down, while the server keeps running.
 */
export async function startTcpProxy(target: { host: string; port: number }): Promise<TcpProxy> {
  if (!['127.0.0.1', 'localhost', '::1'].includes(target.host)) throw new Error(`the proxy only forwards to loopback, not ${target.host}`);
  const open = new Set<Socket>();
  let isCut = false;
  let latencyMs = 0;
  let accepted = 0;

  // Keeps the order of chunks under latency: each is written once its delay has passed.
  const pipe = (from: Socket, to: Socket) => {
    from.on('data', (chunk) => {
      if (latencyMs === 0) return void to.write(chunk);
      from.pause();
      setTimeout(() => {
        if (!to.destroyed) to.write(chunk);
        from.resume();
      }, latencyMs);
    });
    from.on('end', () => to.end());
  };

  const server: Server = createServer((client) => {
    accepted += 1;
    if (isCut || open.size >= MAX_CONNECTIONS) return void client.resetAndDestroy();
    const upstream = connect(target.port, target.host);
    for (const socket of [client, upstream]) {
      open.add(socket);
      // Either side closing closes the other: the link is gone.
      socket.on('error', () => {});
      socket.on('close', () => {
        open.delete(socket);
        for (const other of [client, upstream]) if (!other.destroyed) other.destroy();
      });
    }
    pipe(client, upstream);
    pipe(upstream, client);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const port = (server.address() as AddressInfo).port;

  return {
    port,
    via(url) {
      const parsed = new URL(url);
      parsed.hostname = '127.0.0.1';
      parsed.port = String(port);
      return parsed.toString();
    },
    cut(how = 'reset') {
      isCut = true;
      for (const socket of open) (how === 'reset' ? socket.resetAndDestroy() : socket.destroy());
    },
    restore() {
      isCut = false;
    },
    setLatency(ms) {
      latencyMs = ms;
    },
    accepted: () => accepted,
    close() {
      isCut = true;
      for (const socket of open) socket.destroy();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

/** Host and port of a postgres:// or redis:// URL. */
export function targetOf(url: string): { host: string; port: number } {
  const parsed = new URL(url);
  const defaults: Record<string, number> = { 'postgres:': 5432, 'postgresql:': 5432, 'redis:': 6379 };
  return { host: parsed.hostname, port: Number(parsed.port || defaults[parsed.protocol]) };
}
