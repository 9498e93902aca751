import { and, eq, gt, isNull, or } from 'drizzle-orm';
import { tenantDomains, temporaryAccessPasses, users } from '../db/schema.js';
import { addSeconds } from '../domain/clock.js';
import { DomainError } from '../domain/errors.js';
import { domainOf } from '../domain/names.js';
import { sha256 } from '../domain/secrets.js';
import type { SignInMethod } from '../domain/signInAttempt.js';
import type { App } from './app.js';
import { audit, auditByUser } from './audit.js';
import { PASSWORD_REQUIRED_FLOOR_MS } from './signIn.js';
import { writeSignInLog } from './signInLogs.js';
import { randomSecret } from './system.js';
import type { AdminCaller } from './tenants.js';
import { runUseCase } from './useCase.js';
import { userNotFound } from './users.js';

/** Microsoft Entra's bounds for a Temporary Access Pass: 10 minutes to 8 hours, 1 hour by default. */
export const TAP_LIFETIME_MINUTES = { min: 10, max: 480, default: 60 } as const;
/** 128 random bits: guessing is hopeless within a pass's lifetime, so no attempt counter is kept. */
const TAP_BYTES = 16;

/** The sign-in log's name for this method. */
export const TAP_METHOD: SignInMethod = 'TEMPORARY_ACCESS_PASS';
/**
 * RFC 8176 "otp": a one-time (or short-lived) code the service generated and the user types.
 * Not "pwd" (it is not a memorised password) and not "mfa" (the pass alone is one factor).
 */
export const TAP_AMR = ['otp'];

export interface CreateTemporaryAccessPassInput {
  userId: string;
  lifetimeMinutes: number;
  isUsableOnce: boolean;
}

/**
 * Issues a pass for a user; any pass they still had stops working, so at most one is live.
 * The pass is returned once and stored only as its SHA-256.
 */
export async function createTemporaryAccessPass(app: App, caller: AdminCaller, input: CreateTemporaryAccessPassInput) {
  const pass = randomSecret(TAP_BYTES);
  return runUseCase(app, async (tx) => {
    const [user] = await tx.select().from(users).where(and(eq(users.tenantId, caller.tenantId), eq(users.id, input.userId)));
    if (!user) throw userNotFound('userId');
    if (user.disabled) throw new DomainError('ACCOUNT_DISABLED', 'This user is disabled. Enable the user before issuing a Temporary Access Pass.', 'userId');
    const now = app.clock.now();
    const replaced = await tx.delete(temporaryAccessPasses).where(eq(temporaryAccessPasses.userId, user.id)).returning({ id: temporaryAccessPasses.id });
    const [created] = await tx
      .insert(temporaryAccessPasses)
      .values({
        tenantId: caller.tenantId,
        userId: user.id,
        passHash: sha256(pass),
        isUsableOnce: input.isUsableOnce,
        expiresAt: addSeconds(now, input.lifetimeMinutes * 60),
        createdBy: caller.userId,
        createdAt: now,
      })
      .returning();
    await auditByUser(tx, caller, {
      action: 'temporaryAccessPass.create',
      targetType: 'USER',
      targetId: user.id,
      after: { passId: created!.id, expiresAt: created!.expiresAt, isUsableOnce: created!.isUsableOnce, replacedPassIds: replaced.map((r) => r.id) },
    });
    return { id: created!.id, userId: user.id, pass, expiresAt: created!.expiresAt, isUsableOnce: created!.isUsableOnce };
  });
}

const INVALID_PASS = 'The Temporary Access Pass is not valid: it may be wrong, expired or already used. Ask your admin for a new one.';

/**
 * Refusals of a pass are answered no sooner than this after the request started, whatever the
 * reason: an unknown name costs a query or two, a known one a transaction and a log row, and the
 * difference would tell which names exist. The same floor as beginSignIn's PasswordRequired, for
 * the same reasons (see PASSWORD_REQUIRED_FLOOR_MS).
 */
export const TAP_REFUSAL_FLOOR_MS = PASSWORD_REQUIRED_FLOOR_MS;

