import { forgetExpiredActivationCodes } from './activation.js';
import type { App } from './app.js';
import { expireAttempts } from './attempts.js';
import { forgetExpiredAssertionIds } from './devices.js';

/**
 * Periodic housekeeping, run by every node each second (and by tests after they move the clock).
 * Each step must be safe to run concurrently on several nodes.
 */
export async function runMaintenance(app: App): Promise<void> {
  await forgetExpiredAssertionIds(app);
  await forgetExpiredActivationCodes(app);
  await expireAttempts(app);
}
