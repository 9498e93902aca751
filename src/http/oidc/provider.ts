import { createHmac, timingSafeEqual } from 'node:crypto';
import { eq } from 'drizzle-orm';
import Provider, { type Configuration, type KoaContextWithOIDC } from 'oidc-provider';
import { users } from '../../db/schema.js';
import { ACR_VALUES, clientSecretDigest } from '../../domain/oidc.js';
import type { App } from '../../services/app.js';
import { drizzleAdapter } from '../../services/oidc/adapter.js';
import { endSignInSessionOf, linkSignInSession } from '../../services/oidc/sessions.js';
import { runUseCase } from '../../services/useCase.js';
import { errorPage, logoutPage, loggedOutPage } from './pages.js';
import { GRAPHQL_PATH } from '../yoga.js';

/** Whether the calling application is the one the token was issued to (introspection and revocation). */
const ownTokenOnly = async (_ctx: unknown, client: { clientId: string }, token: { clientId?: string }) => token.clientId === client.clientId;

/** Where the provider answers; standard names, beside the service's own paths. */
export const OIDC_ROUTES = {
  authorization: '/authorize',
  token: '/token',
  userinfo: '/userinfo',
  introspection: '/token/introspect',
  revocation: '/token/revoke',
  end_session: '/logout',
  jwks: '/.well-known/jwks.json',
  pushed_authorization_request: '/par',
} as const;

/** Every path prefix the provider owns (its routes, the resume path, discovery). */
export const OIDC_PATHS = [...Object.values(OIDC_ROUTES).filter((p) => p !== OIDC_ROUTES.jwks), '/auth/', '/.well-known/openid-configuration'];

/** The login interaction: the page the provider sends the browser to when it needs a sign-in or consent. */
export const INTERACTION_PATH = '/interaction';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Lifetimes in seconds. Codes are single-use and short (RFC 6749 §4.1.2 recommends ≤ 10 min). */
const ttl = (app: App) => ({
  AuthorizationCode: 60,
  // Access tokens of applications live as long as the service's own.
  AccessToken: app.config.accessTokenTtlSeconds,
  // A provider session lasts as long as a sign-in session; signing out of either ends both sooner.
  Session: app.config.accessTokenTtlSeconds,
  Interaction: 10 * 60,
  IdToken: 60 * 60,
  RefreshToken: 14 * 24 * 60 * 60,
  Grant: 14 * 24 * 60 * 60,
});

/** Cookie signing keys every node derives alike from the shared signing keys, newest first. */
const cookieKeys = (app: App) => app.tokens.privateJwks().map((jwk) => createHmac('sha256', String(jwk.d)).update('oidc-provider cookies').digest('base64url'));

/** The user a session, grant or token is for, with the claims an application may read. */
async function findAccount(app: App, _ctx: KoaContextWithOIDC, sub: string) {
  if (!UUID.test(sub)) return undefined;
  const [user] = await app.db
    .select({ id: users.id, upn: users.userPrincipalName, name: users.displayName, tenantId: users.tenantId, disabled: users.disabled })
    .from(users)
    .where(eq(users.id, sub));
  if (!user || user.disabled) return undefined;
  return {
    accountId: user.id,
    claims: () => ({ sub: user.id, name: user.name, preferred_username: user.upn, tid: user.tenantId }),
  };
}

/**
 * The grant of this application in this provider session. Right after a login it first links the
 * provider session to the sign-in session that made it. First-party applications are granted what
 * they ask for without a consent page; others get one (see interactions.ts).
 */
async function loadExistingGrant(app: App, ctx: KoaContextWithOIDC) {
  const { session, client, result } = ctx.oidc;
  const signInSessionId = (result as { signInSessionId?: unknown } | undefined)?.signInSessionId;
  if (typeof signInSessionId === 'string' && session?.uid) await linkSignInSession(app.db, session.uid, signInSessionId);
  const grantId = (result?.consent as { grantId?: string } | undefined)?.grantId ?? session!.grantIdFor(client!.clientId);
  if (grantId) return ctx.oidc.provider.Grant.find(grantId);
  if (client!.metadata().first_party !== true) return undefined;
  const grant = new ctx.oidc.provider.Grant({ clientId: client!.clientId, accountId: session!.accountId! });
  grant.addOIDCScope([...(ctx.oidc.requestParamScopes ?? [])].join(' '));
  await grant.save();
  return grant;
}

