import { type NumberStyle, numberMatches } from './numberMatching.js';

/** The life of a number-matching attempt, as the browser sees it. */
export const ATTEMPT_STATUSES = ['PENDING', 'APPROVED', 'DENIED', 'EXPIRED', 'CANCELLED', 'COMPLETED'] as const;
export type AttemptStatus = (typeof ATTEMPT_STATUSES)[number];

export type AttemptKind = 'PHONE_SIGN_IN' | 'PUSH_MFA';

/**
 * Every allowed transition. Services change status only with a compare-and-set whose WHERE
 * clause names these sources, so two writers can never both move one attempt.
 */
const TRANSITIONS: Record<AttemptStatus, readonly AttemptStatus[]> = {
  PENDING: ['APPROVED', 'DENIED', 'EXPIRED', 'CANCELLED'],
  APPROVED: ['COMPLETED', 'CANCELLED', 'EXPIRED'],
  DENIED: [],
  EXPIRED: [],
  CANCELLED: [],
  COMPLETED: [],
};

/** The statuses an attempt may be in to move to `target`. */
export const sourcesOf = (target: AttemptStatus): AttemptStatus[] =>
  ATTEMPT_STATUSES.filter((from) => TRANSITIONS[from].includes(target));

export const isFinal = (status: AttemptStatus) => TRANSITIONS[status].length === 0;

/** Why an attempt ended without a session: stable codes shown to the browser and in the logs. */
export const FAILURE_REASONS = [
  'NUMBER_MISMATCH',
  'USER_DECLINED',
  'FRAUD_REPORTED',
  'NO_RESPONSE',
  'CANCELLED_BY_USER',
  /** Cancelled because the user reported another attempt as fraud. */
  'SUPERSEDED_BY_FRAUD_REPORT',
  /** Approved on the phone but not redeemed by the browser in time. */
  'NOT_REDEEMED',
  /** Ended, pending or approved and unredeemed, because phone sign-in locked after repeated failures. */
  'LOCKED_OUT',
  /** An approval refused because the answering phone was far from the browser (riskDetection.browserPhoneApart BLOCK). */
  'BROWSER_PHONE_APART',
  /** Ended, pending or approved and unredeemed, because an admin confirmed the account compromised. */
  'ENDED_BY_ADMIN',
] as const;
export type FailureReason = (typeof FAILURE_REASONS)[number];

/**
 * Why beginSignIn sent the browser to the password instead of pushing: recorded in the sign-in
 * log. The browser sees only PASSWORD_REQUIRED, or PENDING_REQUEST (see `browserReason`).
 */
export const REFUSAL_REASONS = [
  'UNKNOWN_DOMAIN',
  'USER_NOT_FOUND',
  'USER_DISABLED',
  'NOT_ENABLED_BY_POLICY',
  'PUSH_NOT_ALLOWED',
  'NO_CREDENTIAL',
  /** Push MFA: the user has no registered authenticator device to push to. */
  'NO_DEVICE',
  'LOCKED_OUT',
  'PUSH_MUTED',
  'RATE_LIMITED',
  'PENDING_REQUEST',
  /** A risk signal set to BLOCK held the push back (domain/risk.ts); the log row's riskSignals say which. */
  'RISK_HELD_BACK',
] as const;
export type RefusalReason = (typeof REFUSAL_REASONS)[number];

export const PASSWORD_REQUIRED_REASONS = ['PASSWORD_REQUIRED', 'PENDING_REQUEST'] as const;
export type PasswordRequiredReason = (typeof PASSWORD_REQUIRED_REASONS)[number];

