import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { extname, join, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The pages a person uses (src/web, built by Vite into dist/web), served from the service's own
 * origin and port. Only files that exist under the build directory are answered; every other path
 * (the GraphQL endpoint, 404s) goes on to the next handler.
 */

/** dist/web from src/http (tsx) and from dist/http (the compiled build) alike. */
export const DEFAULT_WEB_ROOT = fileURLToPath(new URL('../../dist/web/', import.meta.url));

/** Each page's path and its HTML in the build. */
export const PAGES: Readonly<Record<string, string>> = {
  '/': 'index.html',
  '/setup': 'setup/index.html',
  '/security-info': 'security-info/index.html',
  '/authenticator': 'authenticator/index.html',
};

/**
 * No inline script anywhere (Vite emits every script as a file); connections only to this origin
 * ('self' covers ws: and wss: to the same host); no framing (clickjacking the sign-in page);
 * blob: images for QR codes drawn in the page, blob: workers and the camera's media stream.
 */
export const PAGE_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data: blob:",
  "media-src 'self' blob:",
  "connect-src 'self'",
  "worker-src 'self'",
  "manifest-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

/** Headers every page and asset carries. */
export const SECURITY_HEADERS = {
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cross-origin-opener-policy': 'same-origin',
} as const;

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.webmanifest': 'application/manifest+json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.txt': 'text/plain; charset=utf-8',
  '.woff2': 'font/woff2',
  '.map': 'application/json',
};

/** Vite's content-hashed files never change under their name: a year, immutable. */
const HASHED_ASSET_CACHE = 'public, max-age=31536000, immutable';
/** HTML and unhashed files (the service worker, the manifest) are revalidated on each load. */
const REVALIDATE = 'no-cache';

/** The file under `root` a request path names, or null for a path that tries to leave it. */
function fileFor(root: string, pathname: string): string | null {
  const page = PAGES[pathname.length > 1 ? pathname.replace(/\/$/, '') : pathname];
  if (page) return join(root, page);
  let decoded: string;
  try {
    decoded = decodeURIComponent(pathname);
  } catch {
    return null;
  }
  if (decoded.includes('\0') || decoded.split('/').some((part) => part === '..' || part.startsWith('.'))) return null;
  const file = join(root, decoded);
  return file.startsWith(root.endsWith(sep) ? root : root + sep) ? file : null;
}

/**
 * Serves GET and HEAD of the built pages and assets; resolves false when the path is not one of
 * them (the caller goes on), true once answered.
 */
export function webPages(root: string = DEFAULT_WEB_ROOT) {
  return async (req: IncomingMessage, res: ServerResponse, pathname: string): Promise<boolean> => {
    if (req.method !== 'GET' && req.method !== 'HEAD') return false;
    const file = fileFor(root, pathname);
    if (!file) return false;
    const info = await stat(file).catch(() => null);
    if (!info?.isFile()) return false;
    const type = CONTENT_TYPES[extname(file)] ?? 'application/octet-stream';
    const headers: Record<string, string | number> = {
      ...SECURITY_HEADERS,
      'content-type': type,
      'content-length': info.size,
      'cache-control': pathname.startsWith('/assets/') ? HASHED_ASSET_CACHE : REVALIDATE,
      'last-modified': info.mtime.toUTCString(),
    };
    if (type.startsWith('text/html')) headers['content-security-policy'] = PAGE_CSP;
    res.writeHead(200, headers);
    if (req.method === 'HEAD') {
      res.end();
      return true;
    }
    createReadStream(file)
      .on('error', () => res.destroy())
      .pipe(res);
    return true;
  };
}
