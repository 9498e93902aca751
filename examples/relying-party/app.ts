// A minimal web application that signs its users in through the phone sign-in service with
// OpenID Connect (openid-client). Run it beside the service: see README.md in this folder.
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import * as oidc from 'openid-client';

const { ISSUER = 'http://localhost:4000', CLIENT_ID, CLIENT_SECRET, PORT = '3000' } = process.env;
if (!CLIENT_ID || !CLIENT_SECRET) throw new Error('Set CLIENT_ID and CLIENT_SECRET (from registerApplication).');
const base = `http://localhost:${PORT}`;
const issuer = new URL(ISSUER);
const config = await oidc.discovery(issuer, CLIENT_ID, undefined, oidc.ClientSecretBasic(CLIENT_SECRET), {
  // Development only: the service on plain http at localhost.
  execute: issuer.protocol === 'http:' ? [oidc.allowInsecureRequests] : [],
});

/** Per-browser state, kept in memory under a random cookie (a real application uses its session store). */
const sessions = new Map<string, { verifier?: string; state?: string; nonce?: string; idToken?: string; claims?: oidc.IDToken; name?: string }>();

createServer(async (req, res) => {
  const url = new URL(req.url ?? '/', base);
  const sid = /sid=([\w-]+)/.exec(req.headers.cookie ?? '')?.[1] ?? randomBytes(16).toString('base64url');
  const session = sessions.get(sid) ?? {};
  sessions.set(sid, session);
  res.setHeader('set-cookie', `sid=${sid}; HttpOnly; SameSite=Lax; Path=/`);
  const redirect = (to: URL | string) => res.writeHead(302, { location: String(to) }).end();
  try {
    if (url.pathname === '/login') {
      session.verifier = oidc.randomPKCECodeVerifier();
      session.state = oidc.randomState();
      session.nonce = oidc.randomNonce();
      return redirect(oidc.buildAuthorizationUrl(config, {
        redirect_uri: `${base}/callback`,
        scope: 'openid profile',
        code_challenge: await oidc.calculatePKCECodeChallenge(session.verifier),
        code_challenge_method: 'S256',
        state: session.state,
        nonce: session.nonce,
      }));
    }
    if (url.pathname === '/callback') {
      const tokens = await oidc.authorizationCodeGrant(config, url, { pkceCodeVerifier: session.verifier, expectedState: session.state, expectedNonce: session.nonce });
      const claims = tokens.claims()!;
      // Profile claims (name, user name) come from userinfo; the ID token says who and how.
      const profile = await oidc.fetchUserInfo(config, tokens.access_token, claims.sub);
      Object.assign(session, { idToken: tokens.id_token, claims, name: profile.preferred_username });
      return redirect('/');
    }
    if (url.pathname === '/logout' && session.idToken) {
      const idToken = session.idToken;
      sessions.delete(sid);
      return redirect(oidc.buildEndSessionUrl(config, { id_token_hint: idToken, post_logout_redirect_uri: `${base}/` }));
    }
    const escape = (text: string) => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
    const who = session.claims
      ? `<p>Signed in as ${escape(String(session.name ?? session.claims.sub))} (amr ${escape(JSON.stringify(session.claims.amr))}).</p><p><a href="/logout">Sign out</a></p>`
      : '<p><a href="/login">Sign in</a></p>';
    res.writeHead(200, { 'content-type': 'text/html' }).end(`<!doctype html><title>Example application</title><h1>Example application</h1>${who}`);
  } catch (error) {
    res.writeHead(400, { 'content-type': 'text/plain' }).end(`Sign-in failed: ${(error as Error).message}`);
  }
}).listen(Number(PORT), () => console.log(`example application at ${base}`));
