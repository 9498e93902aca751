/**
 * Stable codes of expected failures, each with what it means for a client developer. Clients
 * branch on the code; the message is for people. Add codes freely, never rename or reuse one.
 */
export const ERROR_CODE_DESCRIPTIONS = {
  INVALID_INPUT: 'The input is malformed, out of range or not allowed here; the message and field say which value and why.',
  NOT_FOUND: 'An id inside the input (the field says which, e.g. userIds or targetId) names nothing in your tenant: unknown and foreign ids look alike. When the thing the operation itself is about does not exist (or its secret is wrong), the answer is instead a top-level GraphQL error with extensions.code NOT_FOUND.',
  ALREADY_EXISTS: 'The name or domain is already taken; choose another.',
  INVALID_CREDENTIALS: 'The user name or password is wrong (the two are not told apart).',
  ACCOUNT_DISABLED: 'The account is disabled; an admin must enable it first.',
  FEDERATED_DOMAIN: "The user's domain is federated: send the password sign-in to the domain's own identity provider.",
  TEMPORARY_ACCESS_PASS_INVALID: 'The Temporary Access Pass is wrong, expired or used up (not told apart); ask an admin for a new one.',
  LAST_ADMIN: 'The change would leave the tenant without an enabled admin; make another user an admin first.',
  PUSH_NOTIFICATIONS_DISABLED: 'The tenant has push notifications turned off, a prerequisite of the authenticator app.',
  COMBINED_REGISTRATION_DISABLED: 'The tenant has combined security-info registration turned off, which adding the app relies on.',
  ACTIVATION_CODE_INVALID: 'An activation code that was never issued (or was mistyped); start again from Security info.',
  ACTIVATION_CODE_USED: 'An activation code that has already activated a device; start again from Security info.',
  ACTIVATION_CODE_EXPIRED: 'An activation code past its 10 minutes; start again from Security info.',
  INVALID_PROOF: 'A signed proof (activation or credential) was refused; the message says which check failed and what was expected.',
  OS_VERSION_UNSUPPORTED: "The phone's operating system is older than the tenant's minimum; the message names the minimum.",
  APP_VERSION_UNSUPPORTED: "The authenticator app is older than the tenant's minimum; the message names the minimum.",
  DEVICE_ALREADY_REGISTERED: 'The device key is already registered to a work account (one work account per device).',
  PHONE_SIGN_IN_NOT_ALLOWED: "The user's effective phone sign-in policy does not allow passwordless phone sign-in; an admin can change it.",
  TOO_MANY_AUTHENTICATORS: 'The user already has the tenant\'s maximum number of phones with phone sign-in; remove one first.',
  IN_USE: 'The thing is still referenced (a group named by the policy, a domain with users); remove the reference first.',
  LEGACY_POLICY_SUPERSEDED: 'The legacy phone sign-in switch no longer applies once a policy has been saved; change the policy instead.',
  INVALID_CHALLENGE_RESPONSE: 'A challenge response is malformed, of the wrong type, or answers another challenge or nonce.',
  CHALLENGE_RESPONSE_STALE: "A challenge response was signed too long ago (or in the future): check the phone's clock, sign again.",
  INVALID_SIGNATURE: 'The signature of a challenge response does not verify with the registered key its kid names.',
  TOO_MANY_INVALID_SIGNATURES:
    "This device sent too many challenge responses whose signatures did not verify, so its answers are refused for a while; the message says how long. Such answers never count towards the user's lockout.",
  CREDENTIAL_NOT_USABLE:
    "The response's kid names no key this device may answer the challenge with: PHONE_SIGN_IN needs this device's live phone sign-in credential; PUSH_MFA takes this device's key or that credential.",
  USER_VERIFICATION_REQUIRED: 'An approval must follow local user verification (PIN or biometric): uv was "none".',
  SIGN_IN_REFUSED_FOR_RISK:
    'The approval was refused because this phone is far from the browser that asked (the tenant holds such sign-ins back, as a relayed sign-in from a look-alike page looks like this); the message names both places. The attempt is DENIED with BROWSER_PHONE_APART.',
  SIGN_IN_NOT_APPROVED: 'completeSignIn before the phone approved, or after the attempt ended or was redeemed.',
  MFA_UNAVAILABLE: "The password was right but the push the user's policy requires cannot be sent now.",
  SETUP_CODE_INVALID: 'The first-run setup code is wrong, used up or burned after too many wrong tries; the message says which. A restart of the service prints a new one while no tenant exists.',
  ALREADY_SET_UP: 'The service already has a tenant, so first-run setup is closed; sign in, or use the operator API (OPERATOR_TOKEN).',
  USER_NOT_AT_RISK: 'The user is not at risk (riskLevel NONE), so there is no risk to dismiss; riskyUsers lists those who are.',
  RATE_LIMITED: 'Too many calls from this network or for this account in the last minute; nothing was done. Try again after retryAfterSeconds.',
} as const satisfies Record<string, string>;

export const ERROR_CODES = Object.keys(ERROR_CODE_DESCRIPTIONS) as ReadonlyArray<keyof typeof ERROR_CODE_DESCRIPTIONS>;

export type ErrorCode = (typeof ERROR_CODES)[number];

/** An expected failure a client can act on: a stable code, a sentence for a person, the input it concerns. */
export class DomainError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly field?: string,
  ) {
    super(message);
    this.name = 'DomainError';
  }
}
