import type { IncomingMessage, ServerResponse } from 'node:http';
import { constantTimeEqual } from '../domain/secrets.js';
import type { Metrics } from '../metrics.js';

/**
 * GET /metrics in Prometheus' text format. Open when no METRICS_TOKEN is set (for a scraper on a
 * private network, as is usual); otherwise only for `Authorization: Bearer <METRICS_TOKEN>`.
 */
export function metricsRoute(o: { metrics: Metrics; metricsToken: string | undefined }) {
  return async (res: ServerResponse, req: IncomingMessage) => {
    const token = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
    if (o.metricsToken !== undefined && (token === undefined || !constantTimeEqual(token, o.metricsToken))) {
      res.writeHead(401, { 'content-type': 'text/plain', 'www-authenticate': 'Bearer realm="metrics"' }).end('Send Authorization: Bearer <METRICS_TOKEN>.\n');
      return;
    }
    const body = await o.metrics.registry.metrics();
    res.writeHead(200, { 'content-type': o.metrics.registry.contentType, 'cache-control': 'no-store' }).end(body);
  };
}
