import { eq } from 'drizzle-orm';
import { users } from '../../db/schema.js';
import { mfaRegistrationRequired } from '../../domain/adminMfa.js';
import { acrFor, loginSatisfies } from '../../domain/oidc.js';
import type { App } from '../app.js';
import { InvalidTokenError } from '../tokens.js';

/** A refused login interaction: a stable code, the HTTP status, and a sentence for the person. */
export class LoginRefused extends Error {
  constructor(
    readonly code: 'NOT_SIGNED_IN' | 'MFA_REGISTRATION_REQUIRED' | 'WRONG_TENANT' | 'FRESH_SIGN_IN_REQUIRED' | 'INTERACTION_NOT_LOGIN',
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** What the provider is told after a login: oidc-provider's login result, and which sign-in session made it. */
export interface LoginResult {
  login: { accountId: string; ts: number; amr: string[]; acr: string; remember: boolean };
  /** Read back in loadExistingGrant, once the provider session exists, to link the two sessions. */
  signInSessionId: string;
}

/** The parts of oidc-provider's interaction details a login is checked against. */
export interface LoginInteraction {
  prompt: { name: string; reasons: string[] };
  /** When the authorization request was made (epoch seconds). */
  iat: number;
  /** The tenant that registered the application. */
  clientTenantId: string | null;
}

/**
 * The hosted sign-in page signed the person in and hands over its access token: that sign-in
 * answers the authorization request if the token is valid and its session open, the user enabled,
 * of the tenant that registered the application, not limited to registering a second factor, and
 * fresh enough when the request asked for a fresh sign-in (prompt=login, max_age). `amr` and the
 * time of the sign-in go into the ID token as they are.
 */
export async function loginWithAccessToken(app: App, interaction: LoginInteraction, accessToken: unknown): Promise<LoginResult> {
  if (interaction.prompt.name !== 'login') {
    throw new LoginRefused('INTERACTION_NOT_LOGIN', 409, 'This request does not ask for a sign-in now; reload the page.');
  }
  if (typeof accessToken !== 'string' || accessToken.length === 0) {
    throw new LoginRefused('NOT_SIGNED_IN', 400, 'Send {"accessToken": "..."} with the access token of the sign-in that just completed.');
  }
  let claims: Awaited<ReturnType<App['tokens']['verify']>>;
  try {
    claims = await app.tokens.verify(accessToken);
  } catch (error) {
    if (error instanceof InvalidTokenError) throw new LoginRefused('NOT_SIGNED_IN', 401, `The sign-in was not accepted: ${error.message}. Sign in again.`);
    throw error;
  }
  const [user] = await app.db.select({ disabled: users.disabled, tenantId: users.tenantId, isAdmin: users.isAdmin }).from(users).where(eq(users.id, claims.sub));
  if (!user || user.disabled || user.tenantId !== claims.tid) {
    throw new LoginRefused('NOT_SIGNED_IN', 401, 'This account is disabled or no longer exists. Contact your administrator.');
  }
  if (mfaRegistrationRequired(user.isAdmin, claims.amr)) {
    throw new LoginRefused('MFA_REGISTRATION_REQUIRED', 403, 'Admins need a second factor: add the authenticator app under security info, then sign in again.');
  }
  if (interaction.clientTenantId !== user.tenantId) {
    throw new LoginRefused('WRONG_TENANT', 403, 'This application belongs to another organisation: sign in with an account of that organisation.');
  }
  const signedInAt = claims.iat ?? 0;
  if (!loginSatisfies(interaction.prompt.reasons, signedInAt, interaction.iat)) {
    throw new LoginRefused('FRESH_SIGN_IN_REQUIRED', 401, 'The application asks you to sign in again: enter your user name and sign in.');
  }
  return {
    login: { accountId: claims.sub, ts: signedInAt, amr: claims.amr, acr: acrFor(claims.amr), remember: true },
    signInSessionId: claims.sid,
  };
}
