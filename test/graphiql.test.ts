import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GRAPHIQL_ASSETS, GRAPHIQL_CSP } from '../src/http/graphiql.js';
import { BROWSER_TEST_TIMEOUT_MS, PAGE_POLL, type TestBrowser, ensureWebBuilt, hasChromium, launchBrowser } from './support/browser.js';
import { serverPerFile } from './signInFlow.js';

// GraphiQL in a browser, with every asset from the service: it must work with the network cut
// off from everything but the service (no CDN).
const t = serverPerFile();

describe('GraphiQL over HTTP', () => {
  it('is a page without inline scripts whose assets are served, versioned and cached, by the service', async () => {
    const page = await fetch(`${t.url}/graphql`, { headers: { accept: 'text/html' } });
    expect(page.status).toBe(200);
    expect(page.headers.get('content-security-policy')).toBe(GRAPHIQL_CSP);
    expect(GRAPHIQL_CSP).toMatch(/script-src 'self';/);
    const html = await page.text();
    expect(html).not.toMatch(/<script(?![^>]*\b(src=|type="application\/json"))[^>]*>/);
    expect(html).not.toMatch(/https?:\/\//);
    for (const asset of ['graphiql.js', 'graphiql.css', 'start.js', 'editor.worker.js', 'json.worker.js', 'graphql.worker.js']) {
      const response = await fetch(`${t.url}${GRAPHIQL_ASSETS}${asset}`);
      expect(response.status, asset).toBe(200);
      expect(response.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
      expect(response.headers.get('content-type')).toMatch(asset.endsWith('.css') ? /^text\/css/ : /^text\/javascript/);
    }
    expect((await fetch(`${t.url}${GRAPHIQL_ASSETS}nothing.js`)).status).toBe(404);
  });
});

describe.skipIf(!hasChromium)('GraphiQL in Chromium', { timeout: BROWSER_TEST_TIMEOUT_MS }, () => {
  let browser: TestBrowser;
  beforeAll(async () => {
    [browser] = await Promise.all([launchBrowser(), ensureWebBuilt()]);
  }, 120_000);
  afterAll(() => browser?.close());

  it('renders the tour tabs and runs a query with every request outside the service blocked', async () => {
    const { page, problems, blocked, screenshot } = await browser.page(t.url);
    await page.goto(`${t.url}/graphql`);
    await page.getByRole('button', { name: /execute query/i }).waitFor({ timeout: 60_000 });
    // The tour's first tab, with the Headers editor it names.
    await expect.poll(() => page.locator('.graphiql-query-editor').textContent(), { timeout: 30_000 }).toContain('createTenant');
    await screenshot('graphiql');
    await expect.poll(() => page.locator('.graphiql-editor-tools').textContent(), PAGE_POLL).toContain('Headers');
    await expect.poll(() => page.locator('.graphiql-editor-tool').textContent(), PAGE_POLL).toMatch(/Bearer\s<OPERATOR_TOKEN>/);
    // A new tab, a query typed by keyboard, run.
    await page.getByRole('button', { name: /new tab/i }).click();
    await page.locator('.graphiql-query-editor .monaco-editor').first().click();
    await page.keyboard.press('Control+A');
    await page.keyboard.press('Delete');
    await page.keyboard.type('{ setupRequired');
    // The editor's suggestions, open after typing on a slow machine, lie over the button: closed as a person would.
    await page.keyboard.press('Escape');
    await page.locator('.suggest-widget.visible').waitFor({ state: 'hidden', timeout: 10_000 });
    await page.getByRole('button', { name: /execute query/i }).click();
    await expect.poll(() => page.locator('.graphiql-response').textContent(), { timeout: 30_000 }).toMatch(/"setupRequired":\s*true/);
    await screenshot('graphiql-query');
    expect(blocked).toEqual([]);
    expect(problems.filter((p) => /Content Security Policy|Refused/i.test(p))).toEqual([]);
  }, 180_000);
});
