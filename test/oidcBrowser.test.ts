import { createRemoteJWKSet, jwtVerify } from 'jose';
import * as client from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTenant } from './harness.js';
import { CALLBACK, application, authorizationRequest, redeem, relyingParty } from './oidcFlow.js';
import { onlyChallenge, phoneUser, respond, serverPerFile } from './signInFlow.js';
import { BROWSER_TEST_TIMEOUT_MS, PAGE_POLL, type TestBrowser, ensureWebBuilt, hasChromium, launchBrowser } from './support/browser.js';

// OpenID Connect as an application meets it: openid-client as the relying party, the hosted sign-in
// page driven in Chromium as the login interaction, the phone's answer signed by the SDK's keys.
const t = serverPerFile();

describe.skipIf(!hasChromium)('OpenID Connect through the hosted sign-in page', { timeout: BROWSER_TEST_TIMEOUT_MS }, () => {
  let browser: TestBrowser;
  let tenant: Awaited<ReturnType<typeof createTenant>>;
  beforeAll(async () => {
    [browser] = await Promise.all([launchBrowser(), ensureWebBuilt()]);
    tenant = await createTenant(t);
  }, 180_000);
  afterAll(() => browser?.close());

  it('signs a phone user in to an application: login_hint starts the push, the code comes back to the callback, the ID token says how', async () => {
    const { user, phone } = await phoneUser(t, tenant);
    const app = await application(t, tenant.adminToken);
    const config = await relyingParty(t, app);
    const request = await authorizationRequest(config, { login_hint: user.userPrincipalName });

    const { page, blocked, screenshot } = await browser.page(t.url);
    // The callback is the application's, on another origin: the page's request for it is where the browser stops.
    const callbackRequest = page.waitForRequest((r) => r.url().startsWith(CALLBACK), { timeout: 60_000 });
    callbackRequest.catch(() => {}); // awaited below; a failure before that is the test's, not an unhandled rejection
    await page.goto(request.url.href);

    // The login_hint prefilled the name and started the phone sign-in: the number is shown at once.
    const number = page.getByRole('group', { name: 'Sign-in number' });
    await expect.poll(() => number.textContent(), PAGE_POLL).toMatch(/^\d+$/);
    expect(new URL(page.url()).searchParams.get('interaction')).toBeTruthy();
    expect(await page.locator('#user-name').inputValue()).toBe(user.userPrincipalName);
    await screenshot('oidc-sign-in-number');
    const challenge = await onlyChallenge(t, phone);
    expect(challenge.appName).toBe(`Single sign-on (${new URL(t.url).host})`);
    await respond(t, phone, challenge, { number: (await number.textContent())! });

    const callback = new URL((await callbackRequest).url());
    expect(callback.searchParams.get('state')).toBe(request.state);
    expect(blocked.every((url) => url.startsWith(CALLBACK))).toBe(true);

    const tokens = await redeem(config, callback, request);
    const { payload } = await jwtVerify(tokens.id_token!, createRemoteJWKSet(new URL(`${t.url}/.well-known/jwks.json`)), {
      issuer: t.server.issuer,
      audience: app.clientId,
      algorithms: ['ES256'],
    });
    expect(payload).toMatchObject({ sub: user.userId, nonce: request.nonce, amr: ['mfa', 'pop', 'pin'] });
    expect(typeof payload.auth_time).toBe('number');
    const info = await client.fetchUserInfo(config, tokens.access_token, user.userId);
    expect(info).toMatchObject({ sub: user.userId, preferred_username: user.userPrincipalName });
    // The code was spent: a second redemption of the same callback is refused.
    await expect(redeem(config, callback, request)).rejects.toThrow();
  });
});
