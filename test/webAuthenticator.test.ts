import { randomBytes } from 'node:crypto';
import jsQRModule from 'jsqr';
import type { Page } from 'playwright-core';
import { PNG } from 'pngjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTenant } from './harness.js';
import { setPolicy, serverPerFile } from './signInFlow.js';
import { join } from 'node:path';
import { SCREENSHOTS, type TestBrowser, type TestPage, ensureWebBuilt, hasChromium, launchBrowser } from './support/browser.js';

/**
 * The web pages as a person uses them, in Chromium: sign in with a Temporary Access Pass on `/`,
 * add the web authenticator from /security-info (its QR code decodes to the activation link),
 * enable phone sign-in on /authenticator, then sign in on `/` with it. Two tabs of one browser,
 * each seeing the other's effect live.
 */
const t = serverPerFile();
const ERR = '... on Error { code message }';
/** Generous: the machine is shared, and PBKDF2 with 600,000 iterations runs on the first approval. */
const LIVE_MS = 30_000;

async function admin<T = any>(query: string, variables: Record<string, unknown>, token: string): Promise<T> {
  const result = await t.gql(query, variables, token);
  if (result.errors) throw new Error(JSON.stringify(result.errors));
  return result.data as T;
}

/** A tenant whose policy allows phone sign-in for everyone, and a user with a reusable pass. */
async function person() {
  const tenant = await createTenant(t);
  await setPolicy(t, tenant, 'ANY');
  const userPrincipalName = `adele${randomBytes(3).toString('hex')}@${tenant.domain}`;
  const created = await admin(
    `mutation($i: CreateUserInput!) { createUser(input: $i) { __typename ... on User { id } ${ERR} } }`,
    { i: { userPrincipalName, displayName: 'Adele Vance' } },
    tenant.adminToken,
  );
  const pass = await admin(
    `mutation($i: CreateTemporaryAccessPassInput!) { createTemporaryAccessPass(input: $i) { __typename ... on TemporaryAccessPass { pass } ${ERR} } }`,
    { i: { userId: created.createUser.id, lifetimeMinutes: 60, isUsableOnce: false } },
    tenant.adminToken,
  );
  return { tenant, userPrincipalName, pass: pass.createTemporaryAccessPass.pass as string };
}

// jsqr is CommonJS whose types declare an ES default export: Node hands the function over as the module itself.
const jsQR = jsQRModule as unknown as typeof jsQRModule.default;

/** Decodes the QR code in a screenshot of one element. */
async function qrOf(page: Page, name: string): Promise<string | undefined> {
  const png = PNG.sync.read(await page.getByRole('img', { name }).screenshot());
  return jsQR(new Uint8ClampedArray(png.data), png.width, png.height)?.data;
}

async function signInWithPass(page: Page, userPrincipalName: string, pass: string) {
  await page.getByRole('button', { name: 'Use a Temporary Access Pass' }).first().click();
  await page.getByRole('textbox', { name: 'User name' }).fill(userPrincipalName);
  await page.getByRole('textbox', { name: 'Temporary Access Pass' }).fill(pass);
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  await page.getByRole('heading', { name: 'Signed in' }).waitFor({ timeout: LIVE_MS });
}

/** Signs out (when signed in) and asks for a phone sign-in; returns the number shown. */
async function requestPhoneSignIn(page: Page, userPrincipalName: string): Promise<string> {
  const signOut = page.getByRole('button', { name: 'Sign out' });
  const userName = page.getByRole('textbox', { name: 'User name' });
  // The page shows one or the other once it knows whether this tab has a session.
  await expect.poll(async () => (await signOut.isVisible()) || (await userName.isVisible()), { timeout: LIVE_MS }).toBe(true);
  if (await signOut.isVisible()) await signOut.click();
  await userName.fill(userPrincipalName);
  await page.getByRole('button', { name: 'Next' }).click();
  const number = page.getByRole('group', { name: 'Sign-in number' });
  await expect.poll(() => number.textContent(), { timeout: LIVE_MS }).toMatch(/^\d+$/);
  return (await number.textContent())!;
}

