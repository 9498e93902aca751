import { randomUUID } from 'node:crypto';
import { type SQL, and, eq, inArray, lte, sql } from 'drizzle-orm';
import { z } from 'zod';
import type { Database, Executor } from '../db/client.js';
import { preparedOn } from '../db/prepared.js';
import { signInAttempts, type users } from '../db/schema.js';
import { addSeconds } from '../domain/clock.js';
import { drawNumber } from '../domain/numberMatching.js';
import type { Place } from '../domain/risk.js';
import { constantTimeEqual, sha256 } from '../domain/secrets.js';
import type { TenantSettings } from '../domain/settings.js';
import { type AttemptKind, type AttemptStatus, type FailureReason, logStatusOf, sourcesOf } from '../domain/signInAttempt.js';
import type { App } from './app.js';
import { type Actor, type AuditEntry, audit } from './audit.js';
import { type ChallengeView, challengeView } from './pendingChallenges.js';
import { type SignInRisk, signInLogInsert, updateSignInLog } from './signInLogs.js';
import { randomSecret } from './system.js';
import { type Outbox, runUseCase } from './useCase.js';

/** 256 bits: the browser's bearer capability for one attempt, stored only as its SHA-256. */
const ATTEMPT_SECRET_BYTES = 32;
/** 256 bits, above the contract's 128-bit floor: binds a response to one challenge. */
const NONCE_BYTES = 32;
/** How long the browser has to redeem an approval; it is watching, so two minutes is generous. */
export const REDEEM_WINDOW_S = 120;

export type Attempt = typeof signInAttempts.$inferSelect;

/** What the browser may know of an attempt. */
export interface AttemptView {
  id: string;
  kind: AttemptKind;
  status: AttemptStatus;
  failureReason: FailureReason | null;
  expiresAt: Date;
}

export const attemptView = (a: Attempt): AttemptView => ({
  id: a.id,
  kind: a.kind,
  status: a.status,
  failureReason: a.failureReason as FailureReason | null,
  expiresAt: a.expiresAt,
});

/** A new attempt as its browser gets it: the only time the secret and the number are given out. */
export interface StartedAttempt {
  attemptId: string;
  attemptSecret: string;
  number: string;
  expiresAt: Date;
}

/** Where a sign-in comes from, as the phone and the logs show it. */
export interface SignInContext {
  appName: string;
  ipAddress: string | null;
}

/**
 * The one way attempts change status: a compare-and-set whose WHERE names the statuses the state
 * machine allows as sources, plus `which` (the attempts, and conditions such as not yet expired).
 * Returns the attempts it moved: none when other writers got there first or `which` no longer holds.
 */
export async function transitionAll(
  tx: Executor,
  which: SQL | undefined,
  to: AttemptStatus,
  changes: Partial<Omit<Attempt, 'id' | 'status'>>,
): Promise<Attempt[]> {
  return tx
    .update(signInAttempts)
    .set({ ...changes, status: to })
    .where(and(inArray(signInAttempts.status, sourcesOf(to)), which))
    .returning();
}

/** One attempt's transition (see transitionAll); undefined when it did not move. */
export async function transition(
  tx: Executor,
  attemptId: string,
  to: AttemptStatus,
  changes: Partial<Omit<Attempt, 'id' | 'status'>>,
  condition?: SQL,
): Promise<Attempt | undefined> {
  const [row] = await transitionAll(tx, and(eq(signInAttempts.id, attemptId), condition), to, changes);
  return row;
}

/** Stores a new attempt and its sign-in log row, in one statement; the caller publishes the challenge after commit (the outbox remembers the attempt for its browser). */
export async function startAttempt(
  tx: Executor,
  outbox: Outbox,
  o: {
    kind: AttemptKind;
    user: typeof users.$inferSelect;
    settings: TenantSettings;
    context: SignInContext;
    location: string;
    place?: Place | null;
    /** The risk assessment, and the warning the phone shows for it. */
    risk?: SignInRisk & { warning: string | null };
    now: Date;
  },
): Promise<StartedAttempt & { challenge: ChallengeView }> {
  const { style, digits, choices } = o.settings.numberMatching;
  const match = drawNumber(style, digits, choices);
  const attemptSecret = randomSecret(ATTEMPT_SECRET_BYTES);
  const expiresAt = addSeconds(o.now, o.settings.challengeLifetimeSeconds);
  // The id is made here so that the log row can name it in the same statement.
  const attemptId = randomUUID();
  const row = {
    id: attemptId,
    tenantId: o.user.tenantId,
    userId: o.user.id,
    kind: o.kind,
    number: match.number,
    numberStyle: style,
    numberChoices: match.choices,
    nonce: randomSecret(NONCE_BYTES),
    secretHash: sha256(attemptSecret),
    appName: o.context.appName,
    ipAddress: o.context.ipAddress,
    location: o.location,
    riskWarning: o.risk?.warning ?? null,
    createdAt: o.now,
    expiresAt,
  };
  const attempt = tx.insert(signInAttempts).values(row);
  const log = signInLogInsert(tx, {
    tenantId: o.user.tenantId,
    userId: o.user.id,
    userPrincipalName: o.user.userPrincipalName,
    attemptId,
    method: o.kind,
    status: 'IN_PROGRESS',
    appName: o.context.appName,
    ipAddress: o.context.ipAddress,
    location: o.location,
    place: o.place ?? null,
    risk: o.risk ? { level: o.risk.level, signals: o.risk.signals } : null,
    numberStyle: style,
    at: o.now,
  });
  // The log row's foreign key is checked at the end of the statement, once the attempt is in.
  await tx.execute(sql`with attempt as (${attempt.getSQL()}) ${log.getSQL()}`);
  outbox.attemptBegun({ id: attemptId, kind: o.kind, status: 'PENDING', failureReason: null, expiresAt }, row.secretHash);
  return { attemptId, attemptSecret, number: match.number, expiresAt, challenge: challengeView(row, o.user.userPrincipalName, o.settings) };
}

