import postgres from 'postgres';
import { linkOptions } from './client.js';

/** Whether this node leads for some cluster-wide duty; asked once per period. */
export interface Leadership {
  /** True while this node holds the lead: taken when free, kept until the node stops or its session ends. */
  leads(): Promise<boolean>;
  /** Gives the lead up at once, so another node takes it at its next period. */
  release(): Promise<void>;
}

/** One process owns an embedded database: it always leads. */
export const soleLeader: Leadership = { leads: async () => true, release: async () => {} };

/**
 * Leadership through a session-level Postgres advisory lock, on a connection of its own: the node
 * whose session holds the lock leads. Postgres drops the lock when that session ends — the node
 * stops, crashes or loses its connection — and the next node to ask takes it. A transaction-level
 * lock would only keep nodes from overlapping, and each would still run every period.
 */
export function advisoryLeadership(databaseUrl: string, key: bigint): Leadership {
  // No idle timeout and no lifetime: ending the session would hand the lead over for nothing.
  const session = postgres(databaseUrl, { ...linkOptions(), max: 1, idle_timeout: 0, max_lifetime: null });
  const high = Number(key >> 32n);
  const low = Number(key & 0xffff_ffffn);
  return {
    // Asks pg_locks first: try-locking a lock already held would stack another hold on it. After
    // a reconnect the new session holds nothing, and takes the lock only if it is free.
    leads: async () => {
      const [row] = await session<[{ leads: boolean }]>`
        select case when exists (
          select from pg_locks
          where locktype = 'advisory' and pid = pg_backend_pid() and granted
            and classid = ${high}::oid and objid = ${low}::oid and objsubid = 1
        ) then true else pg_try_advisory_lock(${key.toString()}::bigint) end as leads`;
      return row!.leads;
    },
    release: () => session.end({ timeout: 5 }),
  };
}