/** The text of the page's one live region of that role. */
const textOf = (page: Page, role: 'status' | 'alert') => page.getByRole(role).textContent();

/** Runs in the authenticator's page: what its IndexedDB holds, as far as a script there can tell. */
async function storedSecrets() {
  const read = async (database: string, store: string, key: string) => {
    const request = indexedDB.open(database);
    const db = await new Promise<IDBDatabase>((resolve, reject) => {
      request.onsuccess = () => resolve(request.result);
      request.onerror = () => reject(request.error);
    });
    return new Promise<any>((resolve) => {
      const get = db.transaction(store).objectStore(store).get(key);
      get.onsuccess = () => resolve(get.result);
    });
  };
  const app = await read('phone-sign-in-authenticator', 'authenticator', 'state');
  const pin = await read('phone-sign-in-web-authenticator', 'pin', 'pin');
  const exported = await crypto.subtle.exportKey('jwk', app.deviceKey.privateKey).then(
    () => 'exported',
    (error: DOMException) => error.name,
  );
  return {
    extractable: [app.deviceKey.privateKey.extractable, app.credentialKey.privateKey.extractable],
    exported,
    iterations: pin.iterations,
    saltBytes: pin.salt.length,
    pinInClear: JSON.stringify({ app, pin: [...pin.hash] }).includes('2580'),
  };
}

/** Runs in the authenticator's page: every URL its service worker's caches hold. */
async function cachedUrls() {
  await navigator.serviceWorker.ready;
  const urls: string[] = [];
  for (const name of await caches.keys()) for (const request of await (await caches.open(name)).keys()) urls.push(request.url);
  return urls;
}

/** The one challenge card on the authenticator, once it has arrived. */
async function challengeCard(page: Page) {
  const card = page.getByRole('listitem').filter({ has: page.getByRole('button', { name: 'Approve' }) });
  await card.waitFor({ timeout: LIVE_MS });
  return card;
}

