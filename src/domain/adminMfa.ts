/**
 * Admins need a second factor (as Entra requires for its admin portals since 2024). RFC 8176 amr
 * values that count as one: "mfa" (the phone: push MFA or phone sign-in) and "otp" (a Temporary
 * Access Pass, which Entra counts as strong authentication, so a first admin can bootstrap with one).
 */
const SECOND_FACTOR_AMR = ['mfa', 'otp'];

export const hasSecondFactor = (amr: readonly string[]) => amr.some((value) => SECOND_FACTOR_AMR.includes(value));

/**
 * Entra's registration interrupt: an admin signed in without a second factor (a password alone,
 * having no authenticator to push to) may only register one. Decided from the role now, not at
 * sign-in, so promoting a user narrows their password sessions too.
 */
export const mfaRegistrationRequired = (isAdmin: boolean, amr: readonly string[]) => isAdmin && !hasSecondFactor(amr);
