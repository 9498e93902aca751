import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addUser, registerPhone } from './authenticatorClient.js';
import { createTenant } from './harness.js';
import { begin, onlyChallenge, phoneUser, respond, serverPerFile } from './signInFlow.js';
import { BROWSER_TEST_TIMEOUT_MS, PAGE_POLL, type TestBrowser, type TestPage, ensureWebBuilt, hasChromium, launchBrowser } from './support/browser.js';

// The sign-in page (`/`) in Chromium, as a person uses it, answered by a real authenticator (the
// SDK's keys, signing each answer) over the real API; screenshots of each view.
const t = serverPerFile();

describe.skipIf(!hasChromium)('the sign-in page', { timeout: BROWSER_TEST_TIMEOUT_MS }, () => {
  let browser: TestBrowser;
  let tenant: Awaited<ReturnType<typeof createTenant>>;
  beforeAll(async () => {
    [browser] = await Promise.all([launchBrowser(), ensureWebBuilt()]);
    tenant = await createTenant(t);
  }, 180_000);
  afterAll(() => browser?.close());

  let open: TestPage[] = [];
  const visit = async (path = '/') => {
    const tab = await browser.page(t.url);
    open.push(tab);
    await tab.page.goto(`${t.url}${path}`);
    return tab;
  };
  afterAll(async () => {
    for (const tab of open) expect(tab.blocked).toEqual([]);
    open = [];
  });

  /** Types the user name and presses Enter (the keyboard path), then reads the number shown. */
  async function requestNumber(page: Page, userPrincipalName: string) {
    await page.getByRole('textbox', { name: 'User name' }).fill(userPrincipalName);
    await page.getByRole('textbox', { name: 'User name' }).press('Enter');
    const number = page.getByRole('group', { name: 'Sign-in number' });
    await expect.poll(() => number.textContent(), PAGE_POLL).toMatch(/^\d+$/);
    return (await number.textContent())!;
  }

  const said = (page: Page, role: 'status' | 'alert', text: RegExp) => page.getByRole(role).filter({ hasText: text }).waitFor();

  it('signs in with the number answered on the phone, live, then signs out', async () => {
    const { user, phone } = await phoneUser(t, tenant);
    const { page, problems, screenshot } = await visit();
    await screenshot('sign-in-1-user-name');
    const number = await requestNumber(page, user.userPrincipalName);
    await said(page, 'status', /sent a sign-in request/i);
    await expect.poll(() => page.locator('#countdown').textContent(), PAGE_POLL).toMatch(/^Expires in \d:\d\d$/);
    await screenshot('sign-in-2-number');
    const challenge = await onlyChallenge(t, phone);
    expect(challenge.appName).toBe(`Web sign-in (${new URL(t.url).host})`);
    const answered = await respond(t, phone, challenge, { number });
    expect(answered.data.respondToPhoneSignInChallenge.status).toBe('APPROVED');
    await page.getByRole('heading', { name: 'Signed in' }).waitFor();
    expect(await page.locator('#signed-in-who').textContent()).toContain(user.userPrincipalName);
    await screenshot('sign-in-3-signed-in');
    // The session lives in this tab only: a reload still shows who is signed in.
    await page.reload();
    await page.getByRole('heading', { name: 'Signed in' }).waitFor();
    await page.getByRole('button', { name: 'Sign out' }).click();
    await said(page, 'status', /you signed out/i);
    await page.getByRole('textbox', { name: 'User name' }).waitFor();
    expect(problems).toEqual([]);
  });

  const ENDINGS = [
    ['declined', { decision: 'deny' }, /you declined the sign-in request/i],
    ['wrong number', { decision: 'approve', wrongNumber: true }, /did not match the one shown/i],
    ['reported', { decision: 'report' }, /you reported this sign-in as not yours/i],
  ] as const;
  for (const [name, answer, sentence] of ENDINGS) {
    it(`says so when the phone's answer is: ${name}`, async () => {
      const { user, phone } = await phoneUser(t, tenant);
      const { page, screenshot } = await visit();
      const number = await requestNumber(page, user.userPrincipalName);
      const challenge = await onlyChallenge(t, phone);
      const given = 'wrongNumber' in answer ? String((Number(number) % 99) + 1).padStart(number.length, '0') : number;
      await respond(t, phone, challenge, { number: given, decision: answer.decision });
      await said(page, 'alert', sentence);
      await page.getByRole('textbox', { name: 'User name' }).waitFor();
      await screenshot(`sign-in-outcome-${name.replace(' ', '-')}`);
    });
  }

  it('says so when the request expires unanswered', async () => {
    const { user } = await phoneUser(t, tenant);
    const { page, screenshot } = await visit();
    await requestNumber(page, user.userPrincipalName);
    t.clock.advance(121);
    await t.server.runMaintenance();
    await said(page, 'alert', /expired before it was answered/i);
    await screenshot('sign-in-outcome-expired');
  });

  it('says so when a request is already waiting on the phone', async () => {
    const { user } = await phoneUser(t, tenant);
    expect((await begin(t, user.userPrincipalName))?.__typename).toBe('PhoneSignInStarted');
    const { page } = await visit();
    await page.getByRole('textbox', { name: 'User name' }).fill(user.userPrincipalName);
    await page.getByRole('button', { name: 'Next' }).click();
    await said(page, 'alert', /already waiting on your phone/i);
  });

  it('signs in with the password when phone sign-in is not available', async () => {
    const user = await addUser(t, tenant);
    const { page, screenshot } = await visit();
    await page.getByRole('textbox', { name: 'User name' }).fill(user.userPrincipalName);
    await page.getByRole('button', { name: 'Next' }).click();
    await said(page, 'status', /phone sign-in is not available/i);
    const password = page.getByRole('textbox', { name: 'Password' });
    await password.fill('not the password');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await said(page, 'alert', /password/i);
    await screenshot('sign-in-password-wrong');
    await password.fill(user.password);
    await password.press('Enter');
    await page.getByRole('heading', { name: 'Signed in' }).waitFor();
  });

  it('asks for approval on the phone after the password where required (an admin with the app)', async () => {
    const admin = await addUser(t, tenant, { isAdmin: true });
    const phone = await registerPhone(t, admin.token, { enable: false });
    const { page, screenshot } = await visit();
    await page.getByRole('button', { name: 'Use your password instead' }).click();
    await page.getByRole('textbox', { name: 'User name' }).fill(admin.userPrincipalName);
    await page.getByRole('textbox', { name: 'Password' }).fill(admin.password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    const number = page.getByRole('group', { name: 'Sign-in number' });
    await expect.poll(() => number.textContent(), PAGE_POLL).toMatch(/^\d+$/);
    await screenshot('sign-in-password-then-phone');
    const challenge = await onlyChallenge(t, phone);
    expect(challenge.kind).toBe('PUSH_MFA');
    await respond(t, phone, challenge, { number: (await number.textContent())!, key: 'device' });
    await page.getByRole('heading', { name: 'Signed in' }).waitFor();
    expect(await page.locator('#registration-required').isHidden()).toBe(true);
  });

  it('signs in with a Temporary Access Pass', async () => {
    const user = await addUser(t, tenant);
    const created = await t.gql(
      `mutation($i: CreateTemporaryAccessPassInput!) { createTemporaryAccessPass(input: $i) { ... on TemporaryAccessPass { pass } } }`,
      { i: { userId: user.userId, lifetimeMinutes: 60, isUsableOnce: true } },
      tenant.adminToken,
    );
    const { page, screenshot } = await visit();
    await page.getByRole('button', { name: 'Use a Temporary Access Pass' }).click();
    await page.getByRole('textbox', { name: 'User name' }).fill(user.userPrincipalName);
    await page.getByRole('textbox', { name: 'Temporary Access Pass' }).fill(created.data.createTemporaryAccessPass.pass);
    await screenshot('sign-in-temporary-access-pass');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Signed in' }).waitFor();
  });

  it('falls back to polling when the WebSocket fails, and still signs in', async () => {
    const { user, phone } = await phoneUser(t, tenant);
    const { page } = await visit();
    // Every WebSocket of this page is cut at once, as by a proxy that does not pass upgrades.
    await page.routeWebSocket(/\/graphql$/, (socket) => socket.close());
    const number = await requestNumber(page, user.userPrincipalName);
    await said(page, 'status', /checking for your answer every few seconds/i);
    await respond(t, phone, await onlyChallenge(t, phone), { number });
    await page.getByRole('heading', { name: 'Signed in' }).waitFor();
  });

  it('prefills login_hint and starts the phone sign-in at once', async () => {
    const { user, phone } = await phoneUser(t, tenant);
    const { page } = await visit(`/?login_hint=${encodeURIComponent(user.userPrincipalName)}`);
    const number = page.getByRole('group', { name: 'Sign-in number' });
    await expect.poll(() => number.textContent(), PAGE_POLL).toMatch(/^\d+$/);
    expect((await onlyChallenge(t, phone)).userPrincipalName).toBe(user.userPrincipalName);
  });
});
