import { describe, expect, it } from 'vitest';
import { type RiskEvent, type RiskLevel, type UserRisk, isElevated, nextRisk, riskAfterSignIn, shownState } from './userRisk.js';

describe('user risk', () => {
  const none: UserRisk = { level: 'NONE', state: 'NONE' };
  const atRisk: UserRisk = { level: 'HIGH', state: 'AT_RISK' };
  const cases: Array<[UserRisk, RiskEvent, UserRisk & { detail: string }]> = [
    [none, 'FRAUD_REPORTED', { level: 'HIGH', state: 'AT_RISK', detail: 'USER_REPORTED_FRAUD' }],
    [atRisk, 'DISMISSED', { level: 'NONE', state: 'DISMISSED', detail: 'ADMIN_DISMISSED' }],
    [atRisk, 'CONFIRMED_COMPROMISED', { level: 'HIGH', state: 'CONFIRMED_COMPROMISED', detail: 'ADMIN_CONFIRMED_COMPROMISED' }],
    [atRisk, 'RESET', { level: 'NONE', state: 'REMEDIATED', detail: 'ADMIN_RESET' }],
    [{ level: 'HIGH', state: 'CONFIRMED_COMPROMISED' }, 'RESET', { level: 'NONE', state: 'REMEDIATED', detail: 'ADMIN_RESET' }],
    // A reset of a user never at risk leaves the state alone: there was nothing to remediate.
    [none, 'RESET', { level: 'NONE', state: 'NONE', detail: 'ADMIN_RESET' }],
    [{ level: 'NONE', state: 'DISMISSED' }, 'RESET', { level: 'NONE', state: 'DISMISSED', detail: 'ADMIN_RESET' }],
  ];
  it.each(cases)('%j after %s is %j', (current, event, next) => {
    expect(nextRisk(current, event)).toEqual(next);
  });

  it('lists users with any level above NONE, and shows a level raised before states existed as AT_RISK', () => {
    expect(isElevated({ level: 'LOW', state: 'AT_RISK' })).toBe(true);
    expect(isElevated({ level: 'NONE', state: 'DISMISSED' })).toBe(false);
    expect(shownState({ level: 'HIGH', state: 'NONE' })).toBe('AT_RISK');
    expect(shownState({ level: 'NONE', state: 'NONE' })).toBe('NONE');
    expect(shownState({ level: 'HIGH', state: 'CONFIRMED_COMPROMISED' })).toBe('CONFIRMED_COMPROMISED');
  });

  const raised = (level: RiskLevel) => ({ level, state: 'AT_RISK' as const, detail: 'RISKY_SIGN_IN' as const });
  const signInCases: Array<[UserRisk, RiskLevel, ReturnType<typeof riskAfterSignIn>]> = [
    [none, 'NONE', null],
    // A new address or city is everyday travel: it is logged, not held against the user.
    [none, 'LOW', null],
    [none, 'MEDIUM', raised('MEDIUM')],
    [none, 'HIGH', raised('HIGH')],
    [{ level: 'MEDIUM', state: 'AT_RISK' }, 'HIGH', raised('HIGH')],
    // Never lowered by a sign-in, and never raised to the level it already has.
    [{ level: 'HIGH', state: 'AT_RISK' }, 'MEDIUM', null],
    [{ level: 'MEDIUM', state: 'AT_RISK' }, 'MEDIUM', null],
    // A dismissed user is raised again by a new risky sign-in.
    [{ level: 'NONE', state: 'DISMISSED' }, 'MEDIUM', raised('MEDIUM')],
    // A confirmed compromise is the admin's to settle.
    [{ level: 'HIGH', state: 'CONFIRMED_COMPROMISED' }, 'HIGH', null],
  ];
  it.each(signInCases)('%j after a %s sign-in is %j', (current, level, next) => {
    expect(riskAfterSignIn(current, level)).toEqual(next);
  });
});
