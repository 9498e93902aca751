import { describe, expect, it } from 'vitest';
import { type PushFacts, amrFor, browserReason, decide, isFinal, isStoredAnswer, logStatusOf, refusalReason, sourcesOf } from './signInAttempt.js';

const now = new Date('2030-01-01T00:00:00Z');
const ok: PushFacts = {
  now,
  kind: 'PHONE_SIGN_IN',
  userFound: true,
  disabled: false,
  policyAllows: true,
  pushAllowedByTenant: true,
  hasLiveCredential: true,
  hasLiveDevice: true,
  lockedUntil: null,
  pushMutedUntil: null,
  rateLimited: false,
  hasPendingAttempt: false,
};

describe('state machine', () => {
  it('moves only forward, and only from the states that allow it', () => {
    expect(sourcesOf('APPROVED')).toEqual(['PENDING']);
    expect(sourcesOf('DENIED')).toEqual(['PENDING']);
    expect(sourcesOf('COMPLETED')).toEqual(['APPROVED']);
    expect(sourcesOf('CANCELLED')).toEqual(['PENDING', 'APPROVED']);
    expect(sourcesOf('EXPIRED')).toEqual(['PENDING', 'APPROVED']);
    expect(sourcesOf('PENDING')).toEqual([]);
    expect(['DENIED', 'EXPIRED', 'CANCELLED', 'COMPLETED'].every((s) => isFinal(s as never))).toBe(true);
    expect(isFinal('PENDING') || isFinal('APPROVED')).toBe(false);
  });

  it('reads in the sign-in log as in progress, success or failure', () => {
    expect(logStatusOf('PENDING')).toBe('IN_PROGRESS');
    expect(logStatusOf('APPROVED')).toBe('IN_PROGRESS');
    expect(logStatusOf('COMPLETED')).toBe('SUCCESS');
    expect(logStatusOf('EXPIRED')).toBe('FAILURE');
  });
});

describe('refusalReason', () => {
  it('pushes when everything allows it', () => {
    expect(refusalReason(ok)).toBeNull();
  });

  it('names the real reason, in a fixed order', () => {
    expect(refusalReason({ ...ok, userFound: false })).toBe('USER_NOT_FOUND');
    expect(refusalReason({ ...ok, disabled: true, policyAllows: false })).toBe('USER_DISABLED');
    expect(refusalReason({ ...ok, pushAllowedByTenant: false })).toBe('PUSH_NOT_ALLOWED');
    expect(refusalReason({ ...ok, policyAllows: false, hasLiveCredential: false })).toBe('NOT_ENABLED_BY_POLICY');
    expect(refusalReason({ ...ok, hasLiveCredential: false })).toBe('NO_CREDENTIAL');
    expect(refusalReason({ ...ok, kind: 'PUSH_MFA', hasLiveCredential: false })).toBeNull();
    expect(refusalReason({ ...ok, kind: 'PUSH_MFA', hasLiveCredential: false, hasLiveDevice: false })).toBe('NO_DEVICE');
    expect(refusalReason({ ...ok, lockedUntil: new Date(now.getTime() + 1000) })).toBe('LOCKED_OUT');
    expect(refusalReason({ ...ok, lockedUntil: now })).toBeNull();
    expect(refusalReason({ ...ok, pushMutedUntil: new Date(now.getTime() + 1000) })).toBe('PUSH_MUTED');
    expect(refusalReason({ ...ok, rateLimited: true })).toBe('RATE_LIMITED');
    expect(refusalReason({ ...ok, hasPendingAttempt: true })).toBe('PENDING_REQUEST');
  });

  it('answers PENDING_REQUEST only where a push would otherwise have started', () => {
    const pending = { ...ok, hasPendingAttempt: true };
    expect(refusalReason({ ...pending, lockedUntil: new Date(now.getTime() + 1000) })).toBe('LOCKED_OUT');
    expect(refusalReason({ ...pending, pushMutedUntil: new Date(now.getTime() + 1000) })).toBe('PUSH_MUTED');
    expect(refusalReason({ ...pending, rateLimited: true })).toBe('RATE_LIMITED');
    expect(refusalReason({ ...pending, hasLiveCredential: false })).toBe('NO_CREDENTIAL');
  });

  it('shows the browser one reason for every refusal but a pending request', () => {
    expect(browserReason('USER_NOT_FOUND')).toBe('PASSWORD_REQUIRED');
    expect(browserReason('LOCKED_OUT')).toBe('PASSWORD_REQUIRED');
    expect(browserReason('NOT_ENABLED_BY_POLICY')).toBe('PASSWORD_REQUIRED');
    expect(browserReason('PENDING_REQUEST')).toBe('PENDING_REQUEST');
  });
});

