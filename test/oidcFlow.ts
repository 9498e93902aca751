import * as client from 'openid-client';
import type { AuthenticatorKeys } from '../src/sdk/authenticator.js';
import type { TestServer } from './harness.js';
import { complete, onlyChallenge, respond, started } from './signInFlow.js';
import { CookieBrowser as Browser } from './support/cookieBrowser.js';

/**
 * A relying party (openid-client) and a browser against the running service: register an
 * application, begin an authorization, sign in as the hosted page does, and come back with the code.
 */

/** The application's callback; nothing listens there: the browser stops before it. */
export const CALLBACK = 'http://127.0.0.1:9/callback';
export const AFTER_LOGOUT = 'http://127.0.0.1:9/signed-out';

export interface RegisterInput {
  name?: string;
  redirectUris?: string[];
  postLogoutRedirectUris?: string[];
  confidential?: boolean;
  firstParty?: boolean;
  clientSecretMethod?: 'CLIENT_SECRET_BASIC' | 'CLIENT_SECRET_POST';
}

export const registerApp = (t: TestServer, adminToken: string, input: RegisterInput = {}) =>
  t.gql(
    `mutation($i: RegisterApplicationInput!) { registerApplication(input: $i) { __typename
      ... on RegisteredApplication { clientId clientSecret application { name confidential firstParty tokenEndpointAuthMethod redirectUris } }
      ... on Error { code message } ... on InputValidationError { issues { path message } } } }`,
    {
      i: {
        name: 'Contoso Mail',
        redirectUris: [CALLBACK],
        postLogoutRedirectUris: [AFTER_LOGOUT],
        confidential: false,
        firstParty: true,
        ...input,
      },
    },
    adminToken,
  );

/** Registers an application (throwing on refusal) and returns its credentials. */
export async function application(t: TestServer, adminToken: string, input: RegisterInput = {}) {
  const registered = (await registerApp(t, adminToken, input)).data?.registerApplication;
  if (registered?.__typename !== 'RegisteredApplication') throw new Error(`registerApplication failed: ${JSON.stringify(registered)}`);
  return registered as { clientId: string; clientSecret: string | null };
}

/** The relying party's configuration from discovery at the issuer (http here, as in development). */
export async function relyingParty(t: TestServer, app: { clientId: string; clientSecret: string | null }, method: 'basic' | 'post' = 'basic') {
  const auth = !app.clientSecret ? client.None() : method === 'post' ? client.ClientSecretPost(app.clientSecret) : client.ClientSecretBasic(app.clientSecret);
  return client.discovery(new URL(t.server.issuer), app.clientId, undefined, auth, { execute: [client.allowInsecureRequests] });
}

export interface Authorization {
  url: URL;
  state: string;
  nonce: string;
  verifier: string;
}

/** The authorization request an application sends the browser to: code flow with PKCE (S256), state and nonce. */
export async function authorizationRequest(config: client.Configuration, extra: Record<string, string> = {}): Promise<Authorization> {
  const verifier = client.randomPKCECodeVerifier();
  const state = client.randomState();
  const nonce = client.randomNonce();
  const url = client.buildAuthorizationUrl(config, {
    redirect_uri: CALLBACK,
    scope: 'openid profile offline_access',
    code_challenge: await client.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    state,
    nonce,
    ...extra,
  });
  return { url, state, nonce, verifier };
}

/** What the hosted page does for a phone user: beginSignIn, the phone approves the number with a PIN, completeSignIn. */
export async function phoneSignIn(t: TestServer, userPrincipalName: string, phone: AuthenticatorKeys): Promise<string> {
  const attempt = await started(t, userPrincipalName, 'Contoso Mail');
  await respond(t, phone, await onlyChallenge(t, phone), { number: attempt.number });
  const done = await complete(t, attempt);
  const token = done.data?.completeSignIn?.accessToken;
  if (!token) throw new Error(`completeSignIn failed: ${JSON.stringify(done)}`);
  return token;
}

/** The page's POST to the login interaction, from the browser that holds the interaction cookie. */
export async function postLogin(t: TestServer, browser: Browser, uid: string, accessToken: string) {
  const response = await browser.fetch(`${t.url}/interaction/${uid}/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ accessToken }),
  });
  return { status: response.status, body: (await response.json()) as { redirectTo?: string; code?: string; message?: string } };
}

/** Opens the authorization URL; returns the interaction uid and where the browser was sent (the sign-in page). */
export async function openAuthorization(t: TestServer, browser: Browser, url: URL) {
  const landed = await browser.navigate(url, CALLBACK);
  const page = landed.url;
  const uid = page.searchParams.get('interaction');
  return { page, uid, response: landed.response };
}

/**
 * A whole sign-in through the application: authorization request, the hosted page (the access
 * token `signIn` gives), then back to the callback. Returns the callback URL and the request.
 */
export async function signInThroughApp(t: TestServer, browser: Browser, config: client.Configuration, signIn: () => Promise<string>, extra: Record<string, string> = {}) {
  const request = await authorizationRequest(config, extra);
  const opened = await openAuthorization(t, browser, request.url);
  if (!opened.uid) throw new Error(`expected the sign-in page, got ${opened.page.href}`);
  const accessToken = await signIn();
  const login = await postLogin(t, browser, opened.uid, accessToken);
  if (!login.body.redirectTo) throw new Error(`login refused: ${JSON.stringify(login)}`);
  const callback = await browser.navigate(login.body.redirectTo, CALLBACK);
  return { request, callback: callback.url, accessToken, uid: opened.uid, signInPage: opened.page };
}

/** The code exchange as the application makes it, checking state, nonce and PKCE. */
export const redeem = (config: client.Configuration, callback: URL, request: Authorization) =>
  client.authorizationCodeGrant(config, callback, { pkceCodeVerifier: request.verifier, expectedState: request.state, expectedNonce: request.nonce, idTokenExpected: true });
