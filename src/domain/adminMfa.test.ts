import { describe, expect, it } from 'vitest';
import { hasSecondFactor, mfaRegistrationRequired } from './adminMfa.js';

describe('admin second factor', () => {
  it('counts the phone and a Temporary Access Pass, not a password alone', () => {
    expect(hasSecondFactor(['pwd', 'mfa', 'pop', 'pin'])).toBe(true);
    expect(hasSecondFactor(['mfa', 'pop', 'face'])).toBe(true);
    expect(hasSecondFactor(['otp'])).toBe(true);
    expect(hasSecondFactor(['pwd'])).toBe(false);
    expect(hasSecondFactor([])).toBe(false);
  });

  it('asks only admins without one to register', () => {
    expect(mfaRegistrationRequired(true, ['pwd'])).toBe(true);
    expect(mfaRegistrationRequired(true, ['pwd', 'mfa', 'pop', 'pin'])).toBe(false);
    expect(mfaRegistrationRequired(false, ['pwd'])).toBe(false);
  });
});