/** What beginSignIn knows about the user before deciding whether to push. */
export interface PushFacts {
  now: Date;
  /** PHONE_SIGN_IN goes to phones with a phone sign-in credential; PUSH_MFA to any registered authenticator device. */
  kind: AttemptKind;
  userFound: boolean;
  disabled: boolean;
  /** The effective policy's mode lets the user sign in with the phone alone (ANY or DEVICE_BASED_PUSH). */
  policyAllows: boolean;
  /** Tenant setting: push notifications are an allowed verification method. */
  pushAllowedByTenant: boolean;
  /** A phone sign-in credential on a device that is still registered. */
  hasLiveCredential: boolean;
  /** A registered, non-revoked authenticator device (with or without a credential). */
  hasLiveDevice: boolean;
  lockedUntil: Date | null;
  pushMutedUntil: Date | null;
  rateLimited: boolean;
  hasPendingAttempt: boolean;
}

/**
 * The first reason not to push, or null to push. PENDING_REQUEST comes last on purpose: it is
 * answered only when the very same request would otherwise have started a sign-in, that is
 * when PhoneSignInStarted would have told the caller the same thing (this account exists and
 * uses phone sign-in). Every other refusal, including a locked, muted or rate-limited account
 * that also has a pending attempt, is the plain PASSWORD_REQUIRED an unknown name gets.
 */
export function refusalReason(f: PushFacts): RefusalReason | null {
  if (!f.userFound) return 'USER_NOT_FOUND';
  if (f.disabled) return 'USER_DISABLED';
  if (!f.pushAllowedByTenant) return 'PUSH_NOT_ALLOWED';
  if (!f.policyAllows) return 'NOT_ENABLED_BY_POLICY';
  if (f.kind === 'PHONE_SIGN_IN' && !f.hasLiveCredential) return 'NO_CREDENTIAL';
  if (f.kind === 'PUSH_MFA' && !f.hasLiveDevice) return 'NO_DEVICE';
  if (f.lockedUntil && f.lockedUntil > f.now) return 'LOCKED_OUT';
  if (f.pushMutedUntil && f.pushMutedUntil > f.now) return 'PUSH_MUTED';
  if (f.rateLimited) return 'RATE_LIMITED';
  if (f.hasPendingAttempt) return 'PENDING_REQUEST';
  return null;
}

/** What the browser is told: every refusal looks alike except the contract's PENDING_REQUEST. */
export const browserReason = (reason: RefusalReason): PasswordRequiredReason =>
  reason === 'PENDING_REQUEST' ? 'PENDING_REQUEST' : 'PASSWORD_REQUIRED';

export type Decision = 'approve' | 'deny' | 'report';

/**
 * How the user unlocked the credential key on the phone (the response's `uv`), and the RFC 8176
 * `amr` value each one puts in the session. `biometric` is for apps that cannot tell which
 * biometric the platform used (Android's BiometricPrompt does not say): RFC 8176 registers no
 * value for "some biometric", and naming one (face, fpt, iris) would claim what nobody knows, so
 * it says "user" (a user presence test), the strongest registered value the fact supports;
 * relying parties that need to know the modality get it from apps that send face, fingerprint or
 * iris. `none` cannot approve, so it has no amr.
 */
export const USER_VERIFICATION_AMR: Record<VerifiedBy, string> = {
  pin: 'pin',
  biometric: 'user',
  face: 'face',
  fingerprint: 'fpt',
  iris: 'iris',
};
export const USER_VERIFICATIONS = ['pin', 'biometric', 'face', 'fingerprint', 'iris', 'none'] as const;
export type UserVerification = (typeof USER_VERIFICATIONS)[number];
/** The verifications that may approve: all but `none`. */
export type VerifiedBy = Exclude<UserVerification, 'none'>;

export type DecisionOutcome =
  | { kind: 'REFUSED'; reason: 'USER_VERIFICATION_REQUIRED' }
  | { kind: 'APPROVED'; uv: VerifiedBy }
  | { kind: 'DENIED'; reason: 'NUMBER_MISMATCH' | 'USER_DECLINED' | 'FRAUD_REPORTED' };

/**
 * The last check of a verified response. An approval without user verification is refused and
 * changes nothing (an honest app asks for the PIN and signs again); a wrong number ends the
 * attempt, so a guess costs the guesser the attempt.
 */