describe.skipIf(!hasChromium)('security info and the web authenticator in Chromium', () => {
  let browser: TestBrowser;
  let signIn: TestPage;
  let authenticator: Page;
  const authenticatorProblems: string[] = [];
  const apiFromServiceWorker: string[] = [];
  let apiCalls = 0;

  beforeAll(async () => {
    await ensureWebBuilt();
    t.clock.run();
    browser = await launchBrowser();
    signIn = await browser.page(t.url);
    // The second tab, in the same browser context (its IndexedDB, its service worker).
    authenticator = await signIn.context.newPage();
    authenticator.on('console', (m) => void (m.type() === 'error' && authenticatorProblems.push(`console: ${m.text()}`)));
    authenticator.on('pageerror', (e) => authenticatorProblems.push(`exception: ${e.message}`));
    authenticator.on('response', (response) => {
      if (new URL(response.url()).pathname !== '/graphql') return;
      apiCalls++;
      if (response.fromServiceWorker()) apiFromServiceWorker.push(response.url());
    });
  }, 180_000);
  afterAll(() => browser?.close());

  it('registers the web authenticator from security info, then signs in with it on the sign-in page', async () => {
    const { tenant, userPrincipalName, pass } = await person();
    const page = signIn.page;
    await page.goto(`${t.url}/`);
    await signInWithPass(page, userPrincipalName, pass);

    await page.getByRole('link', { name: 'Security info' }).click();
    await page.getByRole('heading', { name: 'Security info' }).waitFor();
    await page.getByText('You have no sign-in method yet').waitFor();
    await page.getByRole('button', { name: 'Add sign-in method' }).click();
    await page.getByRole('button', { name: 'Authenticator app' }).click();
    await page.getByRole('img', { name: 'Activation QR code' }).waitFor();
    const link = (await page.getByRole('group', { name: 'Activation link' }).textContent())!;
    expect(link).toMatch(/^phonesignin:\/\/activate\?endpoint=.+&code=.+/);
    expect(await qrOf(page, 'Activation QR code')).toBe(link);
    await signIn.screenshot('security-info-activation');

    await authenticator.goto(`${t.url}/authenticator`);
    await authenticator.getByRole('heading', { name: 'Add your account' }).waitFor();
    await authenticator.screenshot({ path: join(SCREENSHOTS, 'authenticator-activate.png'), fullPage: true });
    await authenticator.getByRole('textbox', { name: 'Activation link' }).fill(link);
    await authenticator.getByRole('button', { name: 'Activate' }).click();
    await expect.poll(() => textOf(authenticator, 'status'), { timeout: LIVE_MS }).toMatch(/^Activated/);
    // Security info saw the app activate, with no reload.
    await page.getByRole('heading', { name: 'Done' }).waitFor({ timeout: LIVE_MS });
    await expect.poll(() => textOf(page, 'status')).toMatch(/Done: Web authenticator \(Chrome on Linux\) is set up/);
    await signIn.screenshot('security-info-done');

    await authenticator.getByRole('button', { name: 'Enable phone sign-in' }).click();
    await authenticator.getByText('Phone sign-in is on.', { exact: true }).waitFor({ timeout: LIVE_MS });
    await page.getByRole('button', { name: 'Back to your methods' }).click();
    await expect.poll(() => page.getByRole('listitem').allInnerTexts()).toEqual([expect.stringMatching(/^Web authenticator \(Chrome on Linux\)[^]*phone sign-in on/)]);
    await signIn.screenshot('security-info');

    // Typed matching: the phone asks for the number; the first PIN becomes the device's PIN.
    await page.goto(`${t.url}/`);
    const number = await requestPhoneSignIn(page, userPrincipalName);
    let card = await challengeCard(authenticator);
    const shownOnPhone = await card.innerText();
    expect(shownOnPhone).toContain(userPrincipalName);
    expect(shownOnPhone).toContain(`Web sign-in (${new URL(t.url).host})`);
    expect(shownOnPhone).toMatch(/IP address\s+127\.0\.0\.1/);
    expect(shownOnPhone).toMatch(/Location\s+\S/);
    // Typed matching: a textbox, and no choice buttons.
    expect(await card.getByRole('button').allInnerTexts()).toEqual(['Approve', 'Deny', 'Report suspicious activity']);
    await card.getByRole('textbox', { name: 'Number' }).fill(number);
    await card.getByRole('textbox', { name: 'PIN' }).fill('2580');
    await authenticator.screenshot({ path: join(SCREENSHOTS, 'authenticator-challenge.png'), fullPage: true });
    await card.getByRole('button', { name: 'Approve' }).click();
    await page.getByRole('heading', { name: 'Signed in' }).waitFor({ timeout: LIVE_MS });
    await expect.poll(() => textOf(authenticator, 'status')).toMatch(/^Approved/);
    // The keys are in IndexedDB as non-extractable CryptoKeys; the PIN only as a salted PBKDF2 hash.
    expect(await authenticator.evaluate(storedSecrets)).toEqual({ extractable: [false, false], exported: 'InvalidAccessError', iterations: 600_000, saltBytes: 16, pinInClear: false });

    // Pick-one matching: one button per choice; a wrong PIN signs nothing.
    await admin(`mutation($i: UpdateTenantSettingsInput!) { updateTenantSettings(input: $i) { __typename ${ERR} } }`, { i: { numberMatching: { style: 'CHOICE' } } }, tenant.adminToken);
    const shown = await requestPhoneSignIn(page, userPrincipalName);
    card = await challengeCard(authenticator);
    expect(await card.getByRole('textbox', { name: 'Number' }).count()).toBe(0);
    expect(await card.getByRole('button').allInnerTexts()).toHaveLength(3 + 3);
    // By keyboard: Space picks the choice; after a wrong PIN focus is back in the PIN field, and Enter approves.
    const choice = card.getByRole('button', { name: shown, exact: true });
    await choice.focus();
    await authenticator.keyboard.press('Space');
    expect(await choice.getAttribute('aria-pressed')).toBe('true');
    await card.getByRole('textbox', { name: 'PIN' }).fill('1111');
    await card.getByRole('button', { name: 'Approve' }).click();
    await card.getByText('That PIN is not right').waitFor({ timeout: LIVE_MS });
    expect(await page.getByRole('group', { name: 'Sign-in number' }).isVisible()).toBe(true);
    await expect.poll(() => authenticator.evaluate(() => document.activeElement?.getAttribute('type'))).toBe('password');
    await authenticator.keyboard.press('Control+A');
    await authenticator.keyboard.type('2580');
    await authenticator.keyboard.press('Enter');
    await page.getByRole('heading', { name: 'Signed in' }).waitFor({ timeout: LIVE_MS });

    // Deny, then report: the sign-in page says what happened.
    await requestPhoneSignIn(page, userPrincipalName);
    await (await challengeCard(authenticator)).getByRole('button', { name: 'Deny' }).click();
    await expect.poll(() => textOf(authenticator, 'status'), { timeout: LIVE_MS }).toMatch(/^Denied/);
    await expect.poll(() => textOf(page, 'alert'), { timeout: LIVE_MS }).toMatch(/declined the sign-in request/);
    await requestPhoneSignIn(page, userPrincipalName);
    await (await challengeCard(authenticator)).getByRole('button', { name: 'Report suspicious activity' }).click();
    await expect.poll(() => textOf(page, 'alert'), { timeout: LIVE_MS }).toMatch(/reported this sign-in as not yours/);
    await expect.poll(() => textOf(authenticator, 'status')).toMatch(/^Reported/);
    await signIn.screenshot('sign-in-reported');
    await authenticator.screenshot({ path: join(SCREENSHOTS, 'authenticator.png'), fullPage: true });

    // The policy stops allowing passwordless sign-in: Security info says what to do about the credential.
    await setPolicy(t, tenant, 'PUSH');
    await signInWithPass(page, userPrincipalName, pass);
    await page.getByRole('link', { name: 'Security info' }).click();
    await page.getByRole('note').waitFor({ timeout: LIVE_MS });
    expect(await page.getByRole('note').textContent()).toMatch(/does not let you use it\. Your admin allows the Authenticator app for push approvals only/);
    await signIn.screenshot('security-info-remedy');

    // Remove: the method goes, and the web authenticator, told at once, resets itself.
    await page.getByRole('button', { name: 'Remove' }).click();
    await expect.poll(() => textOf(page, 'status'), { timeout: LIVE_MS }).toMatch(/^Removed Web authenticator/);
    await page.getByText('You have no sign-in method yet').waitFor();
    await expect.poll(() => textOf(authenticator, 'alert'), { timeout: LIVE_MS }).toMatch(/no longer registered/);
    await authenticator.getByRole('textbox', { name: 'Activation link' }).waitFor();

    // Installable: a manifest, and a service worker that keeps the shell (it opens offline) and never an API call.
    const manifest = await (await fetch(`${t.url}/authenticator.webmanifest`)).json();
    expect(manifest).toMatchObject({ start_url: '/authenticator', scope: '/authenticator', display: 'standalone' });
    const cached = await authenticator.evaluate(cachedUrls);
    expect(cached.map((url) => new URL(url).pathname)).toContain('/authenticator');
    expect(cached.filter((url) => !/\/(authenticator|authenticator\.webmanifest|favicon\.svg|assets\/.+)$/.test(new URL(url).pathname))).toEqual([]);
    expect(apiFromServiceWorker).toEqual([]);
    // Activation and enabling go over HTTP (the answers go on the live socket): the API was called, never through the worker.
    expect(apiCalls).toBeGreaterThanOrEqual(2);
    expect(signIn.problems).toEqual([]);
    expect(signIn.blocked).toEqual([]);
    expect(authenticatorProblems).toEqual([]);
    // Offline the page's calls fail, as they should; only the shell must load.
    await signIn.context.setOffline(true);
    await authenticator.reload();
    await authenticator.getByRole('heading', { name: 'Web authenticator' }).waitFor();
    await signIn.context.setOffline(false);
  }, 240_000);
});
