import type { IncomingMessage, ServerResponse } from 'node:http';
import type { RequestHandler } from './routes.js';

/**
 * The HTTP side of a stopping node. Once draining, /ready answers 503 (so a proxy or orchestrator
 * stops sending) and the node can wait for the requests still being answered. Node's server, once
 * closed, ends each keep-alive connection after its last answer, so clients reconnect elsewhere;
 * a `connection: close` here would drop requests already pipelined behind the answer.
 */
export class HttpDrain {
  private draining = false;
  private inFlight = 0;
  private onIdle: (() => void) | undefined;

  /** Counts the requests `handler` answers; event streams (SSE subscriptions) never end by themselves, so they are not waited for. */
  wrap(handler: RequestHandler): RequestHandler {
    return (req, res) => {
      if (this.draining && req.method === 'GET' && pathOf(req) === '/ready') return notReady(res);
      if (!isEventStream(req)) {
        this.inFlight += 1;
        res.once('close', () => {
          this.inFlight -= 1;
          if (this.inFlight === 0) this.onIdle?.();
        });
      }
      handler(req, res);
    };
  }

  start() {
    this.draining = true;
  }

  /** Resolves when no counted request is in flight, or after `ms`; true when they all finished. */
  waitForRequests(ms: number): Promise<boolean> {
    if (this.inFlight === 0) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => finish(false), ms);
      const finish = (done: boolean) => {
        clearTimeout(timer);
        this.onIdle = undefined;
        resolve(done);
      };
      this.onIdle = () => finish(true);
    });
  }
}

const pathOf = (req: IncomingMessage) => new URL(req.url ?? '/', 'http://x').pathname;
const isEventStream = (req: IncomingMessage) => (req.headers.accept ?? '').includes('text/event-stream');

const notReady = (res: ServerResponse) => {
  res.writeHead(503, { 'content-type': 'application/json', 'cache-control': 'no-store' }).end(JSON.stringify({ status: 'shutting down' }));
};
