import {
  EmbeddedJWK,
  type JWTPayload,
  type JWTVerifyGetKey,
  errors,
} from 'jose';
import { ALG, NOT_ON_CURVE } from './p256.js';
import { SignedMessageError, fail, shown } from './refusal.js';

/**
 * jose's refusals, told as ours: the same codes and got-versus-expected sentences whichever library
 * made the check. jose reports which claim failed (`claim`) and how (`reason`: missing, invalid,
 * check_failed), and JWTExpired for an `exp` or `iat` that is too old.
 */

/** What a refusal names beside the claims: the key tried, the rules, and the window they set. */
export interface RefusalContext {
  /** The registered key's id; null for the key embedded in the header. */
  key: string | null;
  rules: { typ: string; audience?: string; now: Date };
  /** How old `iat` may be, clock difference included, and the clock difference, in seconds. */
  maxAge: number;
  skew: number;
}

/**
 * jose's EmbeddedJWK, with its refusals as INVALID_KEY. The header's jwk has already passed
 * publicP256Jwk, so what is left to fail is the point itself, or a `use`/`alg` member at odds with ES256.
 */
export const verifyWithEmbeddedKey: JWTVerifyGetKey = async (header, token) => {
  try {
    return await EmbeddedJWK(header, token);
  } catch (error) {
    return fail('INVALID_KEY', error instanceof errors.JOSEError ? `The embedded key cannot verify ES256: ${error.message}.` : NOT_ON_CURVE);
  }
};

const seconds = (date: Date) => Math.floor(date.getTime() / 1000);

/** A time claim that is not a number (or is missing where required). */
const notATime = (claim: string, value: unknown, expected: string) => fail('MALFORMED', `The ${claim} claim is ${shown(value)}; expected ${expected}.`);

function claimRefusal(error: errors.JWTClaimValidationFailed | errors.JWTExpired, c: RefusalContext): never {
  const claims: JWTPayload = error.payload;
  const now = seconds(c.rules.now);
  const expired = error instanceof errors.JWTExpired;
  switch (error.claim) {
    case 'typ':
      return fail('WRONG_TYPE', `The header typ is not "${c.rules.typ}" (checked by jose).`);
    case 'aud':
      return fail('WRONG_AUDIENCE', `The aud claim is ${shown(claims.aud)}; expected "${c.rules.audience}" (this server's issuer).`);
    case 'nbf': {
      const { nbf } = claims;
      if (typeof nbf !== 'number' || !Number.isFinite(nbf)) return notATime('nbf', nbf, 'a number of seconds since 1970');
      return fail('NOT_YET_VALID', `The message is valid only ${nbf - now} s from now (nbf); at most ${c.skew} s of clock difference is allowed. Check the phone's clock.`);
    }
    case 'exp': {
      const { exp } = claims;
      if (!expired || typeof exp !== 'number' || !Number.isFinite(exp)) return notATime('exp', exp, 'a number of seconds after iat');
      return fail('EXPIRED', `The message expired ${now - exp} s ago (exp). Sign a new one.`);
    }
    case 'iat': {
      const { iat } = claims;
      if (typeof iat !== 'number' || !Number.isFinite(iat)) return notATime('iat', iat, 'a number of seconds since 1970');
      if (expired) return fail('STALE', `The message was issued ${now - iat} s ago (iat); it must be at most ${c.maxAge} s old. Check the phone's clock and sign a new one.`);
      return fail('NOT_YET_VALID', `The message was issued ${iat - now} s in the future (iat); at most ${c.skew} s of clock difference is allowed. Check the phone's clock.`);
    }
    default:
      return fail('MALFORMED', `The claim "${error.claim}" was refused: ${error.message}.`);
  }
}

/** Rethrows what jwtVerify threw as a SignedMessageError; anything that is not a refusal is rethrown as is. */
export function refusalOfJose(error: unknown, c: RefusalContext): never {
  if (error instanceof SignedMessageError) throw error;
  if (error instanceof errors.JWSSignatureVerificationFailed) {
    fail('BAD_SIGNATURE', c.key === null ? 'The signature does not verify with the key embedded in the header.' : `The signature does not verify with the registered key "${c.key}".`);
  }
  if (error instanceof errors.JWTClaimValidationFailed || error instanceof errors.JWTExpired) claimRefusal(error, c);
  if (error instanceof errors.JOSEAlgNotAllowed) fail('UNSUPPORTED_ALGORITHM', `The header alg is not "${ALG}" (checked by jose); only ECDSA P-256 with SHA-256 is accepted.`);
  if (error instanceof errors.JOSEError) fail('MALFORMED', `The message is not a JWS this server accepts: ${error.message}.`);
  throw error;
}
