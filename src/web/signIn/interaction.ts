import { ApiError } from '../shared/api.js';

/**
 * This page is also the OpenID Connect login interaction (`/?interaction=<uid>`): the session it
 * gets is handed to the authorization server, which sends the browser on to the application.
 */
export async function handOff(uid: string, accessToken: string): Promise<void> {
  const response = await fetch(`/interaction/${encodeURIComponent(uid)}/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json' },
    body: JSON.stringify({ accessToken }),
    credentials: 'same-origin',
  }).catch(() => {
    throw new ApiError('The service cannot be reached. Check your connection and try again.', 'NETWORK');
  });
  const body = (await response.json().catch(() => ({}))) as { redirectTo?: string; error_description?: string; message?: string };
  if (!response.ok || !body.redirectTo) {
    throw new ApiError(body.error_description ?? body.message ?? 'This sign-in link has expired. Go back to the application and start again.', 'INTERACTION');
  }
  location.assign(body.redirectTo);
}

/** A same-origin path to go to after signing in (`?next=/security-info`), never another site. */
export function landing(next: string | null): string | null {
  if (!next || !next.startsWith('/') || next.startsWith('//') || next.startsWith('/\\')) return null;
  return next;
}
