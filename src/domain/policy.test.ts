import { describe, expect, it } from 'vitest';
import { allowsPhoneSignIn, allowsPushMfa, type EffectivePolicy, effectivePolicy, type PhoneSignInPolicy, type PolicySubject, type PolicyTarget } from './policy.js';

const USER_ID = 'user-1';
const GROUP_ID = 'group-1';
const OTHER_GROUP_ID = 'group-2';

const member: PolicySubject = { id: USER_ID, disabled: false, groupIds: [GROUP_ID] };
const outsider: PolicySubject = { id: 'user-2', disabled: false, groupIds: [] };
const disabled: PolicySubject = { ...member, disabled: true };

const all = (mode: PolicyTarget['authenticationMode'] = 'ANY'): PolicyTarget => ({ targetType: 'ALL_USERS', targetId: null, authenticationMode: mode });
const group = (id: string, mode: PolicyTarget['authenticationMode'] = 'ANY'): PolicyTarget => ({ targetType: 'GROUP', targetId: id, authenticationMode: mode });
const user = (id: string, mode: PolicyTarget['authenticationMode'] = 'ANY'): PolicyTarget => ({ targetType: 'USER', targetId: id, authenticationMode: mode });
const policy = (includeTargets: PolicyTarget[], excludeTargets: PolicyTarget[] = [], enabled = true): PhoneSignInPolicy => ({
  enabled,
  includeTargets,
  excludeTargets,
});

const viaPolicy = (mode: PolicyTarget['authenticationMode']): EffectivePolicy => ({ allowed: true, mode, source: 'POLICY' });
const denied = (reason: Extract<EffectivePolicy, { allowed: false }>['reason']): EffectivePolicy => ({ allowed: false, reason });

const cases: Array<[name: string, subject: PolicySubject, saved: PhoneSignInPolicy | null, legacy: boolean, expected: EffectivePolicy]> = [
  ['all users are included', outsider, policy([all()]), false, viaPolicy('ANY')],
  ['a group includes its members', member, policy([group(GROUP_ID)]), false, viaPolicy('ANY')],
  ['a group does not include others', outsider, policy([group(GROUP_ID)]), false, denied('NOT_TARGETED')],
  ['a user target includes that user', member, policy([user(USER_ID)]), false, viaPolicy('ANY')],
  ['a user target does not include others', outsider, policy([user(USER_ID)]), false, denied('NOT_TARGETED')],
  ['an empty policy includes nobody', member, policy([]), false, denied('NOT_TARGETED')],
  ['exclude by group wins over all users', member, policy([all()], [group(GROUP_ID)]), false, denied('EXCLUDED')],
  ['exclude by user wins over an include of the same user', member, policy([user(USER_ID)], [user(USER_ID)]), false, denied('EXCLUDED')],
  ['exclude of another group leaves the user in', member, policy([all()], [group(OTHER_GROUP_ID)]), false, viaPolicy('ANY')],
  ['mode ANY', member, policy([all('ANY')]), false, viaPolicy('ANY')],
  ['mode PUSH', member, policy([all('PUSH')]), false, viaPolicy('PUSH')],
  ['mode DEVICE_BASED_PUSH', member, policy([all('DEVICE_BASED_PUSH')]), false, viaPolicy('DEVICE_BASED_PUSH')],
  ['the same mode twice stays that mode', member, policy([all('PUSH'), group(GROUP_ID, 'PUSH')]), false, viaPolicy('PUSH')],
  ['PUSH and DEVICE_BASED_PUSH together grant ANY', member, policy([all('PUSH'), user(USER_ID, 'DEVICE_BASED_PUSH')]), false, viaPolicy('ANY')],
  ['a non-matching target adds no mode', outsider, policy([all('PUSH'), group(GROUP_ID, 'DEVICE_BASED_PUSH')]), false, viaPolicy('PUSH')],
  ['legacy only, switched on', member, null, true, { allowed: true, mode: 'ANY', source: 'LEGACY' }],
  ['legacy only, switched off', member, null, false, denied('LEGACY_DISABLED')],
  ['a saved policy supersedes legacy on', outsider, policy([group(GROUP_ID)]), true, denied('NOT_TARGETED')],
  ['a saved disabled policy supersedes legacy on', member, policy([all()], [], false), true, denied('POLICY_DISABLED')],
  ['a disabled policy denies even included users', member, policy([all()], [], false), false, denied('POLICY_DISABLED')],
  ['a disabled user is denied under a policy', disabled, policy([all()]), false, denied('USER_DISABLED')],
  ['a disabled user is denied under legacy', disabled, null, true, denied('USER_DISABLED')],
];

describe('effectivePolicy', () => {
  it.each(cases)('%s', (_name, subject, saved, legacy, expected) => {
    expect(effectivePolicy(subject, saved, legacy)).toEqual(expected);
  });
});

describe('what each mode allows', () => {
  it.each([
    ['ANY', true, true],
    ['PUSH', false, true],
    ['DEVICE_BASED_PUSH', true, false],
  ] as const)('%s: phone sign-in %s, push MFA %s', (mode, phone, push) => {
    expect(allowsPhoneSignIn(viaPolicy(mode))).toBe(phone);
    expect(allowsPushMfa(viaPolicy(mode))).toBe(push);
  });

  it('a denial allows neither', () => {
    expect(allowsPhoneSignIn(denied('EXCLUDED'))).toBe(false);
    expect(allowsPushMfa(denied('EXCLUDED'))).toBe(false);
  });
});
