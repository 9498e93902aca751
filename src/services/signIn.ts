import { and, eq, gt, inArray, sql } from 'drizzle-orm';
import { preparedOn } from '../db/prepared.js';
import { signInAttempts, tenantDomains, tenants, users } from '../db/schema.js';
import { addSeconds } from '../domain/clock.js';
import { DomainError } from '../domain/errors.js';
import { domainOf } from '../domain/names.js';
import { assessSignIn } from '../domain/risk.js';
import { sha256 } from '../domain/secrets.js';
import { tenantSettingsSchema } from '../domain/settings.js';
import { type AttemptStatus, type PasswordRequiredReason, type RefusalReason, browserReason, isFinal } from '../domain/signInAttempt.js';
import type { App } from './app.js';
import {
  type AttemptView,
  REDEEM_WINDOW_S,
  type SignInContext,
  type StartedAttempt,
  attemptForSecret,
  attemptNow,
  holdsSecret,
  isAttemptKey,
  attemptView,
  auditOutcome,
  startAttempt,
  transition,
} from './attempts.js';
import { locateIp } from './geo.js';
import { loadTenantSettings } from './policy.js';
import { updateSignInLog, writeSignInLog } from './signInLogs.js';
import { clearedLock, pushVerdict } from './signInProtection.js';
import { runUseCase } from './useCase.js';
import { raiseRiskForSignIn } from './userRisk.js';

export type BeginSignInResult =
  | ({ type: 'PHONE_SIGN_IN_STARTED' } & StartedAttempt)
  | { type: 'PASSWORD_REQUIRED'; reason: PasswordRequiredReason };

/**
 * beginSignIn answers PasswordRequired no sooner than this after the request started. The paths
 * to that answer do different work (no tenant owns the domain: one query; unknown user: a
 * transaction and a log row; known user: the policy, the credentials and the anti-fatigue
 * counts), so their response times would tell which names exist. Making every path do the same
 * queries would be fragile — each new check reopens the leak, and index and cache effects differ
 * anyway — while a fixed floor hides them all as long as the slowest path (a handful of indexed
 * queries, milliseconds) stays below it, and costs nothing a person notices: the page is about to
 * ask for a password. PhoneSignInStarted is not held back: its content already says the account
 * exists.
 */
export const PASSWORD_REQUIRED_FLOOR_MS = 250;

/**
 * Starts a passwordless phone sign-in, or sends the browser to the password. Every refusal looks
 * the same from outside, in content and in time (see domain/signInAttempt.ts `refusalReason` for
 * PENDING_REQUEST, and PASSWORD_REQUIRED_FLOOR_MS); the sign-in log keeps the real reason. A push
 * that would go out is assessed for risk (domain/risk.ts) against the user's recent sign-ins, read
 * in the push decision's statement: a signal set to WARN puts a warning on the challenge, one set
 * to BLOCK holds the push back (RISK_HELD_BACK, shown to the user in their security info).
 */
export async function beginSignIn(app: App, input: SignInContext & { userPrincipalName: string }): Promise<BeginSignInResult> {
  const startedAt = performance.now();
  const result = await pushOrRefuse(app, input);
  if (result.type === 'PASSWORD_REQUIRED') await app.sleep(Math.max(0, PASSWORD_REQUIRED_FLOOR_MS - (performance.now() - startedAt)));
  return result;
}

/** The user a sign-in names, if its domain is its tenant's, with the tenant's settings; the user's row locked. */
const signInSubject = preparedOn((db) =>
  db
    .select({ user: users, settings: tenants.settings })
    .from(users)
    .innerJoin(tenantDomains, and(eq(tenantDomains.tenantId, users.tenantId), eq(tenantDomains.domain, sql.placeholder('domain'))))
    .innerJoin(tenants, eq(tenants.id, users.tenantId))
    .where(eq(users.userPrincipalName, sql.placeholder('userPrincipalName')))
    .for('update', { of: users })
    .prepare('sign_in_subject'),
);