/**
 * The certified OpenID Connect provider (oidc-provider) on the service's own issuer, signing ID
 * tokens with the same ES256 keys as the access tokens, storing every record in the database.
 */
export function createOidcProvider(app: App): Provider {
  const configuration: Configuration = {
    adapter: drizzleAdapter(app.db, app.clock),
    jwks: { keys: app.tokens.privateJwks() as NonNullable<Configuration['jwks']>['keys'] },
    cookies: { keys: cookieKeys(app) },
    findAccount: (ctx, sub) => findAccount(app, ctx, sub),
    loadExistingGrant: (ctx) => loadExistingGrant(app, ctx),
    routes: OIDC_ROUTES,
    acrValues: ACR_VALUES,
    // How and when the person signed in, and in which tenant, go into every ID token (scope openid).
    claims: { openid: ['sub', 'acr', 'amr', 'auth_time', 'tid'], profile: ['name', 'preferred_username'], acr: null, amr: null, auth_time: null, sid: null, tid: null },
    scopes: ['openid', 'offline_access', 'profile'],
    responseTypes: ['code'],
    clientAuthMethods: ['client_secret_basic', 'client_secret_post', 'none'],
    enabledJWA: { idTokenSigningAlgValues: ['ES256'], userinfoSigningAlgValues: ['ES256'], introspectionSigningAlgValues: ['ES256'] },
    clientDefaults: { id_token_signed_response_alg: 'ES256', grant_types: ['authorization_code', 'refresh_token'], response_types: ['code'] },
    extraClientMetadata: { properties: ['first_party', 'tenant_id'] },
    features: {
      devInteractions: { enabled: false },
      // Only the application a token was issued to may introspect or revoke it: the provider's
      // default lets any confidential client ask about any token, another tenant's included.
      introspection: { enabled: true, allowedPolicy: ownTokenOnly },
      revocation: { enabled: true, allowedPolicy: ownTokenOnly },
      userinfo: { enabled: true },
      rpInitiatedLogout: { enabled: true, logoutSource: logoutPage, postLogoutSuccessSource: loggedOutPage },
    },
    interactions: { url: (_ctx, interaction) => `${INTERACTION_PATH}/${interaction.uid}` },
    // Every application may keep a user signed in: a refresh token whenever the client may use them.
    issueRefreshToken: async (_ctx, client) => client.grantTypeAllowed('refresh_token'),
    // Each refresh token is used once: a stolen one that is replayed is refused (RFC 9700 §4.14.2).
    rotateRefreshToken: true,
    pkce: { required: (_ctx, client) => client.clientAuthMethod === 'none' },
    ttl: ttl(app),
    renderError: errorPage,
    // Non-standard: where the GraphQL API is, and the audience of its access tokens (kept from before the provider).
    discovery: { graphql_endpoint: `${app.issuer}${GRAPHQL_PATH}`, access_token_audience: app.issuer },
  };
  const provider = new Provider(app.issuer, configuration);
  // Behind TRUSTED_PROXIES the public URL is https while the hop to this node may be http; without
  // proxies, X-Forwarded-* headers come from clients and are not believed.
  provider.proxy = app.config.trustedProxies.length > 0;
  // Secrets are stored as digests: compare the digest of what the client sent. The maintainer's
  // suggested hook for one-way stored secrets (panva/node-oidc-provider#631).
  provider.Client.prototype.compareClientSecret = function compare(this: { clientSecret?: string }, actual: string) {
    const stored = Buffer.from(this.clientSecret ?? '');
    const given = Buffer.from(clientSecretDigest(actual));
    return stored.length === given.length && timingSafeEqual(stored, given);
  };
  // RP-initiated logout ends the sign-in session that signed the provider session in, on every node.
  provider.use(async (ctx, next) => {
    await next();
    const { oidc } = ctx as KoaContextWithOIDC;
    if (oidc?.route !== 'end_session_confirm' || ctx.status !== 303 || !oidc.params?.logout || !oidc.session?.uid) return;
    const uid = oidc.session.uid;
    await runUseCase(app, async (tx, outbox) => {
      const ended = await endSignInSessionOf(tx, app.clock, uid);
      if (ended) outbox.sessionRevoked(ended.userId, ended.sessionId);
    });
  });
  provider.on('server_error', (_ctx, error) => app.logger.error({ err: error }, 'OpenID Connect provider error'));
  return provider;
}
