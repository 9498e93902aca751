import type { IncomingMessage, ServerResponse } from 'node:http';
import { eq } from 'drizzle-orm';
import Provider, { errors as oidcErrors } from 'oidc-provider';
import { users } from '../../db/schema.js';
import type { App } from '../../services/app.js';
import { LoginRefused, loginWithAccessToken } from '../../services/oidc/login.js';
import { consentPage, page, PAGE_CSP } from './pages.js';

/** The login POST carries one access token: a few KiB at most. */
const MAX_LOGIN_BODY_BYTES = 16 * 1024;

type Interaction = Awaited<ReturnType<Provider['interactionDetails']>>;

const json = (res: ServerResponse, status: number, body: unknown) =>
  void res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' }).end(JSON.stringify(body));

const html = (res: ServerResponse, status: number, body: string) =>
  void res.writeHead(status, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store', 'content-security-policy': PAGE_CSP }).end(body);

const seeOther = (res: ServerResponse, location: string) => void res.writeHead(303, { location, 'cache-control': 'no-store' }).end();

const EXPIRED = 'This sign-in request has expired or was opened in another browser. Go back to the application and start again.';

/** The JSON body of the login POST, or null when it is not JSON or too large. */
async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_LOGIN_BODY_BYTES) return null;
    chunks.push(chunk);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    return null;
  }
}

/** Drains a body the handler does not read (the consent forms carry nothing it needs). */
const discardBody = async (req: IncomingMessage) => {
  for await (const _ of req) void _;
};

/**
 * The login interaction of the OpenID Connect provider, on the service's origin:
 * - `GET /interaction/<uid>`: a sign-in sends the browser to the hosted sign-in page
 *   (`/?interaction=<uid>&login_hint=<name>`); a consent shows the consent page.
 * - `POST /interaction/<uid>/login` with `{ "accessToken": "..." }` (JSON): the page signed the
 *   person in; answers `{ "redirectTo": "..." }`, where the browser goes next, or `{ "code", "message" }`.
 * - `POST /interaction/<uid>/consent` and `/abort`: the consent page's buttons.
 * The interaction cookie the provider set (path /interaction/<uid>, SameSite=Lax) ties each to the
 * browser that began the authorization.
 */
export function interactionRoutes(app: App, provider: Provider) {
  async function details(req: IncomingMessage, res: ServerResponse, uid: string): Promise<Interaction | null> {
    try {
      const interaction = await provider.interactionDetails(req, res);
      return interaction.uid === uid ? interaction : null;
    } catch (error) {
      if (error instanceof oidcErrors.SessionNotFound) return null;
      throw error;
    }
  }

  async function show(req: IncomingMessage, res: ServerResponse, uid: string) {
    const interaction = await details(req, res, uid);
    if (!interaction) return html(res, 400, page('This sign-in request has ended', `<p role="alert">${EXPIRED}</p>`));
    if (interaction.prompt.name === 'login') {
      const target = new URLSearchParams({ interaction: uid });
      const hint = interaction.params.login_hint;
      if (typeof hint === 'string' && hint) target.set('login_hint', hint);
      return seeOther(res, `/?${target}`);
    }
    const client = await provider.Client.find(String(interaction.params.client_id));
    const [user] = await app.db.select({ upn: users.userPrincipalName }).from(users).where(eq(users.id, interaction.session!.accountId));
    const missing = (interaction.prompt.details.missingOIDCScope as string[] | undefined) ?? [];
    html(res, 200, consentPage({ uid, applicationName: client?.clientName ?? 'An application', scopes: missing, userPrincipalName: user?.upn ?? '' }));
  }

  async function login(req: IncomingMessage, res: ServerResponse, uid: string) {
    // A form on another site cannot send JSON without a CORS preflight, which this origin refuses.
    if (!/^application\/json\b/i.test(req.headers['content-type'] ?? '')) {
      await discardBody(req);
      return json(res, 415, { code: 'JSON_REQUIRED', message: 'Send the access token as JSON: {"accessToken": "..."} with content-type application/json.' });
    }
    const body = (await readJson(req)) as { accessToken?: unknown } | null;
    const interaction = await details(req, res, uid);
    if (!interaction) return json(res, 400, { code: 'INTERACTION_EXPIRED', message: EXPIRED });
    const client = await provider.Client.find(String(interaction.params.client_id));
    try {
      const result = await loginWithAccessToken(
        app,
        { prompt: interaction.prompt, iat: interaction.iat, clientTenantId: (client?.metadata().tenant_id as string | undefined) ?? null },
        body?.accessToken,
      );
      const redirectTo = await provider.interactionResult(req, res, { ...result }, { mergeWithLastSubmission: false });
      json(res, 200, { redirectTo });
    } catch (error) {
      if (error instanceof LoginRefused) return json(res, error.status, { code: error.code, message: error.message });
      throw error;
    }
  }

  async function consent(req: IncomingMessage, res: ServerResponse, uid: string, allow: boolean) {
    await discardBody(req);
    const interaction = await details(req, res, uid);
    if (!interaction || interaction.prompt.name !== 'consent') return html(res, 400, page('This sign-in request has ended', `<p role="alert">${EXPIRED}</p>`));
    if (!allow) {
      const denied = await provider.interactionResult(req, res, { error: 'access_denied', error_description: 'The user denied the request.' }, { mergeWithLastSubmission: false });
      return seeOther(res, denied);
    }
    const { Grant } = provider;
    const grant = interaction.grantId
      ? (await Grant.find(interaction.grantId))!
      : new Grant({ accountId: interaction.session!.accountId, clientId: String(interaction.params.client_id) });
    const scopes = interaction.prompt.details.missingOIDCScope as string[] | undefined;
    if (scopes) grant.addOIDCScope(scopes.join(' '));
    const claims = interaction.prompt.details.missingOIDCClaims as string[] | undefined;
    if (claims) grant.addOIDCClaims(claims);
    const grantId = await grant.save();
    seeOther(res, await provider.interactionResult(req, res, { consent: { grantId } }, { mergeWithLastSubmission: true }));
  }

  /** Answers the request if its path is an interaction's; false otherwise. */
  return (req: IncomingMessage, res: ServerResponse): Promise<void> | false => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    const match = /^\/interaction\/([A-Za-z0-9_-]{1,64})(?:\/(login|consent|abort))?$/.exec(path);
    if (!match) return false;
    const [, uid, action] = match as unknown as [string, string, string | undefined];
    if (!action && (req.method === 'GET' || req.method === 'HEAD')) return show(req, res, uid);
    if (req.method !== 'POST' || !action) return Promise.resolve(json(res, 405, { code: 'METHOD_NOT_ALLOWED', message: 'Use GET on the interaction and POST on its login, consent and abort.' }));
    if (action === 'login') return login(req, res, uid);
    return consent(req, res, uid, action === 'consent');
  };
}
