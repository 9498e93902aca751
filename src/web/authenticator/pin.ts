import { type StoredPin, loadPin, savePin } from './storage.js';

/**
 * The local PIN that guards the phone sign-in credential: set on first use, then checked before
 * every approval against a salted PBKDF2 hash (WebCrypto). The PIN never leaves this browser; the
 * service learns only that it was checked (`uv: "pin"`).
 */

/** OWASP's 2023 floor for PBKDF2-HMAC-SHA256: slows guessing of a stolen hash. */
const PBKDF2_ITERATIONS = 600_000;
const SALT_BYTES = 16;
const HASH_BITS = 256;
/** Digits only, as on a phone's keypad; four at least, as phone PINs. */
const PIN_FORMAT = /^\d{4,12}$/;

export class PinError extends Error {}

async function derive(pin: string, salt: Uint8Array, iterations: number): Promise<Uint8Array> {
  const material = await crypto.subtle.importKey('raw', new TextEncoder().encode(pin), 'PBKDF2', false, ['deriveBits']);
  return new Uint8Array(await crypto.subtle.deriveBits({ name: 'PBKDF2', hash: 'SHA-256', salt: salt as BufferSource, iterations }, material, HASH_BITS));
}

/** Compares every byte, so the time taken does not tell how much of a guess was right. */
function same(a: Uint8Array, b: Uint8Array): boolean {
  let difference = a.length ^ b.length;
  for (let i = 0; i < Math.min(a.length, b.length); i++) difference |= a[i]! ^ b[i]!;
  return difference === 0;
}

export const hasPin = async () => Boolean(await loadPin());

/**
 * Checks the PIN; on first use (no PIN yet) makes it this device's PIN. Throws PinError with a
 * sentence for the person when it is refused.
 */
export async function verifyOrSetPin(pin: string): Promise<'checked' | 'set'> {
  const stored = await loadPin();
  if (!stored) {
    if (!PIN_FORMAT.test(pin)) throw new PinError('Choose a PIN of 4 to 12 digits.');
    const salt = crypto.getRandomValues(new Uint8Array(SALT_BYTES));
    const hash: StoredPin = { salt, hash: await derive(pin, salt, PBKDF2_ITERATIONS), iterations: PBKDF2_ITERATIONS };
    await savePin(hash);
    return 'set';
  }
  if (!pin) throw new PinError('Enter your PIN to approve.');
  if (!same(await derive(pin, stored.salt, stored.iterations), stored.hash)) throw new PinError('That PIN is not right. Try again.');
  return 'checked';
}
