import { and, desc, eq, getTableColumns, inArray, isNull, ne, or, sql } from 'drizzle-orm';
import type { Executor } from '../db/client.js';
import { devices, phoneSignInCredentials, sessions, signInLogs, users } from '../db/schema.js';
import { DomainError } from '../domain/errors.js';
import { type RiskEvent, type RiskLevel, isElevated, nextRisk, riskAfterSignIn, shownState } from '../domain/userRisk.js';
import type { App } from './app.js';
import { type Trail, audit, auditingRefusals } from './audit.js';
import { cancelAttempts, openAttemptsOf } from './signInProtection.js';
import { type Outbox, runUseCase } from './useCase.js';
import { userNotFound } from './users.js';

// Admins' view of users at risk, and what they do about it (Entra ID Protection's "risky users":
// dismiss the risk, or confirm the account compromised).

type UserRow = typeof users.$inferSelect;
type SignInLogRow = typeof signInLogs.$inferSelect;
type Caller = { tenantId: string; userId: string };

/** Sign-in reasons that raise a user's risk, and so explain it; so do sign-ins whose risk signals rated them MEDIUM or HIGH. */
const RISK_RAISING_REASONS = ['FRAUD_REPORTED'];
const RISK_RAISING_LEVELS: RiskLevel[] = ['MEDIUM', 'HIGH'];
/** The sign-ins shown with each risky user: the latest that raised their risk. */
const RISKY_SIGN_INS_PER_USER = 10;

export interface RiskyUserView {
  user: UserRow;
  /** The sign-ins that raised the risk, newest first. */
  signIns: SignInLogRow[];
}

/** The tenant's users at elevated risk, most recently raised first, each with the sign-ins that raised it (two statements a page). */
export async function listRiskyUsers(app: App, tenantId: string, page: { limit: number; offset: number }): Promise<RiskyUserView[]> {
  const risky = await app.db
    .select()
    .from(users)
    .where(and(eq(users.tenantId, tenantId), ne(users.riskLevel, 'NONE')))
    .orderBy(sql`${users.riskUpdatedAt} desc nulls last`, users.id)
    .limit(page.limit)
    .offset(page.offset);
  if (risky.length === 0) return [];
  const ranked = app.db
    .select({ ...getTableColumns(signInLogs), rank: sql<number>`row_number() over (partition by ${signInLogs.userId} order by ${signInLogs.id} desc)`.as('rank') })
    .from(signInLogs)
    .where(and(eq(signInLogs.tenantId, tenantId), inArray(signInLogs.userId, risky.map((u) => u.id)), or(inArray(signInLogs.reasonCode, RISK_RAISING_REASONS), inArray(signInLogs.riskLevel, RISK_RAISING_LEVELS))))
    .as('ranked');
  const logs: SignInLogRow[] = (await app.db.select().from(ranked).where(sql`${ranked.rank} <= ${RISKY_SIGN_INS_PER_USER}`).orderBy(desc(ranked.id))).map(
    ({ rank: _rank, ...log }) => log,
  );
  return risky.map((user) => ({ user, signIns: logs.filter((log) => log.userId === user.id) }));
}

/**
 * A sign-in whose risk signals rated it MEDIUM or HIGH raises the user's risk to that level
 * (domain riskAfterSignIn), so the user appears in riskyUsers with that sign-in as the reason. The
 * caller holds the user row's lock.
 */
export async function raiseRiskForSignIn(tx: Executor, user: UserRow, signInLevel: RiskLevel, now: Date): Promise<void> {
  const next = riskAfterSignIn({ level: user.riskLevel, state: user.riskState }, signInLevel);
  if (!next) return;
  await tx.update(users).set({ riskLevel: next.level, riskState: next.state, riskDetail: next.detail, riskUpdatedAt: now, updatedAt: now }).where(eq(users.id, user.id));
}

/** The risk columns an event sets, and what the audit record shows of them. */
const riskColumns = (user: UserRow, event: RiskEvent, now: Date) => {
  const risk = nextRisk({ level: user.riskLevel, state: user.riskState }, event);
  return { riskLevel: risk.level, riskState: risk.state, riskDetail: risk.detail, riskUpdatedAt: now, updatedAt: now };
};
const riskOf = (user: UserRow) => ({ riskLevel: user.riskLevel, riskState: shownState({ level: user.riskLevel, state: user.riskState }), riskDetail: user.riskDetail });

