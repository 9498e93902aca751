import { eq } from 'drizzle-orm';
import { users } from '../db/schema.js';
import { mfaRegistrationRequired } from '../domain/adminMfa.js';
import { constantTimeEqual } from '../domain/secrets.js';
import type { App } from './app.js';
import { type DeviceAuth, authenticateDevice } from './devices.js';
import { endOidcSessionsOf } from './oidc/sessions.js';
import { InvalidTokenError, NotAnAccessTokenError } from './tokens.js';
import { runUseCase } from './useCase.js';

/** Who is calling, decided once per HTTP request or WebSocket connection. */
export type Auth =
  | { kind: 'anonymous' }
  | { kind: 'operator' }
  | UserAuth
  | DeviceAuth;

/**
 * A signed-in user; `expiresAt` is their access token's, when a socket opened with it is closed.
 * `registrationRequired`: an admin without a second factor, who may only register one.
 */
export type UserAuth = {
  kind: 'user';
  userId: string;
  tenantId: string;
  sessionId: string;
  isAdmin: boolean;
  amr: string[];
  expiresAt: Date;
  registrationRequired: boolean;
};

export class AuthenticationError extends Error {}

/**
 * Reads an Authorization value: `Bearer <operator token>`, `Bearer <access token>` or
 * `Device <device assertion>`. A present but invalid credential is an error, never anonymous.
 * `spendAssertion: 'later'`: a device assertion's jti is left to the request (see devices.ts).
 */
export async function resolveAuth(app: App, authorization: string | undefined | null, spendAssertion: 'now' | 'later' = 'now'): Promise<Auth> {
  if (!authorization) return { kind: 'anonymous' };
  const match = /^(Bearer|Device)\s+(\S+)$/i.exec(authorization.trim());
  if (!match) throw new AuthenticationError('The Authorization value must be "Bearer <token>" or "Device <device assertion>".');
  const scheme = match[1]!.toLowerCase();
  const credential = match[2]!;
  // Each refusal fits its credential: a phone re-signs or re-registers, a person signs in again.
  if (scheme === 'device') {
    try {
      return await authenticateDevice(app, credential, spendAssertion);
    } catch (error) {
      if (error instanceof InvalidTokenError) throw new AuthenticationError(`Device not authenticated: ${error.message}.`);
      throw error;
    }
  }
  const operatorToken = app.config.operatorToken;
  if (operatorToken !== undefined && constantTimeEqual(credential, operatorToken)) return { kind: 'operator' };
  try {
    const claims = await app.tokens.verify(credential);
    const [user] = await app.db
      .select({ isAdmin: users.isAdmin, disabled: users.disabled, tenantId: users.tenantId })
      .from(users)
      .where(eq(users.id, claims.sub));
    if (!user || user.disabled || user.tenantId !== claims.tid) throw new InvalidTokenError('the account of this token is disabled or gone');
    return {
      kind: 'user',
      userId: claims.sub,
      tenantId: claims.tid,
      sessionId: claims.sid,
      isAdmin: user.isAdmin,
      amr: claims.amr,
      expiresAt: new Date(claims.exp * 1000),
      registrationRequired: mfaRegistrationRequired(user.isAdmin, claims.amr),
    };
  } catch (error) {
    if (error instanceof NotAnAccessTokenError) throw new AuthenticationError('The bearer token is neither the operator token nor a valid access token.');
    if (error instanceof InvalidTokenError) throw new AuthenticationError(`Not signed in: ${error.message}. Sign in again.`);
    throw error;
  }
}

/** Ends the caller's session, the OpenID Connect sessions and grants it signed in, and (after commit, on every node) the sockets signed in with it. */
export async function signOut(app: App, auth: UserAuth): Promise<void> {
  await runUseCase(app, async (tx, outbox) => {
    await app.tokens.revoke(auth.sessionId, tx);
    await endOidcSessionsOf(tx, auth.sessionId);
    outbox.sessionRevoked(auth.userId, auth.sessionId);
  });
}
