import type { App } from './app.js';

/**
 * Periodic housekeeping, run by every node each second (and by tests after they move the clock).
 * Each step must be safe to run concurrently on several nodes.
 */
export async function runMaintenance(_app: App): Promise<void> {}