async function pushOrRefuse(app: App, input: SignInContext & { userPrincipalName: string }): Promise<BeginSignInResult> {
  const now = app.clock.now();
  const passwordRequired = (reason: RefusalReason): BeginSignInResult => ({ type: 'PASSWORD_REQUIRED', reason: browserReason(reason) });
  const domain = domainOf(input.userPrincipalName);
  const located = await locateIp(app, input.ipAddress);
  const location = located.label;
  return runUseCase(app, async (tx, outbox) => {
    // Locking the user row serialises concurrent beginSignIns: at most one push per pending window.
    // The user, its tenant's settings and the domain check come in one read.
    const [found] = await signInSubject(tx).execute({ domain, userPrincipalName: input.userPrincipalName });
    let tenantId = found?.user.tenantId;
    if (!found) {
      const [owner] = await tx.select({ tenantId: tenantDomains.tenantId }).from(tenantDomains).where(eq(tenantDomains.domain, domain));
      // No tenant owns the domain: there is no sign-in log to write to.
      if (!owner) return passwordRequired('UNKNOWN_DOMAIN');
      tenantId = owner.tenantId;
    }
    const settings = tenantSettingsSchema.parse(found?.settings ?? {});
    const verdict = found ? await pushVerdict(tx, found.user, settings, 'PHONE_SIGN_IN', now) : null;
    // Risk is assessed only for a push that would otherwise go out: a refusal sends no push to warn on.
    const risk = verdict && !verdict.reason ? assessSignIn(now, located, verdict.signInHistory, settings.riskDetection) : null;
    const reason = verdict ? (verdict.reason ?? (risk?.heldBack ? 'RISK_HELD_BACK' : null)) : 'USER_NOT_FOUND';
    if (risk) await raiseRiskForSignIn(tx, found!.user, risk.level, now);
    if (reason) {
      await writeSignInLog(tx, {
        tenantId: tenantId!,
        userId: found?.user.id ?? null,
        userPrincipalName: input.userPrincipalName,
        method: 'PHONE_SIGN_IN',
        status: 'INTERRUPTED',
        reasonCode: reason,
        appName: input.appName,
        ipAddress: input.ipAddress,
        location,
        place: located.place,
        risk,
        at: now,
      }, outbox);
      return passwordRequired(reason);
    }
    const { challenge, ...started } = await startAttempt(tx, outbox, {
      kind: 'PHONE_SIGN_IN',
      user: found!.user,
      settings,
      context: input,
      location,
      place: located.place,
      risk: risk ?? undefined,
      now,
    });
    outbox.challenge(found!.user.id, started.attemptId, { view: challenge, deviceIds: verdict!.deviceIds });
    return { type: 'PHONE_SIGN_IN_STARTED', ...started } as const;
  });
}

/** The attempt now (the read that checks the secret, unless this node began it), then every change, until it is final. Null for a wrong secret. */
export async function watchAttempt(app: App, attemptId: string, attemptSecret: string): Promise<AsyncIterable<AttemptView> | null> {
  return app.live.attempts.subscribeAfter(attemptId, {}, async () => {
    // Begun on this node: known here, kept current by its events.
    const known = app.live.knownAttempt(attemptId, attemptSecret);
    if (known !== undefined) return known && [known];
    const attempt = await attemptForSecret(app.db, attemptId, attemptSecret);
    return attempt && [attemptView(attempt)];
  });
}

/**
 * The current state of several watched attempts, one statement for all (the hub in live.ts); a new
 * watcher's read, of one attempt, is the prepared read by id.
 */
export async function watchedAttempts<S>(app: App, attemptIds: string[], watchersOf: (attemptId: string) => S[]): Promise<Map<string, Map<S, AttemptView[]>>> {
  const rows =
    attemptIds.length === 1
      ? [await attemptNow(app.db, attemptIds[0]!)].filter((row) => row !== undefined)
      : await app.db.select().from(signInAttempts).where(inArray(signInAttempts.id, attemptIds));
  return new Map(rows.map((row) => [row.id, new Map(watchersOf(row.id).map((watcher) => [watcher, [attemptView(row)]]))]));
}

