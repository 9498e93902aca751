import { createRequire } from 'node:module';
import type { ServerResponse } from 'node:http';
import type { GraphiQLOptions, Plugin } from 'graphql-yoga';
import { SECURITY_HEADERS } from './webPages.js';
import { GRAPHIQL_TABS } from './graphiqlTabs.js';

/**
 * GraphiQL at /graphql in a browser, with every asset served by the service itself (no CDN: it
 * works on a machine without internet). The bundle is @graphql-yoga/render-graphiql's, served as
 * files rather than inlined, so the page keeps a Content-Security-Policy without inline scripts.
 */

const require = createRequire(import.meta.url);
const packageJson = require('@graphql-yoga/render-graphiql/package.json') as { version: string };
/** Versioned path: each release of the bundle has its own URLs, so they are cached for a year. */
export const GRAPHIQL_ASSETS = `/graphiql/${packageJson.version}/`;

type Bundle = typeof import('@graphql-yoga/render-graphiql/graphiql');

/** 9 MB of strings: read on the first GraphiQL request, not at start-up. */
let bundle: Bundle | undefined;
const loadBundle = (): Bundle => (bundle ??= require('@graphql-yoga/render-graphiql/graphiql') as Bundle);

/** Starts GraphiQL with the options in the page's JSON block; Monaco's workers come from this origin. */
const START = `
const base = document.currentScript.dataset.assets;
const workers = { editorWorkerService: 'editor.worker.js', json: 'json.worker.js', graphql: 'graphql.worker.js' };
self.MonacoEnvironment = { globalAPI: false, getWorkerUrl: (_id, label) => base + workers[label] };
YogaGraphiQL.renderYogaGraphiQL(document.getElementById('root'), JSON.parse(document.getElementById('graphiql-options').textContent));
`;

const ASSETS: Record<string, { type: string; body: () => string }> = {
  'graphiql.js': { type: 'text/javascript; charset=utf-8', body: () => loadBundle().js },
  'graphiql.css': { type: 'text/css; charset=utf-8', body: () => loadBundle().css },
  'editor.worker.js': { type: 'text/javascript; charset=utf-8', body: () => loadBundle().editorWorkerService },
  'json.worker.js': { type: 'text/javascript; charset=utf-8', body: () => loadBundle().jsonWorker },
  'graphql.worker.js': { type: 'text/javascript; charset=utf-8', body: () => loadBundle().graphqlWorker },
  'start.js': { type: 'text/javascript; charset=utf-8', body: () => START },
};

/**
 * Scripts only from this origin; Monaco (GraphiQL's editor) sets element styles and injects
 * style elements at run time, hence inline styles (never inline scripts).
 */
export const GRAPHIQL_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "font-src 'self' data:",
  "connect-src 'self'",
  "worker-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

/** Answers a GET of one of GraphiQL's assets; false when the path is not one. */
export function serveGraphiQLAsset(pathname: string, res: ServerResponse): boolean {
  if (!pathname.startsWith(GRAPHIQL_ASSETS)) return false;
  const asset = ASSETS[pathname.slice(GRAPHIQL_ASSETS.length)];
  if (!asset) return false;
  const body = asset.body();
  res
    .writeHead(200, { ...SECURITY_HEADERS, 'content-type': asset.type, 'content-length': Buffer.byteLength(body), 'cache-control': 'public, max-age=31536000, immutable' })
    .end(body);
  return true;
}

/** JSON that cannot end its <script> element early. */
const scriptJson = (value: unknown) => JSON.stringify(value).replace(/</g, '\\u003c');

/** GraphiQL's page: its options as data, its scripts as files. */
export function renderGraphiQL(options: GraphiQLOptions): string {
  return `<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8" />
    <title>${options.title ?? 'GraphiQL'}</title>
    <link rel="icon" href="/favicon.svg" type="image/svg+xml" />
    <link rel="stylesheet" href="${GRAPHIQL_ASSETS}graphiql.css" />
    <script type="application/json" id="graphiql-options">${scriptJson(options)}</script>
    <script src="${GRAPHIQL_ASSETS}graphiql.js" defer></script>
    <script src="${GRAPHIQL_ASSETS}start.js" data-assets="${GRAPHIQL_ASSETS}" defer></script>
  </head>
  <body>
    <noscript>GraphiQL needs JavaScript. The API itself is POST /graphql.</noscript>
    <div id="root"></div>
  </body>
</html>`;
}

const [firstTab] = GRAPHIQL_TABS;

/**
 * GraphiQL's options: WebSocket subscriptions, and the tour's operations as its first tabs.
 * GraphiQL fills the editors of the tab it opens on from initialHeaders and initialVariables, not
 * from that tab's definition, so the first tab's are given again.
 */
export const GRAPHIQL_OPTIONS: GraphiQLOptions & { initialHeaders?: string; initialVariables?: string } = {
  title: 'Phone sign-in · GraphiQL',
  subscriptionsProtocol: 'WS',
  defaultTabs: GRAPHIQL_TABS,
  initialHeaders: firstTab!.headers ?? '',
  initialVariables: firstTab!.variables ?? '',
  // The Headers editor open beside each query: every tab says which Authorization it needs.
  defaultEditorToolsVisibility: 'headers',
};

/** The page's own security headers on GraphiQL's HTML (yoga writes the response). */
export function graphiqlHeaders(): Plugin {
  return {
    onResponse({ response }) {
      if (!response.headers.get('content-type')?.startsWith('text/html')) return;
      response.headers.set('content-security-policy', GRAPHIQL_CSP);
      for (const [name, value] of Object.entries(SECURITY_HEADERS)) response.headers.set(name, value);
    },
  };
}
