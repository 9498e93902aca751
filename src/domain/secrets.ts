import { createHash, timingSafeEqual } from 'node:crypto';

/** SHA-256 in hex: how high-entropy secrets (codes, passes, attempt secrets) are stored. */
export const sha256 = (value: string) => createHash('sha256').update(value, 'utf8').digest('hex');

/** Compares two strings in time that does not depend on where they differ. */
export function constantTimeEqual(a: string, b: string): boolean {
  const left = createHash('sha256').update(a, 'utf8').digest();
  const right = createHash('sha256').update(b, 'utf8').digest();
  return timingSafeEqual(left, right) && a.length === b.length;
}
