import { createHash } from 'node:crypto';

/** Rules of the OpenID Connect side: which redirect URIs an application may register, and what a login asserts. */

/** Hosts a development application may reach over plain http (RFC 8252 §7.3, and localhost for convenience). */
const LOOPBACK_HOSTS = new Set(['127.0.0.1', '[::1]', 'localhost']);

/** At most this many redirect URIs per application: enough for every environment, not a dumping ground. */
export const MAX_REDIRECT_URIS = 10;

/**
 * Why a redirect URI may not be registered, or null when it may: absolute https, or http on a
 * loopback host; no fragment (RFC 6749 §3.1.2) and no user name or password in it.
 */
export function redirectUriProblem(uri: string): string | null {
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    return `"${uri}" is not an absolute URL; give one like https://app.example.com/callback.`;
  }
  if (url.hash || uri.includes('#')) return `"${uri}" has a fragment (#...); redirect URIs may not have one.`;
  if (url.username || url.password) return `"${uri}" carries a user name or password; remove them.`;
  if (url.protocol === 'https:') return null;
  if (url.protocol === 'http:' && LOOPBACK_HOSTS.has(url.hostname)) return null;
  if (url.protocol === 'http:') return `"${uri}" uses http on ${url.hostname}; use https (http is allowed only on 127.0.0.1, [::1] or localhost).`;
  return `"${uri}" uses ${url.protocol.replace(/:$/, '')}; use https (or http on a loopback address for development).`;
}

/** The authentication context class a login reaches: a second factor, or one factor only. */
export const ACR_MULTI_FACTOR = 'urn:phone-sign-in:acr:mfa';
export const ACR_SINGLE_FACTOR = 'urn:phone-sign-in:acr:sfa';
export const ACR_VALUES = [ACR_MULTI_FACTOR, ACR_SINGLE_FACTOR];

/** RFC 8176: `mfa` is in the amr of every sign-in with two factors (phone sign-in, password + push). */
export const acrFor = (amr: readonly string[]) => (amr.includes('mfa') ? ACR_MULTI_FACTOR : ACR_SINGLE_FACTOR);

/**
 * Seconds a sign-in may precede the authorization request that asked for a fresh one
 * (prompt=login or max_age) and still count: clocks of several nodes differ by a little.
 */
export const FRESH_LOGIN_TOLERANCE_S = 5;

/**
 * Whether a sign-in made at `signedInAt` (epoch seconds) answers an authorization request made at
 * `requestedAt`: any sign-in does, unless the request asked for a fresh one (prompt=login,
 * max_age), which only a sign-in made after the request (within the tolerance) satisfies.
 */
export function loginSatisfies(reasons: readonly string[], signedInAt: number, requestedAt: number): boolean {
  const freshAsked = reasons.includes('login_prompt') || reasons.includes('max_age');
  return !freshAsked || signedInAt >= requestedAt - FRESH_LOGIN_TOLERANCE_S;
}

/**
 * Client secrets are stored as SHA-256 digests: they are 256 random bits, so a fast hash cannot be
 * reversed by guessing, and the check stays one hash per token request.
 */
export const clientSecretDigest = (secret: string) => createHash('sha256').update(secret).digest('base64url');