describe('decide', () => {
  it('approves the right number after user verification', () => {
    expect(decide({ decision: 'approve', uv: 'pin', number: '42' }, '42')).toEqual({ kind: 'APPROVED', uv: 'pin' });
    expect(decide({ decision: 'approve', uv: 'biometric', number: '42' }, '42')).toEqual({ kind: 'APPROVED', uv: 'biometric' });
    expect(decide({ decision: 'approve', uv: 'face', number: '42' }, '42')).toEqual({ kind: 'APPROVED', uv: 'face' });
  });

  it('refuses an approval without user verification, whatever the number', () => {
    expect(decide({ decision: 'approve', uv: 'none', number: '42' }, '42')).toEqual({ kind: 'REFUSED', reason: 'USER_VERIFICATION_REQUIRED' });
  });

  it('denies a wrong number, a decline and a report', () => {
    expect(decide({ decision: 'approve', uv: 'pin', number: '24' }, '42')).toEqual({ kind: 'DENIED', reason: 'NUMBER_MISMATCH' });
    expect(decide({ decision: 'deny', uv: 'none', number: '' }, '42')).toEqual({ kind: 'DENIED', reason: 'USER_DECLINED' });
    expect(decide({ decision: 'report', uv: 'none', number: '' }, '42')).toEqual({ kind: 'DENIED', reason: 'FRAUD_REPORTED' });
  });

  it('says how the user was verified, in RFC 8176 terms', () => {
    expect(amrFor('PHONE_SIGN_IN', 'pin')).toEqual(['mfa', 'pop', 'pin']);
    expect(amrFor('PHONE_SIGN_IN', 'biometric')).toEqual(['mfa', 'pop', 'user']);
    expect(amrFor('PHONE_SIGN_IN', 'face')).toEqual(['mfa', 'pop', 'face']);
    expect(amrFor('PHONE_SIGN_IN', 'fingerprint')).toEqual(['mfa', 'pop', 'fpt']);
    expect(amrFor('PUSH_MFA', 'iris')).toEqual(['pwd', 'mfa', 'pop', 'iris']);
    expect(amrFor('PUSH_MFA', 'pin')).toEqual(['pwd', 'mfa', 'pop', 'pin']);
  });
});

describe('telling a replay of the stored answer from a new answer', () => {
  const approved = { number: '42', amr: ['mfa', 'pop', 'pin'], failureReason: null, userVerification: 'pin' };
  const declined = { number: '42', amr: null, failureReason: 'USER_DECLINED', userVerification: 'pin' };

  it('recognises the answer that was stored, whatever later happened to the attempt', () => {
    expect(isStoredAnswer({ decision: 'approve', uv: 'pin', number: '42' }, approved)).toBe(true);
    expect(isStoredAnswer({ decision: 'approve', uv: 'pin', number: '42' }, { ...approved, failureReason: 'SUPERSEDED_BY_FRAUD_REPORT' })).toBe(true);
    expect(isStoredAnswer({ decision: 'deny', uv: 'pin', number: '' }, declined)).toBe(true);
    expect(isStoredAnswer({ decision: 'approve', uv: 'pin', number: '41' }, { ...declined, failureReason: 'NUMBER_MISMATCH' })).toBe(true);
  });

  it('treats any other answer as new', () => {
    expect(isStoredAnswer({ decision: 'approve', uv: 'face', number: '42' }, approved)).toBe(false);
    expect(isStoredAnswer({ decision: 'deny', uv: 'pin', number: '' }, approved)).toBe(false);
    expect(isStoredAnswer({ decision: 'approve', uv: 'pin', number: '42' }, declined)).toBe(false);
    expect(isStoredAnswer({ decision: 'report', uv: 'pin', number: '' }, declined)).toBe(false);
    expect(isStoredAnswer({ decision: 'approve', uv: 'none', number: '42' }, { ...approved, userVerification: 'none' })).toBe(false);
    expect(isStoredAnswer({ decision: 'deny', uv: 'pin', number: '' }, { number: '42', amr: null, failureReason: 'NO_RESPONSE', userVerification: null })).toBe(false);
  });
});
