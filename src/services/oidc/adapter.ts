import { and, eq, gt, isNull, lte, or } from 'drizzle-orm';
import type { Adapter, AdapterPayload } from 'oidc-provider';
import type { Database, Executor } from '../../db/client.js';
import { oidcRecords } from '../../db/platformSchema.js';
import { addSeconds, type Clock } from '../../domain/clock.js';

/** A record not expired at `now` (clients, which never expire, have no expiry). */
const live = (now: Date) => or(isNull(oidcRecords.expiresAt), gt(oidcRecords.expiresAt, now));

/** The payload as the provider expects it back: `consumed` set once the record was consumed. */
const payloadOf = (row: { payload: Record<string, unknown>; consumedAt: Date | null } | undefined): AdapterPayload | undefined =>
  row && { ...row.payload, ...(row.consumedAt ? { consumed: Math.floor(row.consumedAt.getTime() / 1000) } : {}) };

/**
 * oidc-provider's storage on the project's database: one table keyed by model and id, with the
 * provider's lookups (grantId, uid, userCode) as indexed columns. Every node reads the same rows,
 * so an authorization begun on one node is finished on another, and nothing is cached here: a
 * deleted grant is gone for every node at once.
 */
export function drizzleAdapter(db: Database, clock: Clock) {
  return (model: string): Adapter => {
    const key = (id: string) => and(eq(oidcRecords.model, model), eq(oidcRecords.id, id));
    const findWhere = async (where: ReturnType<typeof and>) => {
      const [row] = await db
        .select({ payload: oidcRecords.payload, consumedAt: oidcRecords.consumedAt })
        .from(oidcRecords)
        .where(and(eq(oidcRecords.model, model), where, live(clock.now())));
      return payloadOf(row);
    };
    return {
      async upsert(id, payload, expiresIn) {
        const row = {
          payload: payload as Record<string, unknown>,
          expiresAt: expiresIn ? addSeconds(clock.now(), expiresIn) : null,
          grantId: payload.grantId ?? null,
          uid: payload.uid ?? null,
          userCode: payload.userCode ?? null,
          accountId: payload.accountId ?? null,
        };
        await db
          .insert(oidcRecords)
          .values({ model, id, ...row })
          .onConflictDoUpdate({ target: [oidcRecords.model, oidcRecords.id], set: row });
      },
      find: (id) => findWhere(eq(oidcRecords.id, id)),
      findByUid: (uid) => findWhere(eq(oidcRecords.uid, uid)),
      findByUserCode: (userCode) => findWhere(eq(oidcRecords.userCode, userCode)),
      async consume(id) {
        await db.update(oidcRecords).set({ consumedAt: clock.now() }).where(and(key(id), isNull(oidcRecords.consumedAt)));
      },
      async destroy(id) {
        await db.delete(oidcRecords).where(key(id));
      },
      async revokeByGrantId(grantId) {
        await revokeGrants(db, [grantId]);
      },
    };
  };
}

/** Deletes grants and everything issued under them (codes, access and refresh tokens). */
export async function revokeGrants(tx: Executor, grantIds: string[]): Promise<void> {
  for (const grantId of grantIds) {
    await tx.delete(oidcRecords).where(or(eq(oidcRecords.grantId, grantId), and(eq(oidcRecords.model, 'Grant'), eq(oidcRecords.id, grantId))));
  }
}

/** Housekeeping: forgets provider records past their expiry. */
export async function forgetExpiredOidcRecords(db: Database, now: Date): Promise<void> {
  await db.delete(oidcRecords).where(lte(oidcRecords.expiresAt, now));
}
