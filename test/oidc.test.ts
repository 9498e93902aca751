import { createRemoteJWKSet, jwtVerify } from 'jose';
import * as client from 'openid-client';
import { describe, expect, it } from 'vitest';
import { createTenant } from './harness.js';
import { CALLBACK, application, phoneSignIn, redeem, relyingParty, signInThroughApp } from './oidcFlow.js';
import { phoneUser, serverPerFile } from './signInFlow.js';
import { Browser } from './support/browser.js';

const t = serverPerFile();

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
    const signedInAt = JSON.parse(Buffer.from(flow.accessToken.split('.')[1]!, 'base64url').toString()).iat;
    expect(payload.auth_time).toBe(signedInAt);

    const info = await client.fetchUserInfo(config, tokens.access_token, user.userId);
    expect(info).toMatchObject({ sub: user.userId, preferred_username: user.userPrincipalName });

    expect(tokens.refresh_token).toBeTruthy();
    const refreshed = await client.refreshTokenGrant(config, tokens.refresh_token!);
    expect(refreshed.refresh_token).toBeTruthy();
    expect(refreshed.refresh_token).not.toBe(tokens.refresh_token);
    // Attack: a refresh token that leaked is replayed after the application used it.
    await expect(client.refreshTokenGrant(config, tokens.refresh_token!)).rejects.toMatchObject({ error: 'invalid_grant' });
  });
});
