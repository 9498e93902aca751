import type { IncomingMessage, ServerResponse } from 'node:http';
import type { App } from '../../services/app.js';
import { interactionRoutes } from './interactions.js';
import { OIDC_PATHS, createOidcProvider } from './provider.js';

/**
 * The OpenID Connect side of the HTTP routes: the provider's endpoints and discovery, and the
 * login interaction. Returns false for every other path, which the service's own routes answer.
 */
export function oidcRoutes(app: App): (req: IncomingMessage, res: ServerResponse) => boolean {
  const provider = createOidcProvider(app);
  const providerCallback = provider.callback();
  const interactions = interactionRoutes(app, provider);
  const ownedByProvider = (path: string) => OIDC_PATHS.some((prefix) => (prefix.endsWith('/') ? path.startsWith(prefix) : path === prefix || path.startsWith(`${prefix}/`)));
  return (req, res) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    if (ownedByProvider(path)) {
      void providerCallback(req, res);
      return true;
    }
    const answered = interactions(req, res);
    if (answered === false) return false;
    answered.catch((error: unknown) => {
      app.logger.error({ err: error }, 'login interaction failed');
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/json' }).end(JSON.stringify({ code: 'INTERNAL', message: 'Something went wrong on our side; try again.' }));
    });
    return true;
  };
}
