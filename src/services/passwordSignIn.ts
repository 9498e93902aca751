import { and, eq, isNull, lte, or } from 'drizzle-orm';
import type { Executor } from '../db/client.js';
import { tenantDomains, users } from '../db/schema.js';
import { mfaRegistrationRequired } from '../domain/adminMfa.js';
import { DomainError } from '../domain/errors.js';
import { domainOf } from '../domain/names.js';
import { afterPassword, assessSignIn } from '../domain/risk.js';
import type { RefusalReason, SignInLogReason } from '../domain/signInAttempt.js';
import { isLocked } from '../domain/throttle.js';
import type { App } from './app.js';
import { type SignInContext, type StartedAttempt, startAttempt } from './attempts.js';
import { audit } from './audit.js';
import { UNKNOWN_LOCATION, locateIp } from './geo.js';
import { verifyPassword } from './passwords.js';
import { loadEffectivePolicy, loadTenantSettings } from './policy.js';
import { type SignInRisk, type SignInsEnded, writeSignInLog } from './signInLogs.js';
import { clearedLock, pushVerdict, recordFailure } from './signInProtection.js';
import type { IssuedToken } from './tokens.js';
import { runUseCase } from './useCase.js';
import { raiseRiskForSignIn } from './userRisk.js';

const WRONG_CREDENTIALS = 'The user name or password is incorrect. Check both and try again.';

export type PasswordSignInResult =
  | ({ type: 'SIGNED_IN' } & IssuedToken)
  | ({ type: 'MFA_REQUIRED' } & StartedAttempt)
  | { type: 'FEDERATION_REDIRECT'; signInUrl: string };

/** Why the push a PUSH-mode user needs after the password cannot go out; told only after a correct password. */
const MFA_UNAVAILABLE: Partial<Record<RefusalReason, string>> = {
  LOCKED_OUT: 'Approving sign-ins on your phone is locked for a while after too many failed attempts. Try again later.',
  PUSH_MUTED: 'Requests to your phone are paused because a sign-in was reported as not yours. Contact your administrator.',
  RATE_LIMITED: 'Too many requests were sent to your phone recently. Wait a few minutes and try again.',
  // Not why: whoever holds the password may be the relaying attacker the hold is for (the log and the admin know).
  RISK_HELD_BACK: 'Your phone cannot be asked to approve this sign-in. If you need to sign in now, ask your administrator.',
  PENDING_REQUEST: 'A request is already waiting on your phone: answer it, or wait until it expires and try again.',
};

/**
 * Password sign-in ("use your password instead"). An unknown user, a wrong password and a locked
 * password are answered alike, in like time. Wrong passwords count towards the password lock
 * (the tenant's failureLockoutThreshold, then 60 s doubling to 1 h; apart from the phone sign-in
 * lock), a correct one clears it. A federated domain is sent to its identity provider. A user
 * whose effective policy mode is PUSH gets the number-matching push as a second factor
 * (MfaRequired) on every registered authenticator device — such users cannot hold a phone
 * sign-in credential, so the device key answers it — redeemed with completeSignIn. So does every
 * admin with an authenticator (a second factor is mandatory for admins); an admin with none gets
 * a session that may only register one (Entra's registration interrupt).
 */
