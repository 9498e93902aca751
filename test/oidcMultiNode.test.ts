import { createRemoteJWKSet, jwtVerify } from 'jose';
import * as client from 'openid-client';
import { describe, expect, it } from 'vitest';
import { createTenant } from './harness.js';
import { CALLBACK, application, authorizationRequest, phoneSignIn, postLogin, redeem, relyingParty } from './oidcFlow.js';
import { phoneUser, sharedServices, twoNodesPerBlock } from './signInFlow.js';
import { CookieBrowser as Browser } from './support/cookieBrowser.js';

// Several API nodes behind one PUBLIC_URL share every provider record through Postgres: an
// authorization begun on one node (its interaction, cookies, code) finishes on the other.

describe.runIf(sharedServices)('OpenID Connect on several nodes', () => {
  const [a, b] = twoNodesPerBlock();

  /** The same request sent to node B instead of node A (as a load balancer may). */
  const onB = (url: string | URL) => new URL(new URL(url).pathname + new URL(url).search, b.url);

  it('begins the authorization on one node, signs in and redeems the code on the other', async () => {
    const tenant = await createTenant(a);
    const { user, phone } = await phoneUser(a, tenant);
    const app = await application(a, tenant.adminToken, { confidential: true });
    const configA = await relyingParty(a, app);
    // The application's token requests reach node B.
    const metadata = JSON.parse(JSON.stringify(configA.serverMetadata())) as client.ServerMetadata;
    const configB = new client.Configuration(
      { ...metadata, token_endpoint: onB(metadata.token_endpoint!).href, introspection_endpoint: onB(metadata.introspection_endpoint!).href },
      app.clientId,
      undefined,
      client.ClientSecretBasic(app.clientSecret!),
    );
    client.allowInsecureRequests(configB);

    const browser = new Browser();
    const request = await authorizationRequest(configA);
    const toInteraction = await browser.fetch(request.url);
    expect(toInteraction.status).toBe(303);
    const interaction = new URL(toInteraction.headers.get('location')!, a.url);
    // The interaction cookie is node A's origin's; node B reads the same record and cookie keys.
    const page = await browser.fetch(interaction);
    const uid = new URL(page.headers.get('location')!, a.url).searchParams.get('interaction')!;
    const token = await phoneSignIn(b, user.userPrincipalName, phone);
    const login = await postLogin(a, browser, uid, token);
    expect(login.status).toBe(200);
    const back = await browser.navigate(login.body.redirectTo!, CALLBACK);
    expect(back.url.searchParams.get('code')).toBeTruthy();

    const tokens = await redeem(configB, back.url, request);
    const { payload } = await jwtVerify(tokens.id_token!, createRemoteJWKSet(new URL(`${b.url}/.well-known/jwks.json`)), { issuer: a.server.issuer, audience: app.clientId });
    expect(payload).toMatchObject({ sub: user.userId, nonce: request.nonce, amr: ['mfa', 'pop', 'pin'] });
    expect(await client.tokenIntrospection(configB, tokens.access_token)).toMatchObject({ active: true });
    // Signing out on node A ends the tokens node B answers for.
    await a.gql('mutation { signOut }', {}, token);
    expect(await client.tokenIntrospection(configB, tokens.access_token)).toMatchObject({ active: false });
  });
});
