// A user's risk, as Entra ID Protection keeps it: a level, a state saying what raised or settled
// it, and the stable reason of the last change. Pure rules; services/userRisk.ts applies them.

export const RISK_LEVELS = ['NONE', 'LOW', 'MEDIUM', 'HIGH'] as const;
export type RiskLevel = (typeof RISK_LEVELS)[number];

export const RISK_STATES = ['NONE', 'AT_RISK', 'DISMISSED', 'CONFIRMED_COMPROMISED', 'REMEDIATED'] as const;
export type RiskState = (typeof RISK_STATES)[number];

/** Why a user's risk last changed: a stable code for the audit log and the admin's list. */
export const RISK_DETAILS = {
  USER_REPORTED_FRAUD: 'the user reported a sign-in request on the phone as not theirs',
  RISKY_SIGN_IN: "a sign-in's risk signals (impossible travel, an unfamiliar place, an anonymising network, a phone far from the browser) rated it MEDIUM or HIGH",
  ADMIN_DISMISSED: 'an admin judged the risk a false positive',
  ADMIN_CONFIRMED_COMPROMISED: 'an admin confirmed the account compromised: sessions revoked, authenticators removed',
  ADMIN_RESET: 'an admin cleared the sign-in protection (resetUserSignInProtection)',
} as const;
export type RiskDetail = keyof typeof RISK_DETAILS;

export interface UserRisk {
  level: RiskLevel;
  state: RiskState;
}

export type RiskEvent = 'FRAUD_REPORTED' | 'DISMISSED' | 'CONFIRMED_COMPROMISED' | 'RESET';

/** Sign-in risk levels that raise the user's own risk: LOW (a new address or city) is everyday travel. */
const RAISING_SIGN_IN_LEVELS: readonly RiskLevel[] = ['MEDIUM', 'HIGH'];

/**
 * What a sign-in of this risk level makes of the user's risk: raised to it (AT_RISK) when it is
 * MEDIUM or HIGH and above the user's level now; null when nothing changes. A compromise an admin
 * confirmed stays as it is.
 */
export function riskAfterSignIn(current: UserRisk, signInLevel: RiskLevel): (UserRisk & { detail: RiskDetail }) | null {
  if (!RAISING_SIGN_IN_LEVELS.includes(signInLevel) || current.state === 'CONFIRMED_COMPROMISED') return null;
  if (RISK_LEVELS.indexOf(signInLevel) <= RISK_LEVELS.indexOf(current.level)) return null;
  return { level: signInLevel, state: 'AT_RISK', detail: 'RISKY_SIGN_IN' };
}

/** What each event makes of the risk; RESET remediates only a risk there was. */
export function nextRisk(current: UserRisk, event: RiskEvent): UserRisk & { detail: RiskDetail } {
  switch (event) {
    case 'FRAUD_REPORTED':
      return { level: 'HIGH', state: 'AT_RISK', detail: 'USER_REPORTED_FRAUD' };
    case 'DISMISSED':
      return { level: 'NONE', state: 'DISMISSED', detail: 'ADMIN_DISMISSED' };
    case 'CONFIRMED_COMPROMISED':
      return { level: 'HIGH', state: 'CONFIRMED_COMPROMISED', detail: 'ADMIN_CONFIRMED_COMPROMISED' };
    case 'RESET':
      return { level: 'NONE', state: isElevated(current) ? 'REMEDIATED' : current.state, detail: 'ADMIN_RESET' };
  }
}

/** Whether the user belongs on the admins' list of risky users. */
export const isElevated = (risk: UserRisk) => risk.level !== 'NONE';

/** The state shown: rows raised before risk states existed hold a level with state NONE. */
export const shownState = (risk: UserRisk): RiskState => (risk.state === 'NONE' && isElevated(risk) ? 'AT_RISK' : risk.state);