export async function signInWithPassword(
  app: App,
  input: { userPrincipalName: string; password: string } & SignInContext,
): Promise<PasswordSignInResult> {
  const now = app.clock.now();
  const [domain] = await app.db
    .select({ tenantId: tenantDomains.tenantId, federationSignInUrl: tenantDomains.federationSignInUrl })
    .from(tenantDomains)
    .where(eq(tenantDomains.domain, domainOf(input.userPrincipalName)));
  const [user] = await app.db
    .select()
    .from(users)
    .where(and(eq(users.userPrincipalName, input.userPrincipalName), domain ? eq(users.tenantId, domain.tenantId) : undefined));
  const located = domain ? await locateIp(app, input.ipAddress) : null;
  const location = located?.label ?? null;
  // Kept on the log rows: a password sign-in's place is history the risk signals of later pushes compare with.
  const place = located?.place ?? null;
  const log = (entry: { method?: 'PASSWORD' | 'PUSH_MFA'; status: 'SUCCESS' | 'FAILURE' | 'INTERRUPTED'; reasonCode?: string; risk?: SignInRisk }, tx: Executor = app.db, ended: SignInsEnded = app.metrics) =>
    writeSignInLog(tx, {
      tenantId: domain!.tenantId,
      userId: user?.id ?? null,
      userPrincipalName: input.userPrincipalName,
      method: entry.method ?? 'PASSWORD',
      status: entry.status,
      reasonCode: entry.reasonCode ?? null,
      appName: input.appName,
      ipAddress: input.ipAddress,
      location,
      place,
      risk: entry.risk,
      at: now,
    }, ended);

  // Passwords of a federated domain live with its identity provider.
  if (domain?.federationSignInUrl) {
    await log({ status: 'INTERRUPTED', reasonCode: 'FEDERATION_REDIRECT' });
    return { type: 'FEDERATION_REDIRECT', signInUrl: domain.federationSignInUrl };
  }

  /** Every refusal gets the wrong-password answer; the log and audit keep the real reason. */
  const refuse = async (reasonCode: SignInLogReason): Promise<never> => {
    await runUseCase(app, async (tx, outbox) => {
      if (domain) await log({ status: 'FAILURE', reasonCode }, tx, outbox);
      if (!user) return;
      await audit(tx, { tenantId: user.tenantId, actor: { type: 'ANONYMOUS' }, action: 'signIn.password', targetType: 'USER', targetId: user.id, result: 'FAILURE', reasonCode });
      if (reasonCode === 'INVALID_PASSWORD') await recordFailure(tx, user.id, await loadTenantSettings(tx, user.tenantId), now, outbox, 'PASSWORD');
    });
    throw new DomainError('INVALID_CREDENTIALS', WRONG_CREDENTIALS);
  };

  // Online password guessing: while locked the password is not checked at all (no oracle), but
  // the decoy is, so the refusal costs the argon2 time a check costs.
  const locked = user !== undefined && isLocked(user.passwordLockedUntil, now);
  const valid = await verifyPassword(locked ? null : (user?.passwordHash ?? null), input.password);
  if (!user) return refuse('USER_NOT_FOUND');
  if (locked) return refuse('PASSWORD_LOCKED_OUT');
  if (!valid) return refuse('INVALID_PASSWORD');
  if (user.disabled) return refuse('USER_DISABLED');

  // A correct password clears the count, unless failures checked meanwhile locked it: then the
  // lock wins, so guesses sent in parallel get no more answers than the threshold allows.
  const [cleared] = await app.db
    .update(users)
    .set({ ...clearedLock('PASSWORD'), updatedAt: now })
    .where(and(eq(users.id, user.id), or(isNull(users.passwordLockedUntil), lte(users.passwordLockedUntil, now))))
    .returning({ id: users.id });
  if (!cleared) return refuse('PASSWORD_LOCKED_OUT');

  const policy = await loadEffectivePolicy(app.db, user.id);
  // Admins need a second factor whatever the policy says (mfaRegistrationRequired).
  const mandatory = user.isAdmin;
  if (mandatory || (policy.allowed && policy.mode === 'PUSH')) {
    const settings = await loadTenantSettings(app.db, user.tenantId);
    const mfa = await runUseCase(app, async (tx, outbox) => {
      // The row lock serialises this with beginSignIn and other password sign-ins of the user.
      const [locked] = await tx.select().from(users).where(eq(users.id, user.id)).for('update');
      // Deleted since the password was checked: answered as an unknown user.
      if (!locked) return { gone: true as const };
      const verdict = await pushVerdict(tx, locked, settings, 'PUSH_MFA', now, mandatory);
      // No device to push to (or pushes turned off for the tenant): the password alone signs the
      // user in. The policy enables phone methods; it does not mandate a second factor. An admin
      // with no device gets a session that may only register one (registrationRequired).
      if (verdict.reason === 'NO_DEVICE' || verdict.reason === 'PUSH_NOT_ALLOWED') return null;
      if (verdict.reason) return { refusal: verdict.reason };
      // The signals of a phone sign-in's push, a new place warning only (afterPassword): a relayed password is what they are for.
      const risk = located ? assessSignIn(now, located, verdict.signInHistory, afterPassword(settings.riskDetection)) : null;
      if (risk) await raiseRiskForSignIn(tx, locked, risk.level, now);
      if (risk?.heldBack) {
        // Logged with the raised risk it explains, in one transaction.
        await log({ method: 'PUSH_MFA', status: 'FAILURE', reasonCode: 'RISK_HELD_BACK', risk }, tx, outbox);
        return { refusal: 'RISK_HELD_BACK' as const, logged: true };
      }
      const { challenge, ...started } = await startAttempt(tx, outbox, {
        kind: 'PUSH_MFA',
        user: locked,
        settings,
        context: input,
        location: location ?? UNKNOWN_LOCATION,
        place,
        risk: risk ?? undefined,
        now,
      });
      outbox.challenge(user.id, started.attemptId, { view: challenge, deviceIds: verdict.deviceIds });
      return { started };
    });
    if (mfa && 'gone' in mfa) return refuse('USER_NOT_FOUND');
    if (mfa?.started) return { type: 'MFA_REQUIRED', ...mfa.started };
    if (mfa?.refusal) {
      if (!('logged' in mfa)) await log({ method: 'PUSH_MFA', status: 'FAILURE', reasonCode: mfa.refusal });
      throw new DomainError('MFA_UNAVAILABLE', MFA_UNAVAILABLE[mfa.refusal] ?? 'Your phone cannot be asked to approve this sign-in now. Try again later.');
    }
  }

  const signedIn = await runUseCase(app, async (tx, outbox) => {
    // Held until commit: a user deleted or disabled since the password was checked gets no session.
    const [still] = await tx.select({ disabled: users.disabled }).from(users).where(eq(users.id, user.id)).for('share');
    if (!still || still.disabled) return still ? ('USER_DISABLED' as const) : ('USER_NOT_FOUND' as const);
    const amr = ['pwd'];
    const token = await app.tokens.issue(tx, { tenantId: user.tenantId, userId: user.id, amr });
    await writeSignInLog(tx, {
      tenantId: user.tenantId,
      userId: user.id,
      userPrincipalName: user.userPrincipalName,
      method: 'PASSWORD',
      status: 'SUCCESS',
      appName: input.appName,
      ipAddress: input.ipAddress,
      location,
      place,
      at: now,
    }, outbox);
    await audit(tx, { tenantId: user.tenantId, actor: { type: 'USER', id: user.id }, action: 'signIn.password', targetType: 'USER', targetId: user.id });
    return { type: 'SIGNED_IN' as const, ...token, registrationRequired: mfaRegistrationRequired(user.isAdmin, amr) };
  });
  return typeof signedIn === 'string' ? refuse(signedIn) : signedIn;
}
