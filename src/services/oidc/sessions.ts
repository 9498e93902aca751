import { and, eq, inArray } from 'drizzle-orm';
import type { Executor } from '../../db/client.js';
import { oidcRecords, oidcSessionLinks } from '../../db/platformSchema.js';
import { sessions } from '../../db/schema.js';
import type { Clock } from '../../domain/clock.js';
import { revokeGrants } from './adapter.js';

/**
 * Ties the two sessions of one browser together: the provider's (its cookie, its grants) and the
 * sign-in session the hosted page signed in with. Ending either ends the other.
 */

/** Records that the provider session `oidcSessionUid` was signed in by `signInSessionId`. */
export async function linkSignInSession(tx: Executor, oidcSessionUid: string, signInSessionId: string): Promise<void> {
  await tx
    .insert(oidcSessionLinks)
    .values({ oidcSessionUid, signInSessionId })
    .onConflictDoUpdate({ target: oidcSessionLinks.oidcSessionUid, set: { signInSessionId } });
}

/** The grant ids a provider Session record holds, one per application signed in to. */
const grantIdsOf = (payload: Record<string, unknown>) =>
  Object.values((payload.authorizations ?? {}) as Record<string, { grantId?: string }>)
    .map((a) => a.grantId)
    .filter((id): id is string => typeof id === 'string');

/**
 * The sign-in session ended (signOut): the provider sessions it signed in end too, with every
 * grant given in them, so their access tokens introspect inactive and their refresh tokens fail.
 */
export async function endOidcSessionsOf(tx: Executor, signInSessionId: string): Promise<void> {
  const links = await tx.select({ uid: oidcSessionLinks.oidcSessionUid }).from(oidcSessionLinks).where(eq(oidcSessionLinks.signInSessionId, signInSessionId));
  if (links.length === 0) return;
  const uids = links.map((l) => l.uid);
  const ended = await tx
    .delete(oidcRecords)
    .where(and(eq(oidcRecords.model, 'Session'), inArray(oidcRecords.uid, uids)))
    .returning({ payload: oidcRecords.payload });
  await revokeGrants(tx, ended.flatMap((s) => grantIdsOf(s.payload)));
  await tx.delete(oidcSessionLinks).where(inArray(oidcSessionLinks.oidcSessionUid, uids));
}

/** The user was disabled or deleted: every provider session, grant, code and token of theirs ends. */
export async function endOidcForUser(tx: Executor, userId: string): Promise<void> {
  const grants = await tx
    .delete(oidcRecords)
    .where(eq(oidcRecords.accountId, userId))
    .returning({ model: oidcRecords.model, id: oidcRecords.id });
  await revokeGrants(tx, grants.filter((g) => g.model === 'Grant').map((g) => g.id));
}

/**
 * The provider session `oidcSessionUid` ended (RP-initiated logout): the sign-in session that
 * signed it in ends too. Returns it, for the caller to announce, or null when none was linked.
 */
export async function endSignInSessionOf(tx: Executor, clock: Clock, oidcSessionUid: string): Promise<{ userId: string; sessionId: string } | null> {
  const [link] = await tx.delete(oidcSessionLinks).where(eq(oidcSessionLinks.oidcSessionUid, oidcSessionUid)).returning();
  if (!link) return null;
  const [ended] = await tx
    .update(sessions)
    .set({ revokedAt: clock.now() })
    .where(eq(sessions.id, link.signInSessionId))
    .returning({ userId: sessions.userId, sessionId: sessions.id });
  // Other provider sessions signed in by the same sign-in session end with it.
  if (ended) await endOidcSessionsOf(tx, ended.sessionId);
  return ended ?? null;
}