const NOT_REDEEMABLE: Record<AttemptStatus, string> = {
  PENDING: 'The phone has not approved this sign-in yet: wait until signInAttempt says APPROVED.',
  APPROVED: 'This approval has lapsed: start a new sign-in.',
  DENIED: 'This sign-in was denied on the phone: start a new one, or use your password.',
  EXPIRED: 'This sign-in expired: start a new one.',
  CANCELLED: 'This sign-in was cancelled: start a new one.',
  COMPLETED: 'This sign-in was already completed: its session was issued once and cannot be issued again.',
};

/**
 * Redeems an approved attempt for a session, exactly once: the compare-and-set APPROVED →
 * COMPLETED happens before the token is made, in the same transaction. Null for a wrong secret.
 */
export async function completeSignIn(app: App, input: { attemptId: string; attemptSecret: string }) {
  if (!isAttemptKey(input.attemptId, input.attemptSecret)) return null;
  const now = app.clock.now();
  return runUseCase(app, async (tx, outbox) => {
    // The secret is checked by the compare-and-set itself (its hash in the WHERE), so a redeemed
    // sign-in reads nothing first; only a refusal reads the attempt, to say why.
    const redeemable = and(eq(signInAttempts.secretHash, sha256(input.attemptSecret)), gt(signInAttempts.resolvedAt, addSeconds(now, -REDEEM_WINDOW_S)));
    const done = await transition(tx, input.attemptId, 'COMPLETED', { completedAt: now }, redeemable);
    if (!done) {
      const [current] = await tx.select().from(signInAttempts).where(eq(signInAttempts.id, input.attemptId));
      if (!current || !holdsSecret(current, input.attemptSecret)) return null;
      throw new DomainError('SIGN_IN_NOT_APPROVED', NOT_REDEEMABLE[current.status]);
    }
    // A success clears the phone sign-in lock and opens the session in one statement; the session
    // opens only if the same write finds the account enabled.
    const cleared = tx
      .update(users)
      .set({ ...clearedLock('PHONE_SIGN_IN'), updatedAt: now })
      .where(and(eq(users.id, done.userId), eq(users.disabled, false)))
      .returning({ id: users.id });
    const issued = await app.tokens.issueIf(tx, { tenantId: done.tenantId, userId: done.userId, amr: done.amr ?? [] }, cleared.getSQL());
    if (!issued) throw new DomainError('ACCOUNT_DISABLED', 'This account is disabled. Ask your administrator.');
    await updateSignInLog(tx, done.id, { status: 'SUCCESS', reasonCode: null, at: now }, outbox, {
      tenantId: done.tenantId,
      actor: { type: 'USER', id: done.userId },
      action: 'signIn.complete',
      targetType: 'SIGN_IN_ATTEMPT',
      targetId: done.id,
      after: { kind: done.kind, amr: done.amr, sessionId: issued.sessionId },
    });
    outbox.attemptChanged(done);
    return issued;
  });
}

/** The browser gives up: a pending or approved attempt becomes CANCELLED. Null for a wrong secret. */
export async function cancelSignIn(app: App, input: { attemptId: string; attemptSecret: string }): Promise<AttemptView | null> {
  const attempt = await attemptForSecret(app.db, input.attemptId, input.attemptSecret);
  if (!attempt) return null;
  const now = app.clock.now();
  const result = await runUseCase(app, async (tx, outbox) => {
    const cancelled = await transition(tx, attempt.id, 'CANCELLED', { failureReason: 'CANCELLED_BY_USER', resolvedAt: now });
    if (!cancelled) {
      // Final already, or deleted meanwhile (with its user): then unknown, as for a wrong secret.
      const [current] = await tx.select().from(signInAttempts).where(eq(signInAttempts.id, attempt.id));
      return current ?? null;
    }
    await updateSignInLog(tx, cancelled.id, { status: 'FAILURE', reasonCode: 'CANCELLED_BY_USER', at: now }, outbox);
    await auditOutcome(tx, cancelled, { type: 'ANONYMOUS' });
    outbox.attemptChanged(cancelled);
    return cancelled;
  });
  return result && attemptView(result);
}
