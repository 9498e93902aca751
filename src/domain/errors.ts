/**
 * Stable codes of expected failures. Clients branch on these; the message is for people.
 * Add codes freely, never rename or reuse one.
 */
export const ERROR_CODES = [
  'INVALID_INPUT',
  'NOT_FOUND',
  'ALREADY_EXISTS',
  'INVALID_CREDENTIALS',
  'ACCOUNT_DISABLED',
  'FEDERATED_DOMAIN',
  'TEMPORARY_ACCESS_PASS_INVALID',
  'LAST_ADMIN',
  /** The tenant has push notifications turned off, a prerequisite of the authenticator app. */
  'PUSH_NOTIFICATIONS_DISABLED',
  /** The tenant has combined security-info registration turned off, which adding the app relies on. */
  'COMBINED_REGISTRATION_DISABLED',
  /** An activation code that was never issued (or was mistyped). */
  'ACTIVATION_CODE_INVALID',
  /** An activation code that has already activated a device. */
  'ACTIVATION_CODE_USED',
  'ACTIVATION_CODE_EXPIRED',
  /** A signed proof (activation or credential) was refused; the message says which check failed. */
  'INVALID_PROOF',
  'OS_VERSION_UNSUPPORTED',
  'APP_VERSION_UNSUPPORTED',
  /** The device key is already registered to a work account (one work account per device). */
  'DEVICE_ALREADY_REGISTERED',
  /** The user's effective phone sign-in policy does not allow passwordless phone sign-in. */
  'PHONE_SIGN_IN_NOT_ALLOWED',
  /** The user already has the tenant's maximum number of phones with phone sign-in. */
  'TOO_MANY_AUTHENTICATORS',
  /** The thing is still referenced (a group named by the policy, a domain with users). */
  'IN_USE',
  /** The legacy phone sign-in switch no longer applies once a policy has been saved. */
  'LEGACY_POLICY_SUPERSEDED',
  /** A challenge response is malformed, of the wrong type, or answers another challenge or nonce. */
  'INVALID_CHALLENGE_RESPONSE',
  /** A challenge response was signed too long ago (or in the future): check the phone's clock, sign again. */
  'CHALLENGE_RESPONSE_STALE',
  /** The signature of a challenge response does not verify with the registered credential key. */
  'INVALID_SIGNATURE',
  /** The response names a credential that is not this device's live phone sign-in credential. */
  'CREDENTIAL_NOT_USABLE',
  /** An approval must follow local user verification (PIN or biometric): uv was "none". */
  'USER_VERIFICATION_REQUIRED',
  /** completeSignIn before the phone approved, or after the attempt ended or was redeemed. */
  'SIGN_IN_NOT_APPROVED',
  /** The password was right but the push the user's policy requires cannot be sent now. */
  'MFA_UNAVAILABLE',
] as const;

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
