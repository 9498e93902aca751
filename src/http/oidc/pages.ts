import type { KoaContextWithOIDC } from 'oidc-provider';

/**
 * The OpenID Connect pages rendered on the server: consent, sign-out confirmation, signed out and
 * errors. Plain HTML forms, no script and no inline style, so the strictest CSP holds.
 */

/** No script, no style, no framing: these pages are forms and text only. */
export const PAGE_CSP = "default-src 'none'; base-uri 'none'; frame-ancestors 'none'";

const escapeHtml = (value: string) =>
  value.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

/** A whole page: a title, a heading and the body, in the language of the rest of the service. */
export function page(title: string, body: string): string {
  return `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>${escapeHtml(title)}</title></head>
<body><main><h1>${escapeHtml(title)}</h1>
${body}
</main></body>
</html>`;
}

const SCOPE_SENTENCES: Record<string, string> = {
  openid: 'Know who you are (your user id).',
  profile: 'See your name and user name.',
  offline_access: 'Stay signed in when you are not using it.',
};

/** What a third-party application asks for, with buttons to allow or deny it. */
export function consentPage(o: { uid: string; applicationName: string; scopes: string[]; userPrincipalName: string }): string {
  const items = o.scopes.map((scope) => `<li>${escapeHtml(SCOPE_SENTENCES[scope] ?? scope)}</li>`).join('');
  const action = (what: string) => `/interaction/${encodeURIComponent(o.uid)}/${what}`;
  return page(
    `Allow ${o.applicationName}?`,
    `<p>${escapeHtml(o.applicationName)} wants to sign you in as ${escapeHtml(o.userPrincipalName)} and:</p>
<ul>${items}</ul>
<form method="post" action="${action('consent')}"><button type="submit">Allow</button></form>
<form method="post" action="${action('abort')}"><button type="submit">Deny</button></form>`,
  );
}

/** RP-initiated logout asks before signing out (a link alone must not sign a person out). */
export async function logoutPage(ctx: KoaContextWithOIDC, form: string): Promise<void> {
  ctx.set('content-security-policy', PAGE_CSP);
  ctx.body = page(
    'Sign out?',
    `${form}
<button type="submit" form="op.logoutForm" name="logout" value="yes">Sign out</button>
<button type="submit" form="op.logoutForm">Stay signed in</button>`,
  );
}

export async function loggedOutPage(ctx: KoaContextWithOIDC): Promise<void> {
  ctx.set('content-security-policy', PAGE_CSP);
  const name = ctx.oidc.client?.clientName;
  ctx.body = page('Signed out', `<p role="status">You are signed out${name ? ` of ${escapeHtml(name)}` : ''}.</p>`);
}

/** An authorization request the provider refused before it could redirect back to the application. */
export async function errorPage(ctx: KoaContextWithOIDC, out: { error: string; error_description?: string }): Promise<void> {
  ctx.type = 'html';
  ctx.set('content-security-policy', PAGE_CSP);
  ctx.body = page(
    'The sign-in request was refused',
    `<p role="alert">${escapeHtml(out.error_description ?? out.error)}</p>
<p>Error code: <code>${escapeHtml(out.error)}</code>. Go back to the application and try again; if this persists, tell its developer.</p>`,
  );
}
