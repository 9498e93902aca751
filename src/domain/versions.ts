import { z } from 'zod';

/**
 * Dotted numeric versions ("17.4.1", "6.2403.1234"), compared part by part as numbers, with
 * missing parts read as zero ("8" = "8.0"). Pure: the OS and app minimums of tenant settings.
 */

/** One to four dot-separated numbers, each at most six digits (no real OS or app version is longer). */
const VERSION = /^\d{1,6}(\.\d{1,6}){0,3}$/;

export const versionSchema = z
  .string()
  .trim()
  .regex(VERSION, 'Give a version of one to four dot-separated numbers, such as "17.4.1".');

export type Platform = 'IOS' | 'ANDROID';

export const platformNames: Record<Platform, string> = { IOS: 'iOS', ANDROID: 'Android' };

const parts = (version: string) => version.split('.').map(Number);

/** Negative when a < b, zero when equal, positive when a > b. Both must match versionSchema. */
export function compareVersions(a: string, b: string): number {
  const left = parts(a);
  const right = parts(b);
  for (let i = 0; i < Math.max(left.length, right.length); i++) {
    const difference = (left[i] ?? 0) - (right[i] ?? 0);
    if (difference !== 0) return Math.sign(difference);
  }
  return 0;
}

export const isAtLeast = (version: string, minimum: string) => compareVersions(version, minimum) >= 0;

/** The minimum OS version the tenant supports on a platform. */
export const minimumOsVersion = (minimums: { ios: string; android: string }, platform: Platform) =>
  platform === 'IOS' ? minimums.ios : minimums.android;
