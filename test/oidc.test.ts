import { createRemoteJWKSet, jwtVerify } from 'jose';
import * as client from 'openid-client';
import { describe, expect, it } from 'vitest';
import { eq } from 'drizzle-orm';
import { addUser } from './authenticatorClient.js';
import { oidcRecords } from '../src/db/platformSchema.js';
import { createTenant, signIn } from './harness.js';
import {
  AFTER_LOGOUT,
  CALLBACK,
  application,
  authorizationRequest,
  openAuthorization,
  phoneSignIn,
  postLogin,
  redeem,
  relyingParty,
  signInThroughApp,
} from './oidcFlow.js';
import { phoneUser, serverPerFile } from './signInFlow.js';
import { CookieBrowser as Browser } from './support/cookieBrowser.js';

const t = serverPerFile();

/** When a sign-in session began: its access token's iat. */
const iatOf = (accessToken: string) => JSON.parse(Buffer.from(accessToken.split('.')[1]!, 'base64url').toString()).iat as number;

describe('OpenID Connect for any application', () => {
  it('publishes one discovery document with every endpoint, the GraphQL endpoint and the access tokens’ JWK set', async () => {
    const discovery = await (await fetch(`${t.url}/.well-known/openid-configuration`)).json();
    const issuer = t.server.issuer;
    expect(discovery).toMatchObject({
      issuer,
      authorization_endpoint: `${issuer}/authorize`,
      token_endpoint: `${issuer}/token`,
      userinfo_endpoint: `${issuer}/userinfo`,
      introspection_endpoint: `${issuer}/token/introspect`,
      revocation_endpoint: `${issuer}/token/revoke`,
      end_session_endpoint: `${issuer}/logout`,
      jwks_uri: `${issuer}/.well-known/jwks.json`,
      graphql_endpoint: `${issuer}/graphql`,
      access_token_audience: issuer,
      response_types_supported: ['code'],
      code_challenge_methods_supported: ['S256'],
      id_token_signing_alg_values_supported: ['ES256'],
    });
    expect(discovery.token_endpoint_auth_methods_supported).toEqual(expect.arrayContaining(['client_secret_basic', 'client_secret_post', 'none']));
    expect(discovery.claims_supported).toEqual(expect.arrayContaining(['sub', 'amr', 'acr', 'auth_time']));
  });

  it('signs a phone user in to a public application: PKCE, state, nonce, the hosted page, ID token, userinfo, refresh rotation', async () => {
    const tenant = await createTenant(t);
    const { user, phone } = await phoneUser(t, tenant);
    const app = await application(t, tenant.adminToken);
    expect(app.clientSecret).toBeNull();
    const config = await relyingParty(t, app);
    const browser = new Browser();

    const flow = await signInThroughApp(t, browser, config, () => phoneSignIn(t, user.userPrincipalName, phone), { login_hint: user.userPrincipalName });
    expect(flow.signInPage.pathname).toBe('/');
    expect(flow.signInPage.searchParams.get('login_hint')).toBe(user.userPrincipalName);
    expect(flow.callback.href.startsWith(CALLBACK)).toBe(true);
    expect(flow.callback.searchParams.get('state')).toBe(flow.request.state);

    const tokens = await redeem(config, flow.callback, flow.request);
    const { payload, protectedHeader } = await jwtVerify(tokens.id_token!, createRemoteJWKSet(new URL(`${t.url}/.well-known/jwks.json`)), {
      issuer: t.server.issuer,
      audience: app.clientId,
      algorithms: ['ES256'],
    });
    expect(protectedHeader.alg).toBe('ES256');
    expect(payload).toMatchObject({ sub: user.userId, nonce: flow.request.nonce, amr: ['mfa', 'pop', 'pin'], acr: 'urn:phone-sign-in:acr:mfa' });
    expect(payload.auth_time).toBe(iatOf(flow.accessToken));

    const info = await client.fetchUserInfo(config, tokens.access_token, user.userId);
    expect(info).toMatchObject({ sub: user.userId, preferred_username: user.userPrincipalName });

    expect(tokens.refresh_token).toBeTruthy();
    const refreshed = await client.refreshTokenGrant(config, tokens.refresh_token!);
    expect(refreshed.refresh_token).toBeTruthy();
    expect(refreshed.refresh_token).not.toBe(tokens.refresh_token);
    // Attack: a refresh token that leaked is replayed after the application used it.
    await expect(client.refreshTokenGrant(config, tokens.refresh_token!)).rejects.toMatchObject({ error: 'invalid_grant' });
  });

  it('serves a confidential application with a secret: introspection, then GraphQL sign-out ends its tokens at once', async () => {
    const tenant = await createTenant(t);
    const user = await addUser(t, tenant);
    const app = await application(t, tenant.adminToken, { confidential: true, name: 'Contoso Payroll' });
    expect(app.clientSecret).toMatch(/^[A-Za-z0-9_-]{43}$/);
    // Only a digest is kept: the secret appears nowhere in the database.
    const [row] = await t.server.app.db.select().from(oidcRecords).where(eq(oidcRecords.id, app.clientId));
    expect(JSON.stringify(row!.payload)).not.toContain(app.clientSecret);
    const config = await relyingParty(t, app);

    const flow = await signInThroughApp(t, new Browser(), config, () => signIn(t, user.userPrincipalName, user.password));
    const tokens = await redeem(config, flow.callback, flow.request);
    expect(tokens.claims()).toMatchObject({ sub: user.userId, amr: ['pwd'], acr: 'urn:phone-sign-in:acr:sfa' });
    expect(await client.tokenIntrospection(config, tokens.access_token)).toMatchObject({ active: true, sub: user.userId, client_id: app.clientId });

    // The person signs out on the sign-in page (GraphQL signOut with the page's session).
    const out = await t.gql('mutation { signOut }', {}, flow.accessToken);
    expect(out.errors).toBeUndefined();
    expect(await client.tokenIntrospection(config, tokens.access_token)).toMatchObject({ active: false });
    expect(await client.tokenIntrospection(config, tokens.refresh_token!)).toMatchObject({ active: false });
    await expect(client.refreshTokenGrant(config, tokens.refresh_token!)).rejects.toMatchObject({ error: 'invalid_grant' });
  });

  // Attack: a confidential application (of this tenant or another) asks about, or revokes, a token issued to someone else's application.
  it('lets only the application a token was issued to introspect or revoke it', async () => {
    const tenant = await createTenant(t);
    const user = await addUser(t, tenant);
    const owner = await relyingParty(t, await application(t, tenant.adminToken, { confidential: true, name: 'Contoso Payroll' }));
    const other = await createTenant(t);
    const stranger = await relyingParty(t, await application(t, other.adminToken, { confidential: true, name: 'Fabrikam Reports' }));
    const flow = await signInThroughApp(t, new Browser(), owner, () => signIn(t, user.userPrincipalName, user.password));
    const tokens = await redeem(owner, flow.callback, flow.request);
    expect(await client.tokenIntrospection(stranger, tokens.access_token)).toEqual({ active: false });
    await client.tokenRevocation(stranger, tokens.access_token).catch(() => undefined);
    expect(await client.tokenIntrospection(owner, tokens.access_token)).toMatchObject({ active: true, sub: user.userId });
  });

  it('accepts client_secret_post where registered, and refuses a wrong secret', async () => {
    const tenant = await createTenant(t);
    const user = await addUser(t, tenant);
    const app = await application(t, tenant.adminToken, { confidential: true, clientSecretMethod: 'CLIENT_SECRET_POST' });
    const config = await relyingParty(t, app, 'post');
    const flow = await signInThroughApp(t, new Browser(), config, () => signIn(t, user.userPrincipalName, user.password));
    const tokens = await redeem(config, flow.callback, flow.request);
    expect(tokens.claims()?.sub).toBe(user.userId);
    // Attack: a client guessing (or holding an old) secret.
    const forged = await relyingParty(t, { clientId: app.clientId, clientSecret: `${app.clientSecret}x` }, 'post');
    await expect(client.tokenIntrospection(forged, tokens.access_token)).rejects.toMatchObject({ error: 'invalid_client' });
  });

  it('ends the session, its grants and the page’s sign-in session on RP-initiated logout', async () => {
    const tenant = await createTenant(t);
    const user = await addUser(t, tenant);
    const app = await application(t, tenant.adminToken, { confidential: true });
    const config = await relyingParty(t, app);
    const browser = new Browser();
    const flow = await signInThroughApp(t, browser, config, () => signIn(t, user.userPrincipalName, user.password));
    const tokens = await redeem(config, flow.callback, flow.request);

    const logout = client.buildEndSessionUrl(config, { id_token_hint: tokens.id_token!, post_logout_redirect_uri: AFTER_LOGOUT, state: 'bye' });
    const confirm = await browser.navigate(logout);
    expect(confirm.response!.status).toBe(200);
    expect(confirm.response!.headers.get('content-security-policy')).toContain("default-src 'none'");
    const form = await confirm.response!.text();
    expect(form).not.toMatch(/<script/i);
    const action = /<form[^>]*action="([^"]+)"/.exec(form)![1]!;
    const xsrf = /name="xsrf" value="([^"]+)"/.exec(form)![1]!;
    const confirmed = await browser.fetch(new URL(action, t.url), {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ xsrf, logout: 'yes' }).toString(),
    });
    expect(confirmed.status).toBe(303);
    expect(confirmed.headers.get('location')).toBe(`${AFTER_LOGOUT}?state=bye`);

    expect(await client.tokenIntrospection(config, tokens.access_token)).toMatchObject({ active: false });
    await expect(client.refreshTokenGrant(config, tokens.refresh_token!)).rejects.toMatchObject({ error: 'invalid_grant' });
    const viewer = await t.gql('{ viewer { id } }', {}, flow.accessToken);
    expect(viewer.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    // The next authorization in this browser asks for a sign-in again.
    const again = await openAuthorization(t, browser, (await authorizationRequest(config)).url);
    expect(again.uid).toBeTruthy();
  });

  it('revokes an access token at the application’s request', async () => {
    const tenant = await createTenant(t);
    const user = await addUser(t, tenant);
    const app = await application(t, tenant.adminToken, { confidential: true });
    const config = await relyingParty(t, app);
    const flow = await signInThroughApp(t, new Browser(), config, () => signIn(t, user.userPrincipalName, user.password));
    const tokens = await redeem(config, flow.callback, flow.request);
    await client.tokenRevocation(config, tokens.access_token);
    expect(await client.tokenIntrospection(config, tokens.access_token)).toMatchObject({ active: false });
    await expect(client.fetchUserInfo(config, tokens.access_token, user.userId)).rejects.toThrow();
  });

  it('ends every token of a user an admin disables', async () => {
    const tenant = await createTenant(t);
    const user = await addUser(t, tenant);
    const app = await application(t, tenant.adminToken, { confidential: true });
    const config = await relyingParty(t, app);
    const flow = await signInThroughApp(t, new Browser(), config, () => signIn(t, user.userPrincipalName, user.password));
    const tokens = await redeem(config, flow.callback, flow.request);
    const disabled = await t.gql(
      'mutation($i: UpdateUserInput!) { updateUser(input: $i) { __typename } }',
      { i: { id: user.userId, disabled: true } },
      tenant.adminToken,
    );
    expect(disabled.data?.updateUser?.__typename).toBe('User');
    expect(await client.tokenIntrospection(config, tokens.access_token)).toMatchObject({ active: false });
    await expect(client.refreshTokenGrant(config, tokens.refresh_token!)).rejects.toMatchObject({ error: 'invalid_grant' });
  });

  it('refuses a reused code, and revokes what the first redemption issued', async () => {
    const tenant = await createTenant(t);
    const user = await addUser(t, tenant);
    const app = await application(t, tenant.adminToken, { confidential: true });
    const config = await relyingParty(t, app);
    const flow = await signInThroughApp(t, new Browser(), config, () => signIn(t, user.userPrincipalName, user.password));
    const tokens = await redeem(config, flow.callback, flow.request);
    // Attack: an authorization code intercepted (history, logs, a referrer) and redeemed again.
    await expect(redeem(config, flow.callback, flow.request)).rejects.toMatchObject({ error: 'invalid_grant' });
    expect(await client.tokenIntrospection(config, tokens.access_token)).toMatchObject({ active: false });
  });

  it('refuses a redirect URI the application did not register, without redirecting to it', async () => {
    const tenant = await createTenant(t);
    const app = await application(t, tenant.adminToken);
    const config = await relyingParty(t, app);
    // Attack: an authorization request that would send the code to the attacker's site.
    const request = await authorizationRequest(config, { redirect_uri: 'https://evil.example/callback' });
    const answer = await new Browser().fetch(request.url);
    expect(answer.status).toBe(400);
    expect(answer.headers.get('location')).toBeNull();
    const body = await answer.text();
    expect(body).toContain('redirect_uri');
    expect(body).not.toMatch(/<script/i);
  });

  it('refuses a public application’s authorization request without PKCE', async () => {
    const tenant = await createTenant(t);
    const app = await application(t, tenant.adminToken);
    const config = await relyingParty(t, app);
    // Attack: a stolen code redeemed by another app on the device (RFC 7636's threat); PKCE is mandatory.
    const url = client.buildAuthorizationUrl(config, { redirect_uri: CALLBACK, scope: 'openid', state: client.randomState() });
    const answer = await new Browser().fetch(url);
    const location = new URL(answer.headers.get('location')!);
    expect(location.searchParams.get('error')).toBe('invalid_request');
    expect(location.searchParams.get('error_description')).toMatch(/PKCE/i);
  });

  it('asks for a fresh sign-in on prompt=login and refuses the old session for it', async () => {
    const tenant = await createTenant(t);
    const user = await addUser(t, tenant);
    const app = await application(t, tenant.adminToken, { confidential: true });
    const config = await relyingParty(t, app);
    const browser = new Browser();
    // The first sign-in happened a minute before the application asks for a fresh one.
    t.clock.advance(-60);
    const first = await signInThroughApp(t, browser, config, () => signIn(t, user.userPrincipalName, user.password));
    await redeem(config, first.callback, first.request);
    // The provider session lets the next authorization through without the page...
    const silent = await authorizationRequest(config);
    expect((await browser.navigate(silent.url, CALLBACK)).url.searchParams.get('code')).toBeTruthy();
    // ...unless the application asks for a sign-in now.
    const fresh = await authorizationRequest(config, { prompt: 'login' });
    const opened = await openAuthorization(t, browser, fresh.url);
    expect(opened.uid).toBeTruthy();
    const refused = await postLogin(t, browser, opened.uid!, first.accessToken);
    expect(refused).toMatchObject({ status: 401, body: { code: 'FRESH_SIGN_IN_REQUIRED' } });
    // The test clock stands still while real time (the provider's) runs on: bring it up to now.
    t.clock.advance((Date.now() - t.clock.now().getTime()) / 1000 + 1);
    const accepted = await postLogin(t, browser, opened.uid!, await signIn(t, user.userPrincipalName, user.password));
    expect(accepted.status).toBe(200);
    const callback = await browser.navigate(accepted.body.redirectTo!, CALLBACK);
    const tokens = await redeem(config, callback.url, fresh);
    expect(tokens.claims()!.auth_time).toBeGreaterThan(iatOf(first.accessToken));
  });

  it('shows a third-party application a consent page, and signs in once allowed', async () => {
    const tenant = await createTenant(t);
    const user = await addUser(t, tenant);
    const app = await application(t, tenant.adminToken, { confidential: true, firstParty: false, name: 'Fabrikam Notes' });
    const config = await relyingParty(t, app);
    const browser = new Browser();
    const request = await authorizationRequest(config);
    const opened = await openAuthorization(t, browser, request.url);
    const login = await postLogin(t, browser, opened.uid!, await signIn(t, user.userPrincipalName, user.password));
    const consent = await browser.navigate(login.body.redirectTo!, CALLBACK);
    expect(consent.response!.status).toBe(200);
    expect(consent.response!.headers.get('content-security-policy')).toContain("default-src 'none'");
    const page = await consent.response!.text();
    expect(page).toContain('Allow Fabrikam Notes?');
    expect(page).not.toMatch(/<script|style=/i);
    const allow = /<form method="post" action="([^"]+\/consent)"/.exec(page)![1]!;
    const allowed = await browser.fetch(new URL(allow, t.url), { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: '' });
    expect(allowed.status).toBe(303);
    const callback = await browser.navigate(new URL(allowed.headers.get('location')!, t.url), CALLBACK);
    const tokens = await redeem(config, callback.url, request);
    expect(tokens.claims()!.sub).toBe(user.userId);
  });

  it('refuses a sign-in of another tenant’s user, and one that is not JSON', async () => {
    const tenant = await createTenant(t);
    const stranger = await addUser(t, await createTenant(t));
    const app = await application(t, tenant.adminToken);
    const config = await relyingParty(t, app);
    const browser = new Browser();
    const opened = await openAuthorization(t, browser, (await authorizationRequest(config)).url);
    const refused = await postLogin(t, browser, opened.uid!, stranger.token);
    expect(refused).toMatchObject({ status: 403, body: { code: 'WRONG_TENANT' } });
    // Attack: a cross-site form posting a token it holds into this browser's interaction (login CSRF).
    const form = await browser.fetch(`${t.url}/interaction/${opened.uid}/login`, {
      method: 'POST',
      headers: { 'content-type': 'text/plain' },
      body: JSON.stringify({ accessToken: stranger.token }),
    });
    expect(form.status).toBe(415);
    // Without the interaction cookie (another browser) the interaction is not found.
    const elsewhere = await postLogin(t, new Browser(), opened.uid!, stranger.token);
    expect(elsewhere).toMatchObject({ status: 400, body: { code: 'INTERACTION_EXPIRED' } });
  });
});
