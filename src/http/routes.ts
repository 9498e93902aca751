import type { IncomingMessage, ServerResponse } from 'node:http';
import type { DatabaseHandle } from '../db/client.js';
import type { TokenService } from '../services/tokens.js';
import { metricsRoute } from './metrics.js';
import { GRAPHQL_PATH, type GraphQLYoga } from './yoga.js';

// Request bodies are GraphQL documents and small variables; nothing legitimate comes near 1 MiB.
const MAX_BODY_BYTES = 1024 * 1024;

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

/** Answered while the database opens and migrates: the port is open, the service is not ready. */
export const starting: RequestHandler = (_req, res) => {
  res.writeHead(503, { 'content-type': 'application/json' }).end(JSON.stringify({ status: 'starting' }));
};

/**
 * The HTTP side of the service: health, readiness, the token signing keys and the discovery
 * document on GET; everything else (the GraphQL endpoint, GraphiQL, 404s) is yoga's, once the body
 * limit has passed.
 */
export function httpRoutes(o: { db: DatabaseHandle; tokens: TokenService; issuer: string; yoga: GraphQLYoga } & Parameters<typeof metricsRoute>[0]): RequestHandler {
  const { db, tokens, issuer, yoga } = o;
  const routes: Record<string, (res: ServerResponse, req: IncomingMessage) => void | Promise<void>> = {
    '/metrics': metricsRoute(o),
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
  return (req, res) => {
    if (Number(req.headers['content-length'] ?? 0) > MAX_BODY_BYTES) return tooLarge(res);
    const route = req.method === 'GET' ? routes[new URL(req.url ?? '/', 'http://x').pathname] : undefined;
    if (route) return void route(res, req);
    if (req.method === 'GET' || req.method === 'HEAD') return void yoga(req, res);
    readBody(req).then(
      (body) => {
        if (body === null) return tooLarge(res);
        // Yoga (whatwg-node) takes a body already read from `req.body`, as under Express.
        Object.assign(req, { body });
        return yoga(req, res);
      },
      () => res.destroy(),
    );
  };
}
