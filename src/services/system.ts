import { randomBytes } from 'node:crypto';
import type { Clock } from '../domain/clock.js';

/**
 * What the services take from the machine: the wall clock and cryptographic randomness. The
 * domain reads neither; it is handed times and values, so its rules are tested without either.
 */

export const systemClock: Clock = { now: () => new Date() };

/** A random URL-safe secret of the given number of bytes (16 bytes = 128 bits). */
export const randomSecret = (bytes = 32) => randomBytes(bytes).toString('base64url');
