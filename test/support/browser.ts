import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { type Browser, type BrowserContext, type Page, chromium } from 'playwright-core';

/**
 * Browser tests drive Debian's Chromium (`apt-get install -y chromium`; `.ci/run` installs it)
 * through playwright-core: no browser is downloaded. Without the binary the browser tests are
 * skipped, and say so.
 */
export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const hasChromium = existsSync(CHROMIUM);

/** A browser test's own limit: page loads are slow on a loaded CI machine, and nothing waits on speed. */
export const BROWSER_TEST_TIMEOUT_MS = 120_000;
/** How long an expect.poll on a page waits for what must come. */
export const PAGE_POLL = { timeout: 20_000 } as const;

const root = resolve(import.meta.dirname, '../..');
/** Where browser tests write their screenshots (git-ignored; the README's pictures are copied from here). */
export const SCREENSHOTS = join(root, 'test/screenshots');

const ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** The newest modification time under a directory. */
function newest(dir: string): number {
  let latest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    latest = Math.max(latest, entry.isDirectory() ? newest(path) : statSync(path).mtimeMs);
  }
  return latest;
}

let built: Promise<void> | undefined;

/**
 * Builds the pages (src/web → dist/web) when the build is missing or older than a source file,
 * so a browser test never runs yesterday's page.
 */
export function ensureWebBuilt(): Promise<void> {
  const output = join(root, 'dist/web/index.html');
  const stale = !existsSync(output) || newest(join(root, 'src/web')) > statSync(output).mtimeMs;
  built ??= stale ? promisify(execFile)(process.execPath, [join(root, 'scripts/buildWeb.mjs')]).then(() => undefined) : Promise.resolve();
  return built;
}

export interface TestBrowser {
  browser: Browser;
  /** A fresh context (its own storage) with one page, on the service at `origin`. */
  page(origin: string, o?: { offline?: boolean }): Promise<TestPage>;
  close(): Promise<void>;
}

export interface TestPage {
  page: Page;
  context: BrowserContext;
  /** Console errors, uncaught exceptions and CSP violations seen so far. */
  problems: string[];
  /** Requests to anywhere but the service, each aborted. */
  blocked: string[];
  screenshot(name: string): Promise<void>;
}

/**
 * Chromium with a throwaway profile (and `args`, e.g. a fake camera). Every page it opens may reach only the service's origin:
 * any other request is aborted and recorded (no CDN, no telemetry can slip in unnoticed).
 */
export async function launchBrowser(o: { args?: string[] } = {}): Promise<TestBrowser> {
  // A plain launch: Playwright gives Chromium a fresh temporary profile and removes it on close.
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: [...ARGS, ...(o.args ?? [])], headless: true });
  mkdirSync(SCREENSHOTS, { recursive: true });
  const contexts: BrowserContext[] = [];
  return {
    browser,
    async page(origin) {
      const context = await browser.newContext({ viewport: { width: 1000, height: 760 } });
      contexts.push(context);
      const problems: string[] = [];
      const blocked: string[] = [];
      await context.route('**/*', (route) => {
        const url = route.request().url();
        if (new URL(url).origin === origin || url.startsWith('data:') || url.startsWith('blob:')) return route.continue();
        blocked.push(url);
        return route.abort('blockedbyclient');
      });
      const page = await context.newPage();
      page.on('console', (message) => {
        if (message.type() === 'error') problems.push(`console: ${message.text()}`);
      });
      page.on('pageerror', (error) => problems.push(`exception: ${error.message}`));
      return {
        page,
        context,
        problems,
        blocked,
        screenshot: async (name) => void (await page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage: true })),
      };
    },
    async close() {
      await Promise.all(contexts.map((c) => c.close().catch(() => {})));
      await browser.close();
    },
  };
}
