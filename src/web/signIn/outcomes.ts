import type { AttemptState } from './operations.js';

/**
 * The sentence a person reads for each way a sign-in can end, and what they can do next. Pure,
 * so every outcome has exactly one sentence.
 */

const ENDED: Record<string, string> = {
  USER_DECLINED: 'You declined the sign-in request on your phone. Select Next to send a new request, or use your password.',
  NUMBER_MISMATCH: 'The number entered on your phone did not match the one shown here, so the request was ended. Select Next to try again.',
  NO_RESPONSE: 'The request expired before it was answered on your phone. Select Next to send a new one.',
  NOT_REDEEMED: 'The request was approved but not completed in time. Select Next to send a new one.',
  FRAUD_REPORTED: 'You reported this sign-in as not yours. It was blocked and recorded, and requests to your phone are paused for a while.',
  SUPERSEDED_BY_FRAUD_REPORT: 'This sign-in was cancelled because a sign-in was reported as not yours. Use your password, or try again later.',
  LOCKED_OUT: 'Phone sign-in is locked after repeated failures. Try again later, or use your password.',
  CANCELLED_BY_USER: 'Sign-in cancelled.',
};

/** The sentence for an attempt that ended without a session, by its failure reason or status. */
export function endedSentence(state: AttemptState): string {
  const byReason = state.failureReason ? ENDED[state.failureReason] : undefined;
  if (byReason) return byReason;
  if (state.status === 'EXPIRED') return ENDED.NO_RESPONSE!;
  if (state.status === 'DENIED') return 'The sign-in request was denied on your phone. Select Next to try again, or use your password.';
  return 'The sign-in request ended. Select Next to try again.';
}

export const PASSWORD_REQUIRED = 'Phone sign-in is not available for this account. Enter your password, or use a Temporary Access Pass.';
export const PENDING_REQUEST = 'A sign-in request is already waiting on your phone. Answer it there, or use your password instead.';
export const SENT = 'We sent a sign-in request to your phone. Enter the number shown here in your Authenticator app.';
export const APPROVED = 'Approved on your phone. Signing you in…';
export const SIGNED_OUT = 'You signed out.';
export const RECONNECTING = 'Live updates were interrupted; checking for your answer every few seconds.';

/** "1:05" for a number of seconds left. */
export function clock(seconds: number): string {
  const s = Math.max(0, Math.ceil(seconds));
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
}