export function decide(answer: { decision: Decision; uv: UserVerification; number: string }, expectedNumber: string): DecisionOutcome {
  if (answer.decision === 'deny') return { kind: 'DENIED', reason: 'USER_DECLINED' };
  if (answer.decision === 'report') return { kind: 'DENIED', reason: 'FRAUD_REPORTED' };
  if (answer.uv === 'none') return { kind: 'REFUSED', reason: 'USER_VERIFICATION_REQUIRED' };
  if (!numberMatches(expectedNumber, answer.number)) return { kind: 'DENIED', reason: 'NUMBER_MISMATCH' };
  return { kind: 'APPROVED', uv: answer.uv };
}

/**
 * Whether a verified response is the answer an attempt already stored, as told by what the
 * answer wrote: the same user verification and the same outcome (the caller checks it came from
 * the device that answered, and was fresh when it did). Replays of it get the stored outcome
 * whatever their age, as the contract promises; any other late response is judged as new.
 */
export function isStoredAnswer(
  answer: { decision: Decision; uv: UserVerification; number: string },
  stored: { number: string; amr: string[] | null; failureReason: string | null; userVerification: string | null },
): boolean {
  if (stored.userVerification !== answer.uv) return false;
  const outcome = decide(answer, stored.number);
  if (outcome.kind === 'APPROVED') return stored.amr !== null;
  return outcome.kind === 'DENIED' && stored.failureReason === outcome.reason;
}

/** Denials that count towards the lockout (NIST SP 800-63B rev 4 throttling). */
export const countsAsFailure = (reason: FailureReason) =>
  reason === 'NUMBER_MISMATCH' || reason === 'USER_DECLINED' || reason === 'FRAUD_REPORTED';

/**
 * RFC 8176 `amr` of the session an approved attempt yields: "mfa" (the phone and its local
 * verification), "pop" (a signature by the credential key), and how the user unlocked it
 * (USER_VERIFICATION_AMR). After a password ("PUSH_MFA"), "pwd" comes first.
 */
export function amrFor(kind: AttemptKind, uv: VerifiedBy): string[] {
  const methods = ['mfa', 'pop', USER_VERIFICATION_AMR[uv]];
  return kind === 'PUSH_MFA' ? ['pwd', ...methods] : methods;
}

/** Sign-in log statuses: one row per sign-in, moved along as its attempt changes. */
export const SIGN_IN_LOG_STATUSES = ['IN_PROGRESS', 'SUCCESS', 'FAILURE', 'INTERRUPTED'] as const;
export type SignInLogStatus = (typeof SIGN_IN_LOG_STATUSES)[number];

/** Sign-in log methods. */
export const SIGN_IN_METHODS = ['PHONE_SIGN_IN', 'PASSWORD', 'PUSH_MFA', 'TEMPORARY_ACCESS_PASS'] as const;
export type SignInMethod = (typeof SIGN_IN_METHODS)[number];

/** Why a password or Temporary Access Pass sign-in was not a success, besides the shared USER_NOT_FOUND and USER_DISABLED. */
export const CREDENTIAL_FAILURE_REASONS = ['INVALID_PASSWORD', 'PASSWORD_LOCKED_OUT', 'FEDERATION_REDIRECT', 'TEMPORARY_ACCESS_PASS_INVALID'] as const;

/** Every reason code a sign-in log row can carry: no log is written for UNKNOWN_DOMAIN (no tenant to write it to). */
export type SignInLogReason = FailureReason | Exclude<RefusalReason, 'UNKNOWN_DOMAIN'> | (typeof CREDENTIAL_FAILURE_REASONS)[number];

/*
 * What each sign-in log value means, for admins reading the log. The API's descriptions are made
 * from these maps, and their types make the compiler ask for an entry whenever a value is added.
 */
export const SIGN_IN_LOG_STATUS_DESCRIPTIONS: Record<SignInLogStatus, string> = {
  IN_PROGRESS: 'a number-matching request waiting for the phone, or approved there and not yet redeemed by the browser',
  SUCCESS: 'a session was issued',
  FAILURE: 'tried, and ended without a session, reasonCode says why',
  INTERRUPTED:
    'nothing was tried: phone sign-in was not offered and the browser was asked for the password, or a federated domain was sent to its identity provider, reasonCode says why',
};

