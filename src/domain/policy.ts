/** How a targeted user may use the authenticator: push MFA, passwordless phone sign-in, or both. */
export type AuthenticationMode = 'ANY' | 'PUSH' | 'DEVICE_BASED_PUSH';
export type TargetType = 'ALL_USERS' | 'GROUP' | 'USER';

export interface PolicyTarget {
  targetType: TargetType;
  /** Group or user id; null for ALL_USERS. */
  targetId: string | null;
  /** Ignored on exclude targets. */
  authenticationMode: AuthenticationMode;
}

export interface PhoneSignInPolicy {
  enabled: boolean;
  includeTargets: PolicyTarget[];
  excludeTargets: PolicyTarget[];
}

export interface PolicySubject {
  id: string;
  disabled: boolean;
  groupIds: readonly string[];
}

export type PolicyDenialReason = 'USER_DISABLED' | 'POLICY_DISABLED' | 'NOT_TARGETED' | 'EXCLUDED' | 'LEGACY_DISABLED';

export type EffectivePolicy =
  | { allowed: true; mode: AuthenticationMode; source: 'POLICY' | 'LEGACY' }
  | { allowed: false; reason: PolicyDenialReason };

/**
 * The effective passwordless phone sign-in policy for one user.
 * A saved policy supersedes the legacy directory-wide switch for good; exclusion wins over
 * inclusion; several matching include targets grant the union of their modes.
 */
export function effectivePolicy(
  user: PolicySubject,
  policy: PhoneSignInPolicy | null,
  legacyEnabled: boolean,
): EffectivePolicy {
  if (user.disabled) return { allowed: false, reason: 'USER_DISABLED' };
  if (policy === null) {
    return legacyEnabled ? { allowed: true, mode: 'ANY', source: 'LEGACY' } : { allowed: false, reason: 'LEGACY_DISABLED' };
  }
  if (!policy.enabled) return { allowed: false, reason: 'POLICY_DISABLED' };
  const matches = (target: PolicyTarget) =>
    target.targetType === 'ALL_USERS' ||
    (target.targetType === 'USER' && target.targetId === user.id) ||
    (target.targetType === 'GROUP' && target.targetId !== null && user.groupIds.includes(target.targetId));
  if (policy.excludeTargets.some(matches)) return { allowed: false, reason: 'EXCLUDED' };
  const modes = new Set(policy.includeTargets.filter(matches).map((t) => t.authenticationMode));
  if (modes.size === 0) return { allowed: false, reason: 'NOT_TARGETED' };
  const mode: AuthenticationMode = modes.size === 1 ? [...modes][0]! : 'ANY';
  return { allowed: true, mode, source: 'POLICY' };
}

/** Whether a mode lets the user sign in with the phone alone, without a password. */
export const allowsPhoneSignIn = (p: EffectivePolicy) => p.allowed && (p.mode === 'ANY' || p.mode === 'DEVICE_BASED_PUSH');

/** Whether a mode lets the user approve a push as a second factor after a password. */
export const allowsPushMfa = (p: EffectivePolicy) => p.allowed && (p.mode === 'ANY' || p.mode === 'PUSH');
