import type { ErrorCode } from '../domain/errors.js';
import type { App } from '../services/app.js';
import type { UndeclaredErrorCode } from './errorCodeCheck.js';

/**
 * Every mutation, with the codes of the typed failures it can return: read from the services each
 * one calls (and INVALID_INPUT where its input is validated). Each mutation's description ends
 * with its list (`errorsSentence`), and the error-code check reports any other code it answers.
 * Authentication, authorisation and unknown-subject failures are GraphQL errors, not listed here.
 */
export const MUTATION_ERRORS = {
  createTenant: ['INVALID_INPUT', 'ALREADY_EXISTS'],
  createFirstTenant: ['INVALID_INPUT', 'ALREADY_EXISTS', 'SETUP_CODE_INVALID', 'ALREADY_SET_UP', 'RATE_LIMITED'],
  createUser: ['INVALID_INPUT', 'ALREADY_EXISTS'],
  updateUser: ['INVALID_INPUT', 'NOT_FOUND', 'LAST_ADMIN'],
  deleteUser: ['INVALID_INPUT', 'NOT_FOUND', 'LAST_ADMIN'],
  resetUserSignInProtection: ['INVALID_INPUT', 'NOT_FOUND'],
  dismissUserRisk: ['INVALID_INPUT', 'NOT_FOUND', 'USER_NOT_AT_RISK'],
  confirmUserCompromised: ['INVALID_INPUT', 'NOT_FOUND'],
  createGroup: ['INVALID_INPUT', 'ALREADY_EXISTS'],
  deleteGroup: ['INVALID_INPUT', 'NOT_FOUND', 'IN_USE'],
  addGroupMembers: ['INVALID_INPUT', 'NOT_FOUND'],
  removeGroupMembers: ['INVALID_INPUT', 'NOT_FOUND'],
  updateTenantSettings: ['INVALID_INPUT'],
  addFederatedDomain: ['INVALID_INPUT', 'ALREADY_EXISTS'],
  removeFederatedDomain: ['INVALID_INPUT', 'NOT_FOUND', 'IN_USE'],
  updatePhoneSignInPolicy: ['INVALID_INPUT', 'NOT_FOUND'],
  setLegacyPhoneSignInPolicy: ['LEGACY_POLICY_SUPERSEDED'],
  createTemporaryAccessPass: ['INVALID_INPUT', 'NOT_FOUND', 'ACCOUNT_DISABLED'],
  signInWithTemporaryAccessPass: ['INVALID_INPUT', 'TEMPORARY_ACCESS_PASS_INVALID', 'RATE_LIMITED'],
  beginSignIn: ['INVALID_INPUT', 'RATE_LIMITED'],
  completeSignIn: ['INVALID_INPUT', 'SIGN_IN_NOT_APPROVED', 'ACCOUNT_DISABLED'],
  cancelSignIn: ['INVALID_INPUT'],
  signInWithPassword: ['INVALID_INPUT', 'INVALID_CREDENTIALS', 'MFA_UNAVAILABLE', 'RATE_LIMITED'],
  signOut: [],
  registerApplication: ['INVALID_INPUT'],
  removeApplication: [],
  beginAuthenticatorRegistration: ['PUSH_NOTIFICATIONS_DISABLED', 'COMBINED_REGISTRATION_DISABLED'],
  activateAuthenticator: [
    'INVALID_INPUT',
    'ACTIVATION_CODE_INVALID',
    'ACTIVATION_CODE_USED',
    'ACTIVATION_CODE_EXPIRED',
    'ACCOUNT_DISABLED',
    'INVALID_PROOF',
    'PUSH_NOTIFICATIONS_DISABLED',
    'COMBINED_REGISTRATION_DISABLED',
    'OS_VERSION_UNSUPPORTED',
    'APP_VERSION_UNSUPPORTED',
    'DEVICE_ALREADY_REGISTERED',
    'RATE_LIMITED',
  ],
  enablePhoneSignIn: ['INVALID_INPUT', 'INVALID_PROOF', 'NOT_FOUND', 'PHONE_SIGN_IN_NOT_ALLOWED', 'TOO_MANY_AUTHENTICATORS'],
  disablePhoneSignIn: [],
  removeAuthenticationMethod: ['INVALID_INPUT'],
  respondToPhoneSignInChallenge: [
    'INVALID_INPUT',
    'INVALID_CHALLENGE_RESPONSE',
    'CHALLENGE_RESPONSE_STALE',
    'INVALID_SIGNATURE',
    'TOO_MANY_INVALID_SIGNATURES',
    'CREDENTIAL_NOT_USABLE',
    'USER_VERIFICATION_REQUIRED',
    'SIGN_IN_REFUSED_FOR_RISK',
    'RATE_LIMITED',
  ],
} as const satisfies Record<string, readonly ErrorCode[]>;

export type MutationName = keyof typeof MUTATION_ERRORS;

export const declaredErrorCodes = (mutation: string): readonly ErrorCode[] | undefined =>
  Object.hasOwn(MUTATION_ERRORS, mutation) ? MUTATION_ERRORS[mutation as MutationName] : undefined;

/** The closing sentence of a mutation's description: the codes a client must be ready for. */
export const errorsSentence = (mutation: MutationName) => {
  const codes: readonly ErrorCode[] = MUTATION_ERRORS[mutation];
  return codes.length === 0 ? 'Errors: none (no typed error result).' : `Errors: ${codes.join(', ')}.`;
};

/** A mutation's description with its error codes appended, from the one table above. */
export const describeMutation = (mutation: MutationName, description: string) => `${description} ${errorsSentence(mutation)}`;

/** Told of every undeclared code besides the error log; the test setup fails the test on one. */
export const undeclaredErrorCodeListeners = new Set<(found: UndeclaredErrorCode) => void>();

export function reportUndeclaredErrorCode(found: UndeclaredErrorCode, { app }: { app: App }) {
  app.logger.error(found, 'a mutation answered an error code its MUTATION_ERRORS entry does not list');
  for (const listener of undeclaredErrorCodeListeners) listener(found);
}
