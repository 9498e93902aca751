import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { type Browser, type Page, type Route, chromium } from 'playwright-core';
import ts from 'typescript';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addUser, allowPhoneSignIn, beginRegistration } from './authenticatorClient.js';
import { createTenant } from './harness.js';
import { amrOf, complete, serverPerFile, started } from './signInFlow.js';

// The SDK in a real browser (Debian's Chromium), loaded from the service's own origin: WebCrypto
// keys made non-extractable and kept in IndexedDB across a reload, the browser's own WebSocket, and
// a real sign-in approved from the page. No Node built-in can be reached from there.

const root = resolve(import.meta.dirname, '..');
const t = serverPerFile();
const BASE = '/__sdk-under-test/';
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];
/** Only these packages are served from node_modules: the SDK's whole dependency list. */
const PACKAGES = { jose: 'node_modules/jose/dist/webapi/index.js', 'graphql-ws': 'node_modules/graphql-ws/dist/client.js' };

const PAGE = `<!doctype html><meta charset="utf-8"><title>SDK</title>
<script type="importmap">${JSON.stringify({ imports: Object.fromEntries(Object.entries(PACKAGES).map(([name, path]) => [name, BASE + path])) })}</script>
<script type="module">import * as sdk from '${BASE}src/sdk/index.js'; window.sdk = sdk;</script>`;

/** Serves the SDK's TypeScript files compiled to JavaScript one by one, and its two packages. */
async function serve(route: Route) {
  const path = new URL(route.request().url()).pathname.slice(BASE.length);
  if (/^src\/sdk\/\w+\.js$/.test(path)) {
    const source = readFileSync(join(root, path.replace(/\.js$/, '.ts')), 'utf8');
    const { outputText } = ts.transpileModule(source, { compilerOptions: { target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.ESNext } });
    return route.fulfill({ contentType: 'text/javascript', body: outputText });
  }
  if (/^node_modules\/(jose|graphql-ws)\/dist\/[\w/.-]+\.js$/.test(path) && !path.includes('..')) {
    return route.fulfill({ contentType: 'text/javascript', body: readFileSync(join(root, path), 'utf8') });
  }
  return route.fulfill({ status: 404, body: `not served: ${path}` });
}

/** The issuer's origin, where the service's own pages (and so the web authenticator) are served. */
const origin = () => new URL(t.server.issuer).origin;

/**
 * A document the service itself served (so Chromium places it on the loopback address, as the web
 * authenticator will be), then the SDK loaded into it.
 */
async function openSdkPage(page: Page) {
  await page.goto(`${origin()}/health`);
  await page.setContent(PAGE);
  await page.waitForFunction(() => 'sdk' in window);
}

describe('the authenticator SDK in a browser', () => {
  let browser: Browser;
  let clockSync: ReturnType<typeof setInterval>;
  beforeAll(async () => {
    // The page signs with the real clock; the test server's clock is moved by hand, so keep it level.
    clockSync = setInterval(() => t.clock.advance((Date.now() - t.clock.now().getTime()) / 1000), 500);
    browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_ARGS });
  }, 120_000);
  afterAll(async () => {
    clearInterval(clockSync);
    await browser?.close();
  });

  it('activates with non-extractable keys kept in IndexedDB, and after a reload approves a sign-in live', async () => {
    const tenant = await createTenant(t);
    await allowPhoneSignIn(t, tenant.tenantId);
    const user = await addUser(t, tenant);
    const activationUrl = (await beginRegistration(t, user.token)).data.beginAuthenticatorRegistration.activationUrl;
    const context = await browser.newContext();
    await context.route(`${origin()}${BASE}**`, serve);
    const page = await context.newPage();
    await openSdkPage(page);
    const activated = await page.evaluate(async (link) => {
      const { AuthenticatorApp, IndexedDbKeyStore } = (window as any).sdk;
      const app = await AuthenticatorApp.activate(link, { displayName: 'Browser', platform: 'ANDROID', osVersion: '14', appVersion: '6.2403.1' }, { store: new IndexedDbKeyStore() });
      await app.enablePhoneSignIn();
      const exported = await crypto.subtle.exportKey('jwk', app.keys.credentialKey.privateKey).then(() => 'exported', (e: Error) => e.name);
      return { deviceId: app.keys.deviceId, extractable: app.keys.deviceKey.privateKey.extractable, exported, hasRequire: typeof (window as any).require };
    }, activationUrl);
    expect(activated).toEqual({ deviceId: expect.any(String), extractable: false, exported: 'InvalidAccessError', hasRequire: 'undefined' });

    await openSdkPage(page);
    const restored = await page.evaluate(async () => {
      const w = window as any;
      const app = await w.sdk.AuthenticatorApp.load({ store: new w.sdk.IndexedDbKeyStore() });
      w.app = app;
      w.challenges = [];
      w.states = [];
      w.feed = app.listen({ onChallenge: (c: unknown) => w.challenges.push(c), onState: (s: string) => w.states.push(s), onError: (e: Error) => w.states.push(e.message) });
      return { deviceId: app.keys.deviceId, enabled: app.phoneSignInEnabled };
    });
    expect(restored).toEqual({ deviceId: activated.deviceId, enabled: true });
    await page.waitForFunction(() => (window as any).states.includes('live'), undefined, { timeout: 30_000 }).catch(async (error) => {
      throw new Error(`${error.message}; states: ${await page.evaluate(() => (window as any).states.join(' → '))}`);
    });

    const signIn = await started(t, user.userPrincipalName, 'Contoso Mail');
    await page.waitForFunction(() => (window as any).challenges.length === 1, undefined, { timeout: 60_000 });
    const status = await page.evaluate(async (number) => {
      const w = window as any;
      const result = await w.app.approve(w.challenges[0], number, 'pin');
      await w.feed.stop();
      return result;
    }, signIn.number);
    expect(status).toBe('APPROVED');
    expect(amrOf((await complete(t, signIn)).data.completeSignIn.accessToken)).toContain('pin');
    await context.close();
  }, 180_000);
});
