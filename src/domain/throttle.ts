/**
 * Throttling arithmetic (NIST SP 800-63B rev 4 §3.2.2, Entra "smart lockout"): failures count per
 * user across attempts, a lockout doubles with every further failure, and pushes are rate-limited.
 * A user has one counter per lock, and the same arithmetic runs each.
 */

/**
 * What a user can be locked out of, each counted apart: a person mistyping their password must not
 * lock their phone sign-in, and wrong numbers on the phone must not lock their password.
 */
export type Lock = 'PHONE_SIGN_IN' | 'PASSWORD';

/** First lockout: long enough to stop a burst of guesses, short enough not to lock a person out for long. */
export const LOCKOUT_BASE_S = 60;
/** Ceiling of the doubling back-off: an hour, after which each failure keeps it at an hour. */
export const LOCKOUT_MAX_S = 3600;

export interface FailureState {
  /** Failures since the last success; a new attempt never resets it. */
  failures: number;
  lockouts: number;
  lockedUntil: Date | null;
}

/** Seconds of lockout after the `failures`-th failure: none below the threshold, then 60 s doubling to 1 h. */
export function lockoutSeconds(failures: number, threshold: number): number {
  if (failures < threshold) return 0;
  const doublings = Math.min(failures - threshold, 16); // 2^16 minutes is far above the ceiling; keeps the power finite
  return Math.min(LOCKOUT_BASE_S * 2 ** doublings, LOCKOUT_MAX_S);
}

/** The state after one more failure, and whether it starts (or extends) a lockout. */
export function afterFailure(state: FailureState, threshold: number, now: Date): FailureState & { lockedNow: boolean } {
  const failures = state.failures + 1;
  const seconds = lockoutSeconds(failures, threshold);
  if (seconds === 0) return { ...state, failures, lockedNow: false };
  const until = new Date(now.getTime() + seconds * 1000);
  // A lockout never shortens one already running.
  const lockedUntil = state.lockedUntil && state.lockedUntil > until ? state.lockedUntil : until;
  return { failures, lockouts: state.lockouts + 1, lockedUntil, lockedNow: true };
}

/** A success clears the failures and any lockout. */
export const afterSuccess = (): FailureState => ({ failures: 0, lockouts: 0, lockedUntil: null });

export const isLocked = (lockedUntil: Date | null, now: Date) => lockedUntil !== null && lockedUntil > now;

/** Pushes are counted from here: the rate-limit window, but never before the last success. */
export function pushWindowStart(now: Date, windowMinutes: number, lastSuccessAt: Date | null): Date {
  const windowStart = new Date(now.getTime() - windowMinutes * 60_000);
  return lastSuccessAt && lastSuccessAt > windowStart ? lastSuccessAt : windowStart;
}

/** Whether one more push would exceed the limit, given the pushes already sent since the window start. */
export const pushRateLimited = (pushesSinceWindowStart: number, maxPushes: number) => pushesSinceWindowStart >= maxPushes;
