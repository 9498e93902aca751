import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PAGE_CSP } from '../src/http/webPages.js';
import { BROWSER_TEST_TIMEOUT_MS, type TestBrowser, ensureWebBuilt, hasChromium, launchBrowser } from './support/browser.js';
import { serverPerFile } from './signInFlow.js';

// The pages are served by the service itself, on its own origin and port, beside the API.
const t = serverPerFile();
beforeAll(() => ensureWebBuilt(), 120_000);

const PAGES = ['/', '/setup', '/security-info', '/authenticator'];

describe('the web pages over HTTP', () => {
  it('serves each page as HTML with a Content-Security-Policy that allows no inline script', async () => {
    for (const path of PAGES) {
      const response = await fetch(`${t.url}${path}`);
      expect(response.status, path).toBe(200);
      expect(response.headers.get('content-type')).toBe('text/html; charset=utf-8');
      expect(response.headers.get('cache-control')).toBe('no-cache');
      const csp = response.headers.get('content-security-policy')!;
      expect(csp).toBe(PAGE_CSP);
      expect(csp).toMatch(/script-src 'self'(;|$)/);
      expect(csp).not.toContain('unsafe-inline');
      expect(csp).toContain("frame-ancestors 'none'");
      expect(response.headers.get('x-content-type-options')).toBe('nosniff');
      // Every script the HTML loads is a file; no inline script would run under the policy.
      expect(await response.text()).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);
    }
    expect((await fetch(`${t.url}/setup/`)).status).toBe(200);
  });

  it('caches hashed assets for a year and gives each its content type', async () => {
    const html = await (await fetch(`${t.url}/`)).text();
    const assets = [...html.matchAll(/(?:href|src)="(\/assets\/[^"]+)"/g)].map((m) => m[1]!);
    expect(assets.some((a) => a.endsWith('.css'))).toBe(true);
    expect(assets.some((a) => a.endsWith('.js'))).toBe(true);
    for (const asset of assets) {
      const response = await fetch(`${t.url}${asset}`);
      expect(response.status, asset).toBe(200);
      expect(response.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
      expect(response.headers.get('content-type')).toBe(asset.endsWith('.css') ? 'text/css; charset=utf-8' : 'text/javascript; charset=utf-8');
    }
    const head = await fetch(`${t.url}${assets[0]}`, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(await head.text()).toBe('');
  });

  // Attack: path traversal out of the build directory to read the service's files.
  it('answers only files inside the build, and leaves the API routes alone', async () => {
    for (const path of ['/../package.json', '/%2e%2e/package.json', '/assets/%2e%2e%2f%2e%2e%2fpackage.json', '/.vite/manifest.json', '/%00', '/nothing-here']) {
      const response = await fetch(`${t.url}${path}`);
      expect(response.status, path).toBe(404);
    }
    expect((await fetch(`${t.url}/health`)).headers.get('content-type')).toBe('application/json');
    expect((await fetch(`${t.url}/.well-known/jwks.json`)).status).toBe(200);
    expect((await fetch(`${t.url}/ready`)).status).toBe(200);
    expect((await t.gql('{ __typename }')).data).toEqual({ __typename: 'Query' });
    // A POST to a page's path is not a GraphQL request either.
    expect((await fetch(`${t.url}/setup`, { method: 'POST', body: '{}' })).status).toBe(404);
  });
});

describe.skipIf(!hasChromium)('the web pages in Chromium', { timeout: BROWSER_TEST_TIMEOUT_MS }, () => {
  let browser: TestBrowser;
  beforeAll(async () => {
    browser = await launchBrowser();
  }, 60_000);
  afterAll(() => browser?.close());

  it('loads every page with no error, no CSP violation and no request outside the service', async () => {
    for (const path of PAGES) {
      const { page, problems, blocked, context, screenshot } = await browser.page(t.url);
      await page.goto(`${t.url}${path}`);
      await page.getByRole('heading').first().waitFor();
      await screenshot(`page-${path === '/' ? 'sign-in' : path.slice(1)}`);
      expect(problems, path).toEqual([]);
      expect(blocked, path).toEqual([]);
      await context.close();
    }
  });
});