/**
 * Signs in with a Temporary Access Pass. Single-use passes are consumed by compare-and-set before
 * the token is issued, so two concurrent redemptions yield one session. Unknown users, wrong,
 * expired and used passes, and disabled users are all answered alike, in content and in time
 * (TAP_REFUSAL_FLOOR_MS); the sign-in log keeps the real reason.
 */
export async function signInWithTemporaryAccessPass(
  app: App,
  input: { userPrincipalName: string; pass: string },
  context: { ipAddress: string | null },
) {
  const startedAt = performance.now();
  try {
    return await redeemPass(app, input, context);
  } catch (error) {
    if (error instanceof DomainError) await app.sleep(Math.max(0, TAP_REFUSAL_FLOOR_MS - (performance.now() - startedAt)));
    throw error;
  }
}

async function redeemPass(app: App, input: { userPrincipalName: string; pass: string }, context: { ipAddress: string | null }) {
  const [user] = await app.db.select().from(users).where(eq(users.userPrincipalName, input.userPrincipalName));
  const now = app.clock.now();
  if (!user) {
    await logUnknownUser(app, input.userPrincipalName, context, now);
    throw new DomainError('TEMPORARY_ACCESS_PASS_INVALID', INVALID_PASS);
  }
  const logged = { tenantId: user.tenantId, userId: user.id, userPrincipalName: user.userPrincipalName, method: TAP_METHOD, ipAddress: context.ipAddress, at: now };
  const logFailure = async (reasonCode: string) => {
    await runUseCase(app, async (tx, outbox) => {
      await writeSignInLog(tx, { ...logged, status: 'FAILURE', reasonCode }, outbox);
      await audit(tx, { tenantId: user.tenantId, actor: { type: 'ANONYMOUS' }, action: 'signIn.temporaryAccessPass', targetType: 'USER', targetId: user.id, result: 'FAILURE', reasonCode });
    });
  };
  if (user.disabled) {
    await logFailure('USER_DISABLED');
    throw new DomainError('TEMPORARY_ACCESS_PASS_INVALID', INVALID_PASS);
  }
  const token = await runUseCase(app, async (tx, outbox) => {
    const [consumed] = await tx
      .update(temporaryAccessPasses)
      .set({ usedAt: now })
      .where(
        and(
          eq(temporaryAccessPasses.passHash, sha256(input.pass)),
          eq(temporaryAccessPasses.userId, user.id),
          gt(temporaryAccessPasses.expiresAt, now),
          or(eq(temporaryAccessPasses.isUsableOnce, false), isNull(temporaryAccessPasses.usedAt)),
        ),
      )
      .returning({ id: temporaryAccessPasses.id });
    if (!consumed) return null;
    const issued = await app.tokens.issue(tx, { tenantId: user.tenantId, userId: user.id, amr: TAP_AMR });
    await writeSignInLog(tx, { ...logged, status: 'SUCCESS' }, outbox);
    await audit(tx, {
      tenantId: user.tenantId,
      actor: { type: 'USER', id: user.id },
      action: 'signIn.temporaryAccessPass',
      targetType: 'USER',
      targetId: user.id,
      after: { passId: consumed.id, sessionId: issued.sessionId },
    });
    return issued;
  });
  if (!token) {
    await logFailure('TEMPORARY_ACCESS_PASS_INVALID');
    throw new DomainError('TEMPORARY_ACCESS_PASS_INVALID', INVALID_PASS);
  }
  return token;
}

/** A pass tried for a name no user has: logged, as the password path does, in the tenant that owns its domain (if any). */
async function logUnknownUser(app: App, userPrincipalName: string, context: { ipAddress: string | null }, now: Date) {
  const [domain] = await app.db.select({ tenantId: tenantDomains.tenantId }).from(tenantDomains).where(eq(tenantDomains.domain, domainOf(userPrincipalName)));
  if (!domain) return;
  await writeSignInLog(
    app.db,
    { tenantId: domain.tenantId, userId: null, userPrincipalName, method: TAP_METHOD, status: 'FAILURE', reasonCode: 'USER_NOT_FOUND', ipAddress: context.ipAddress, at: now },
    app.metrics,
  );
}
