import { eq } from 'drizzle-orm';
import { tenantDomains } from '../db/schema.js';
import { domainOf } from '../domain/names.js';
import type { App } from './app.js';

export interface HomeRealm {
  /** Where a federated user signs in: the domain's identity provider with the user name as login_hint; null for managed users. */
  signInUrl: string | null;
}

/**
 * Home-realm discovery: whether a user name's domain is federated, from the name alone, so the
 * sign-in page sends a federated user to their identity provider before any password is typed
 * here. It tells only what the domain is (public DNS knowledge), never whether the user exists.
 */
export async function homeRealm(app: App, userPrincipalName: string): Promise<HomeRealm> {
  const [domain] = await app.db
    .select({ signInUrl: tenantDomains.federationSignInUrl })
    .from(tenantDomains)
    .where(eq(tenantDomains.domain, domainOf(userPrincipalName)));
  if (!domain?.signInUrl) return { signInUrl: null };
  const url = new URL(domain.signInUrl);
  url.searchParams.set('login_hint', userPrincipalName);
  return { signInUrl: url.href };
}
