import { z } from 'zod';
import { constantTimeEqual } from '../secrets.js';
import { type AttemptKind, type Decision, USER_VERIFICATIONS, type UserVerification } from '../signInAttempt.js';
import { CLOCK_SKEW_S, type CryptoKeySource, type RegisteredKey, decodeClaims, readSignedMessageHeader, verifySignedMessage } from './jws.js';
import { SignedMessageError } from './refusal.js';

/**
 * The authenticator's answer to a challenge (PROTOCOL.md, "Challenge response"), checked in the
 * contract's order: structure and typ (readChallengeResponse), then — once the caller has found
 * the credential named by kid and made sure it is this device's, live, and the challenge's
 * user's — signature and freshness, challenge id and nonce (verifyChallengeResponse); the
 * decision itself is domain/signInAttempt.ts `decide`.
 */

export const CHALLENGE_RESPONSE_TYP = 'phone-sign-in-response+jwt';

/** The key a response's `kid` names: the phone sign-in credential key, or the device key (kid = deviceId). */
export type ResponseKey = 'CREDENTIAL' | 'DEVICE';

/**
 * Which keys may answer each kind of challenge. Passwordless sign-in rests on the phone alone, so
 * only the credential key — made for phone sign-in and used after local user verification — may
 * answer it. Push MFA follows a correct password, and the users it is for (policy mode PUSH)
 * cannot hold a credential, so the device key answers it; a device that does hold a credential
 * may sign with that instead, as the contract's text says.
 */
export const RESPONSE_KEYS: Record<AttemptKind, readonly ResponseKey[]> = {
  PHONE_SIGN_IN: ['CREDENTIAL'],
  PUSH_MFA: ['DEVICE', 'CREDENTIAL'],
};

/** How old a response may be, clock difference included: the user has verified locally just before signing, so a minute is plenty. */
export const RESPONSE_MAX_AGE_S = 60;
/** Longest number a tenant can ask for is 8 digits; anything much longer is not an answer. */
const MAX_NUMBER_LENGTH = 16;
/** Our nonces are 43 characters; a generous bound keeps hostile input small. */
const MAX_NONCE_LENGTH = 256;

const claimsSchema = z.object({
  challengeId: z.uuid(),
  nonce: z.string().min(1).max(MAX_NONCE_LENGTH),
  decision: z.enum(['approve', 'deny', 'report']),
  number: z.string().max(MAX_NUMBER_LENGTH),
  uv: z.enum(USER_VERIFICATIONS),
  iat: z.number().int(),
});

export interface ChallengeResponseClaims {
  challengeId: string;
  nonce: string;
  decision: Decision;
  number: string;
  uv: UserVerification;
  iat: number;
}

/** Structure and typ, from the message alone: which key (kid) signed it, and for which challenge. Nothing is trusted yet. */
export function readChallengeResponse(jws: string): { kid: string; claims: ChallengeResponseClaims } {
  const header = readSignedMessageHeader(jws, { typ: CHALLENGE_RESPONSE_TYP, key: 'kid' });
  const parsed = claimsSchema.safeParse(decodeClaims(jws));
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new SignedMessageError(
      'MALFORMED',
      `The claim "${issue.path.join('.')}" is not valid (${issue.message}); expected { challengeId (uuid), nonce, decision: approve|deny|report, number (string), uv: ${USER_VERIFICATIONS.join('|')}, iat }.`,
    );
  }
  return { kid: header.kid!, claims: parsed.data };
}

/**
 * Signature (by the registered key the kid names) and freshness — not older than
 * RESPONSE_MAX_AGE_S, not from the future beyond the clock skew — then the binding to this
 * challenge (id and nonce, the nonce compared in constant time), and last that it was not signed
 * before the challenge existed.
 */
export async function verifyChallengeResponse(
  jws: string,
  credential: RegisteredKey,
  challenge: { id: string; nonce: string; createdAt: Date },
  now: Date,
  keys?: CryptoKeySource,
): Promise<ChallengeResponseClaims> {
  const { claims: verified } = await verifySignedMessage(jws, credential, { typ: CHALLENGE_RESPONSE_TYP, now, maxAgeSeconds: RESPONSE_MAX_AGE_S, keys });
  const claims = claimsSchema.parse(verified);
  if (claims.challengeId !== challenge.id) {
    throw new SignedMessageError('WRONG_CLAIM', `The response answers challenge "${claims.challengeId}"; expected "${challenge.id}".`);
  }
  if (!constantTimeEqual(claims.nonce, challenge.nonce)) {
    throw new SignedMessageError('WRONG_CLAIM', 'The nonce is not the one sent with this challenge; answer the challenge as received.');
  }
  if (claims.iat < Math.floor(challenge.createdAt.getTime() / 1000) - CLOCK_SKEW_S) {
    throw new SignedMessageError('STALE', 'The response was signed before the challenge was issued; it cannot be an answer to it.');
  }
  return claims;
}
