/**
 * The access token of this tab: kept in sessionStorage, so it survives a reload but not the tab,
 * and is never written to a cookie or localStorage shared with other tabs.
 */
const KEY = 'phone-sign-in.session';

export interface Session {
  accessToken: string;
  expiresAt: string;
}

export function currentSession(): Session | null {
  const stored = sessionStorage.getItem(KEY);
  if (!stored) return null;
  const session = JSON.parse(stored) as Session;
  if (Date.parse(session.expiresAt) <= Date.now()) {
    sessionStorage.removeItem(KEY);
    return null;
  }
  return session;
}

export const saveSession = (session: Session) => sessionStorage.setItem(KEY, JSON.stringify(session));
export const clearSession = () => sessionStorage.removeItem(KEY);