export const SIGN_IN_METHOD_DESCRIPTIONS: Record<SignInMethod, string> = {
  PHONE_SIGN_IN: 'passwordless sign-in approved on the phone with number matching',
  PASSWORD: 'user name and password',
  PUSH_MFA: 'a push to the phone after a correct password, for users whose policy mode is PUSH',
  TEMPORARY_ACCESS_PASS: 'a Temporary Access Pass issued by an admin',
};

export const SIGN_IN_LOG_REASON_DESCRIPTIONS: Record<SignInLogReason, string> = {
  NUMBER_MISMATCH: 'the number entered on the phone was not the one shown, counted towards the lockout',
  USER_DECLINED: 'the user chose Deny on the phone, counted towards the lockout',
  FRAUD_REPORTED: 'the user reported the sign-in as not theirs, so their risk is HIGH and pushes are muted (User.riskLevel, User.pushMutedUntil)',
  NO_RESPONSE: 'the phone did not answer before the challenge expired',
  CANCELLED_BY_USER: 'the browser cancelled the sign-in',
  SUPERSEDED_BY_FRAUD_REPORT: 'cancelled because the user reported another sign-in as fraud',
  NOT_REDEEMED: 'approved on the phone, but the browser did not call completeSignIn in time',
  ENDED_BY_ADMIN: 'pending or approved and unredeemed when an admin confirmed the account compromised (confirmUserCompromised), which ends every open sign-in',
  USER_NOT_FOUND: 'no user of the tenant has this name',
  USER_DISABLED: 'the user is disabled',
  NOT_ENABLED_BY_POLICY: "the user's effective phone sign-in policy does not allow this method",
  PUSH_NOT_ALLOWED: 'the tenant settings turn push notifications off',
  NO_CREDENTIAL: 'the user has no phone with phone sign-in enabled',
  NO_DEVICE: 'the user has no registered authenticator device to push to',
  LOCKED_OUT:
    'phone sign-in is locked after repeated failures (User.phoneSignInLockedUntil): no push was sent, or a request still pending or approved and unredeemed was ended when the lock began',
  PUSH_MUTED: 'pushes are muted after a fraud report (User.pushMutedUntil)',
  RATE_LIMITED: "the tenant's push rate limit was reached",
  PENDING_REQUEST: 'an earlier request is still waiting on the phone, so no new push was sent',
  RISK_HELD_BACK:
    'a risk signal the tenant set to BLOCK (TenantSettings.riskDetection) held the push back; riskSignals say which, with their evidence; the browser was asked for the password and the user sees it in their security info',
  BROWSER_PHONE_APART:
    'the phone approved, but it was farther from the browser than riskDetection.browserPhoneApartKm (set to BLOCK), as a sign-in relayed from a look-alike page is; the approval was refused, riskSignals hold the two places',
  INVALID_PASSWORD: 'the password was wrong, counted towards the password lockout',
  PASSWORD_LOCKED_OUT:
    'password sign-in is locked after repeated wrong passwords (User.passwordLockedUntil), so the password was not checked (or, checked while the lock began, its result was not used); the person was told the user name or password is incorrect',
  FEDERATION_REDIRECT: "the user's domain is federated: the password sign-in was sent to its identity provider",
  TEMPORARY_ACCESS_PASS_INVALID: 'the Temporary Access Pass was wrong, expired or used up',
};

/** How an attempt's status reads in the sign-in log. */
export function logStatusOf(status: AttemptStatus): SignInLogStatus {
  switch (status) {
    case 'PENDING':
    case 'APPROVED':
      return 'IN_PROGRESS';
    case 'COMPLETED':
      return 'SUCCESS';
    default:
      return 'FAILURE';
  }
}

export type { NumberStyle };