const uuid = z.uuid();
/** Our secrets are 43 characters; anything far longer is not one, and is not worth hashing. */
const MAX_ATTEMPT_SECRET_LENGTH = 256;

/** Whether an id and secret could be an attempt's at all: a uuid, and a secret not far longer than ours (not worth hashing). */
export const isAttemptKey = (attemptId: string, attemptSecret: string) => uuid.safeParse(attemptId).success && attemptSecret.length <= MAX_ATTEMPT_SECRET_LENGTH;

const attemptById = preparedOn((db) => db.select().from(signInAttempts).where(eq(signInAttempts.id, sql.placeholder('attemptId'))).prepare('attempt_by_id'));

/** The attempt as stored now, by id alone (the caller has checked its secret): one prepared read. */
export async function attemptNow(db: Database, attemptId: string): Promise<Attempt | undefined> {
  const [attempt] = await attemptById(db).execute({ attemptId });
  return attempt;
}

/** Whether `attemptSecret` is the secret of `attempt`, compared in constant time. */
export const holdsSecret = (attempt: Attempt, attemptSecret: string) => constantTimeEqual(attempt.secretHash, sha256(attemptSecret));

/**
 * The attempt, if `attemptSecret` is its secret; null otherwise, exactly as for an unknown id,
 * so a wrong secret learns nothing (not even that the id exists). One prepared read.
 */
export async function attemptForSecret(db: Database, attemptId: string, attemptSecret: string): Promise<Attempt | null> {
  if (!isAttemptKey(attemptId, attemptSecret)) return null;
  const attempt = await attemptNow(db, attemptId);
  return attempt && holdsSecret(attempt, attemptSecret) ? attempt : null;
}

export async function readAttempt(app: App, attemptId: string, attemptSecret: string): Promise<AttemptView | null> {
  const attempt = await attemptForSecret(app.db, attemptId, attemptSecret);
  return attempt && attemptView(attempt);
}

/** The audit row of an attempt's outcome. */
export async function auditOutcome(tx: Executor, attempt: Attempt, actor: Actor): Promise<void> {
  await audit(tx, outcomeAudit(attempt, actor));
}

/** The audit record of an attempt's outcome, for auditOutcome or to go with the log update (updateSignInLog). */
export const outcomeAudit = (attempt: Attempt, actor: Actor): AuditEntry => ({
  tenantId: attempt.tenantId,
  actor,
  action: `signIn.${attempt.status.toLowerCase()}`,
  targetType: 'SIGN_IN_ATTEMPT',
  targetId: attempt.id,
  result: attempt.status === 'APPROVED' || attempt.status === 'COMPLETED' ? 'SUCCESS' : 'FAILURE',
  reasonCode: attempt.failureReason ?? undefined,
  after: { kind: attempt.kind, userId: attempt.userId, respondingDeviceId: attempt.respondingDeviceId },
});

/**
 * Ends unanswered attempts (EXPIRED / NO_RESPONSE) and approvals never redeemed
 * (EXPIRED / NOT_REDEEMED), all that are due or just `attemptId`, and tells their browsers. A
 * compare-and-set, so several nodes may run it at once.
 */
export async function expireAttempts(app: App, attemptId?: string): Promise<void> {
  const now = app.clock.now();
  const only = attemptId === undefined ? undefined : eq(signInAttempts.id, attemptId);
  await runUseCase(app, async (tx, outbox) => {
    const unanswered = await transitionAll(tx, and(only, eq(signInAttempts.status, 'PENDING'), lte(signInAttempts.expiresAt, now)), 'EXPIRED', {
      failureReason: 'NO_RESPONSE',
      resolvedAt: now,
    });
    const unredeemed = await transitionAll(
      tx,
      and(only, eq(signInAttempts.status, 'APPROVED'), lte(signInAttempts.resolvedAt, addSeconds(now, -REDEEM_WINDOW_S))),
      'EXPIRED',
      { failureReason: 'NOT_REDEEMED' },
    );
    for (const attempt of [...unanswered, ...unredeemed]) {
      await updateSignInLog(tx, attempt.id, { status: logStatusOf('EXPIRED'), reasonCode: attempt.failureReason, at: now }, outbox);
      await auditOutcome(tx, attempt, { type: 'SYSTEM' });
      outbox.attemptChanged(attempt);
    }
  });
}
