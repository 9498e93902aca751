import type { App } from './app.js';
import type { Auth } from './auth.js';
import { InvalidTokenError } from './tokens.js';

/** Verifies a device assertion and names the device speaking. */
export async function authenticateDevice(_app: App, _assertion: string): Promise<Extract<Auth, { kind: 'device' }>> {
  throw new InvalidTokenError('device assertions are not accepted yet');
}
