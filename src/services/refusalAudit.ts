import { eq } from 'drizzle-orm';
import type { Database } from '../db/client.js';
import { auditLogs } from '../db/schema.js';
import type { Clock } from '../domain/clock.js';
import { type AuditEntry, auditRow } from './audit.js';
import { logWritten } from './useCase.js';

/** How long one audit row gathers the refusals of one source. */
export const REFUSAL_AUDIT_WINDOW_S = 60;
/** Above this many open windows, finished ones are forgotten as new refusals come. */
const SWEEP_ABOVE = 1000;

interface Window {
  endsAt: number;
  count: number;
  /** The count the row holds, or is being given. */
  writtenCount: number;
  /** The row's id once inserted, and each count written after it, in order. */
  written: Promise<number | undefined>;
}

/**
 * Audits refusals in aggregate: the first refusal of a source (actor, action and reason) writes a
 * row at once, and the refusals that follow within the window raise that row's
 * `after.refusals` count, so a client retrying in a loop writes one row a minute rather than one
 * per attempt. Windows are kept per node; each node writes its own row.
 */
export class RefusalAudit {
  private readonly windows = new Map<string, Window>();

  constructor(
    private readonly db: Database,
    private readonly clock: Clock,
  ) {}

  async record(entry: AuditEntry): Promise<void> {
    const source = JSON.stringify([entry.actor, entry.action, entry.targetId ?? null, entry.reasonCode ?? null]);
    const now = this.clock.now().getTime();
    if (this.windows.size > SWEEP_ABOVE) this.forgetFinished(now);
    const open = this.windows.get(source);
    let window = open && open.endsAt > now ? open : undefined;
    if (window) {
      window.count += 1;
      window.written = window.written.then((id) => this.raise(id, window!));
    } else {
      window = { endsAt: now + REFUSAL_AUDIT_WINDOW_S * 1000, count: 1, writtenCount: 1, written: Promise.resolve(undefined) };
      window.written = this.db
        .insert(auditLogs)
        .values(auditRow({ ...entry, result: 'FAILURE', after: counted(1) }))
        .returning({ id: auditLogs.id })
        .then(([row]) => {
          logWritten(this.db, entry.tenantId, 'AUDIT');
          return row?.id;
        });
      this.windows.set(source, window);
    }
    // A failed write ends the window, so the next refusal starts a row of its own.
    const written = window.written;
    written.catch(() => this.windows.get(source) === window && this.windows.delete(source));
    await written;
  }

  /** Writes the window's count, once for refusals that came while an earlier write was under way. */
  private async raise(id: number | undefined, window: Window): Promise<number | undefined> {
    if (id === undefined || window.writtenCount === window.count) return id;
    window.writtenCount = window.count;
    await this.db.update(auditLogs).set({ after: counted(window.count) }).where(eq(auditLogs.id, id));
    return id;
  }

  private forgetFinished(now: number) {
    for (const [source, window] of this.windows) if (window.endsAt <= now) this.windows.delete(source);
  }
}

const counted = (refusals: number) => ({ refusals, windowSeconds: REFUSAL_AUDIT_WINDOW_S });
