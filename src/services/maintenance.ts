import { type Leadership, advisoryLeadership, soleLeader } from '../db/leadership.js';
import type { HousekeepingOutcome } from '../metrics.js';
import { forgetExpiredActivationCodes } from './activation.js';
import type { App } from './app.js';
import { expireAttempts } from './attempts.js';
import { forgetExpiredAssertionIds } from './devices.js';
import { forgetExpiredOidcRecords } from './oidc/adapter.js';

/** Advisory-lock key whose holder does the cluster's housekeeping ('phhk' in ASCII). */
const HOUSEKEEPING_LOCK_KEY = 0x7068_686bn;

/**
 * Housekeeping: forgets what has expired and expires what is overdue; run each period by the node
 * that leads (and by tests after they move the clock). Each step is a compare-and-set, so two
 * nodes that overlap — while the lead changes hands — do no harm.
 */
export async function runMaintenance(app: App): Promise<void> {
  await forgetExpiredAssertionIds(app);
  await forgetExpiredActivationCodes(app);
  await expireAttempts(app);
  await forgetExpiredOidcRecords(app.db, app.clock.now());
}

/** Who does housekeeping: one node of those sharing a Postgres database; the only one on PGlite. */
export const housekeepingLeadership = (databaseUrl: string | undefined): Leadership =>
  databaseUrl ? advisoryLeadership(databaseUrl, HOUSEKEEPING_LOCK_KEY) : soleLeader;

/** One housekeeping period of this node: the work if it leads, nothing if another node does. */
export async function housekeepingPeriod(app: App, leadership: Leadership): Promise<HousekeepingOutcome> {
  if (!(await leadership.leads())) return 'skipped';
  await runMaintenance(app);
  return 'ran';
}