/** Runs an admin's risk decision on a user of their tenant: locked, NOT_FOUND when foreign, audited (refusals too). */
function decide(app: App, caller: Caller, userId: string, action: string, work: (tx: Executor, user: UserRow, outbox: Outbox) => Promise<UserRow>) {
  const trail: Trail = { tenantId: caller.tenantId, actor: { type: 'USER', id: caller.userId }, action, targetType: 'USER', targetId: userId };
  return auditingRefusals(app, trail, () =>
    runUseCase(app, async (tx, outbox) => {
      const [user] = await tx
        .select()
        .from(users)
        .where(and(eq(users.id, userId), eq(users.tenantId, caller.tenantId)))
        .for('update');
      if (!user) throw userNotFound('userId');
      return work(tx, user, outbox);
    }),
  );
}

/**
 * The admin judged the risk a false positive: risk back to NONE (state DISMISSED) and the pushes a
 * fraud report muted resume. Lockouts stay: they count failures, not suspicion.
 */
export function dismissUserRisk(app: App, caller: Caller, userId: string): Promise<UserRow> {
  return decide(app, caller, userId, 'user.dismissRisk', async (tx, user) => {
    if (!isElevated({ level: user.riskLevel, state: user.riskState })) {
      throw new DomainError('USER_NOT_AT_RISK', 'This user is not at risk (riskLevel NONE), so there is nothing to dismiss.', 'userId');
    }
    const now = app.clock.now();
    const [after] = await tx
      .update(users)
      .set({ ...riskColumns(user, 'DISMISSED', now), pushMutedUntil: null })
      .where(eq(users.id, user.id))
      .returning();
    await audit(tx, { tenantId: caller.tenantId, actor: { type: 'USER', id: caller.userId }, action: 'user.dismissRisk', targetType: 'USER', targetId: user.id, before: riskOf(user), after: riskOf(after!) });
    return after!;
  });
}

/**
 * The admin confirmed the account compromised, as Entra does: risk HIGH (CONFIRMED_COMPROMISED),
 * every session revoked (their tokens stop working and their sockets close on every node), every
 * authenticator removed so the next sign-in must register again, and every open sign-in ended so
 * an approval already given cannot be redeemed. The password is left to the admin to change.
 */
export function confirmUserCompromised(app: App, caller: Caller, userId: string): Promise<UserRow> {
  return decide(app, caller, userId, 'user.confirmCompromised', async (tx, user, outbox) => {
    const now = app.clock.now();
    const [after] = await tx.update(users).set(riskColumns(user, 'CONFIRMED_COMPROMISED', now)).where(eq(users.id, user.id)).returning();
    const revoked = await tx
      .update(sessions)
      .set({ revokedAt: now })
      .where(and(eq(sessions.userId, user.id), isNull(sessions.revokedAt)))
      .returning({ id: sessions.id });
    const removed = await tx
      .update(devices)
      .set({ revokedAt: now })
      .where(and(eq(devices.userId, user.id), isNull(devices.revokedAt)))
      .returning({ id: devices.id });
    await tx
      .update(phoneSignInCredentials)
      .set({ revokedAt: now })
      .where(and(eq(phoneSignInCredentials.userId, user.id), isNull(phoneSignInCredentials.revokedAt)));
    await cancelAttempts(tx, openAttemptsOf(user.id), 'ENDED_BY_ADMIN', now, outbox);
    for (const session of revoked) outbox.sessionRevoked(user.id, session.id);
    for (const device of removed) outbox.deviceRevoked(device.id);
    await audit(tx, {
      tenantId: caller.tenantId,
      actor: { type: 'USER', id: caller.userId },
      action: 'user.confirmCompromised',
      targetType: 'USER',
      targetId: user.id,
      before: riskOf(user),
      after: { ...riskOf(after!), sessionsRevoked: revoked.length, authenticatorsRemoved: removed.map((d) => d.id) },
    });
    return after!;
  });
}
