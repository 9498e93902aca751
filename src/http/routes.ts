import type { IncomingMessage, ServerResponse } from 'node:http';
import type { DatabaseHandle } from '../db/client.js';
import { whileCallerWaits } from '../services/caller.js';
import type { TokenService } from '../services/tokens.js';
import { metricsRoute } from './metrics.js';
import { serveGraphiQLAsset } from './graphiql.js';
import { webPages } from './webPages.js';
import { GRAPHQL_PATH, type GraphQLYoga } from './yoga.js';

// Request bodies are GraphQL documents and small variables; nothing legitimate comes near 1 MiB.
const MAX_BODY_BYTES = 1024 * 1024;

// /ready answers within this even when the database neither answers nor refuses.
const READY_TIMEOUT_MS = 2000;

export type RequestHandler = (req: IncomingMessage, res: ServerResponse) => void;

const json = (res: ServerResponse, status: number, body: unknown) => {
  res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' }).end(JSON.stringify(body));
};

/** 413, closing the connection: that is what stops the client sending the rest, unread. */
const tooLarge = (res: ServerResponse) => {
  res.setHeader('connection', 'close');
  json(res, 413, { errors: [{ message: 'The request body is larger than 1 MiB.', extensions: { code: 'PAYLOAD_TOO_LARGE' } }] });
};

/**
 * The request body, counted as it streams: null as soon as it passes MAX_BODY_BYTES, and the rest
 * is left unread. Content-Length may be absent (chunked) or false, so only the bytes count.
 */
function readBody(req: IncomingMessage): Promise<Buffer | null> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let received = 0;
    const finish = (body: Buffer | null) => {
      req.off('data', onData).off('end', onEnd).off('error', reject);
      resolve(body);
    };
    const onData = (chunk: Buffer) => {
      received += chunk.length;
      if (received <= MAX_BODY_BYTES) return void chunks.push(chunk);
      req.pause();
      finish(null);
    };
    const onEnd = () => finish(Buffer.concat(chunks));
    req.on('data', onData).on('end', onEnd).on('error', reject);
  });
}

/** Whether the database answers a trivial statement within READY_TIMEOUT_MS. */
async function databaseUp(db: DatabaseHandle): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((resolve) => (timer = setTimeout(resolve, READY_TIMEOUT_MS, false)));
  try {
    return await Promise.race([db.ping().then(() => true, () => false), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Yoga for one request, run so that use cases can tell whether the caller is still there: the
 * signal aborts when the connection closes before the response has been sent.
 */
function serveGraphQL(yoga: GraphQLYoga, req: IncomingMessage, res: ServerResponse) {
  const caller = new AbortController();
  res.once('close', () => res.writableFinished || caller.abort());
  return whileCallerWaits(caller.signal, () => yoga(req, res));
}

/** Answered while the database opens and migrates: the port is open, the service is not ready. */
export const starting: RequestHandler = (_req, res) => {
  res.writeHead(503, { 'content-type': 'application/json' }).end(JSON.stringify({ status: 'starting' }));
};

/**
 * The HTTP side of the service: health, readiness and the token signing keys on GET; OpenID
 * Connect (discovery, its endpoints, the login interaction) through `oidc`; then the built web
 * pages (src/http/webPages.ts); everything else (the GraphQL endpoint, GraphiQL, 404s) is yoga's,
 * once the body limit has passed.
 */
export function httpRoutes(
  o: {
    db: DatabaseHandle;
    tokens: TokenService;
    yoga: GraphQLYoga;
    eventsConnected: () => boolean;
    /** The OpenID Connect provider and its login interaction (discovery included); false for other paths. */
    oidc: (req: IncomingMessage, res: ServerResponse) => boolean;
    webRoot?: string;
  } & Parameters<typeof metricsRoute>[0],
): RequestHandler {
  const { db, tokens, yoga } = o;
  const pages = webPages(o.webRoot);
  const routes: Record<string, (res: ServerResponse, req: IncomingMessage) => void | Promise<void>> = {
    '/metrics': metricsRoute(o),
    '/health': (res) => json(res, 200, { status: 'ok' }),
    // Each dependency, up or down. Without the database nothing works (503: take this node out of
    // the balancer); without the event transport requests still work and only live delivery
    // waits, so the node stays in (200, degraded).
    '/ready': async (res) => {
      const database = (await databaseUp(db)) ? 'up' : 'down';
      const events = o.eventsConnected() ? 'up' : 'down';
      const degraded = [database === 'down' && 'database', events === 'down' && 'events'].filter(Boolean);
      const status = database === 'down' ? 'unavailable' : degraded.length > 0 ? 'degraded' : 'ready';
      json(res, database === 'down' ? 503 : 200, { status, database, events, degraded });
    },
    '/.well-known/jwks.json': (res) => json(res, 200, tokens.jwks()),
  };
  return (req, res) => {
    if (Number(req.headers['content-length'] ?? 0) > MAX_BODY_BYTES) return tooLarge(res);
    if (o.oidc(req, res)) return;
    const { pathname } = new URL(req.url ?? '/', 'http://x');
    const route = req.method === 'GET' ? routes[pathname] : undefined;
    if (route) return void route(res, req);
    if (req.method === 'GET' || req.method === 'HEAD') {
      if (pathname === GRAPHQL_PATH) return void serveGraphQL(yoga, req, res);
      if (req.method === 'GET' && serveGraphiQLAsset(pathname, res)) return;
      return void pages(req, res, pathname).then(
        (served) => (served ? undefined : serveGraphQL(yoga, req, res)),
        () => res.destroy(),
      );
    }
    readBody(req).then(
      (body) => {
        if (body === null) return tooLarge(res);
        // Yoga (whatwg-node) takes a body already read from `req.body`, as under Express.
        Object.assign(req, { body });
        return serveGraphQL(yoga, req, res);
      },
      () => res.destroy(),
    );
  };
}
