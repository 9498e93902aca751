import { describe, expect, it } from 'vitest';
import { afterFailure, afterSuccess, isLocked, lockoutSeconds, pushRateLimited, pushWindowStart } from './throttle.js';

const now = new Date('2030-01-01T00:00:00Z');
const later = (s: number) => new Date(now.getTime() + s * 1000);

describe('lockout back-off', () => {
  it('is free below the threshold, then doubles from 60 s up to 1 h', () => {
    expect(lockoutSeconds(9, 10)).toBe(0);
    expect([10, 11, 12, 13, 14, 15, 16, 17, 40].map((f) => lockoutSeconds(f, 10))).toEqual([60, 120, 240, 480, 960, 1920, 3600, 3600, 3600]);
    expect(lockoutSeconds(10_000, 3)).toBe(3600);
  });

  it('counts failures across attempts and locks at the threshold', () => {
    let state = { failures: 0, lockouts: 0, lockedUntil: null as Date | null };
    for (let i = 1; i < 3; i++) {
      const next = afterFailure(state, 3, now);
      expect(next.lockedNow).toBe(false);
      expect(next.failures).toBe(i);
      state = next;
    }
    const locked = afterFailure(state, 3, now);
    expect(locked).toMatchObject({ failures: 3, lockouts: 1, lockedNow: true, lockedUntil: later(60) });
    expect(isLocked(locked.lockedUntil, later(59))).toBe(true);
    expect(isLocked(locked.lockedUntil, later(60))).toBe(false);
    const again = afterFailure(locked, 3, later(60));
    expect(again).toMatchObject({ failures: 4, lockouts: 2, lockedUntil: later(180) });
  });

  it('never shortens a running lockout', () => {
    const state = { failures: 9, lockouts: 3, lockedUntil: later(3000) };
    expect(afterFailure(state, 10, now).lockedUntil).toEqual(later(3000));
  });

  it('is cleared by a success', () => {
    expect(afterSuccess()).toEqual({ failures: 0, lockouts: 0, lockedUntil: null });
  });
});

describe('push rate limit', () => {
  it('counts from the window start, or from the last success when that is later', () => {
    expect(pushWindowStart(now, 10, null)).toEqual(later(-600));
    expect(pushWindowStart(now, 10, later(-60))).toEqual(later(-60));
    expect(pushWindowStart(now, 10, later(-6000))).toEqual(later(-600));
  });

  it('allows exactly maxPushes', () => {
    expect(pushRateLimited(4, 5)).toBe(false);
    expect(pushRateLimited(5, 5)).toBe(true);
  });
});
