import {
  type CryptoKey,
  type JWK,
  type JWTPayload,
  type ProtectedHeaderParameters,
  decodeJwt,
  decodeProtectedHeader,
  jwtVerify,
} from 'jose';
import { findTextProblem } from '../plainText.js';
import { refusalOfJose, verifyWithEmbeddedKey } from './joseRefusals.js';
import { ALG, importP256, jwkThumbprint, publicP256Jwk } from './p256.js';
import { fail, shown } from './refusal.js';

/**
 * The checks every signed message of the authenticator passes (../shared/PROTOCOL.md, "Keys and
 * signed messages"), in this order: structure (plain text in every header value and claim
 * included), type, algorithm and key reference from the header;
 * the claims the message must carry (strings, exact values, jti), before any key is used; the key;
 * then jose's jwtVerify — signature, audience, `nbf`, `exp` and the age of `iat` on the caller's
 * clock; last, the lifetime and expiry of short-lived messages. Each refusal names what was
 * received and what was expected, never a secret. Only ES256 on P-256 is accepted.
 */

export type SignedMessageType =
  | 'device-assertion+jwt'
  | 'device-activation+jwt'
  | 'phone-sign-in-credential+jwt'
  | 'phone-sign-in-response+jwt';

/** The contract's window around the server clock for `iat`, in seconds (phones drift). */
export const CLOCK_SKEW_S = 60;
/** 128 random bits written in base64url take 22 characters; the contract's floor for `jti`. */
const MIN_JTI_LENGTH = 22;
const MAX_JTI_LENGTH = 128;
/** A message with an embedded P-256 JWK is well under 2 KB; refuse anything far larger unparsed. */
const MAX_MESSAGE_LENGTH = 8192;
const MAX_KID_LENGTH = 128;
/** Headers that point at keys elsewhere; the contract never uses them, so their presence is an attack. */
const FOREIGN_KEY_HEADERS = ['jku', 'x5u', 'x5c', 'x5t', 'x5t#S256'] as const;
// The signature part may be empty so that `alg: none` is refused by name, as an algorithm.
const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;

/** Where the verifying key comes from: registered under an id (`kid`), or embedded in the header (`jwk`). */
export type KeyReference = 'kid' | 'jwk';

export interface SignedMessageHeader {
  alg: typeof ALG;
  typ: SignedMessageType;
  /** Set when the key reference is `kid`. */
  kid?: string;
  /** Set when the key reference is `jwk`: the embedded public key, reduced to kty, crv, x, y. */
  jwk?: JWK;
}

/**
 * Structure, type, algorithm and key reference of a signed message, from its header alone: what a
 * caller needs to find the registered key (by `kid`) before verifying. Nothing here is trusted yet.
 * The type is compared exactly here, before any key is looked up (jose's `typ` option, applied
 * again in verifySignedMessage, ignores case and an "application/" prefix).
 */
export function readSignedMessageHeader(jws: string, expected: { typ: SignedMessageType; key: KeyReference }): SignedMessageHeader {
  if (typeof jws !== 'string' || jws.length > MAX_MESSAGE_LENGTH || !COMPACT_JWS.test(jws)) {
    fail('MALFORMED', `Expected a compact JWS (header.payload.signature in base64url, at most ${MAX_MESSAGE_LENGTH} characters); received something else.`);
  }
  let header: ProtectedHeaderParameters;
  try {
    header = decodeProtectedHeader(jws);
  } catch {
    return fail('MALFORMED', 'The JWS header is not a base64url-encoded JSON object.');
  }
  refuseUnlessPlainText(header, 'header value');
  if (header.typ !== expected.typ) {
    fail('WRONG_TYPE', `The header typ is ${shown(header.typ)}; expected "${expected.typ}".`);
  }
  if (header.alg !== ALG) {
    fail('UNSUPPORTED_ALGORITHM', `The header alg is ${shown(header.alg)}; only "${ALG}" (ECDSA P-256 with SHA-256) is accepted.`);
  }
  for (const name of FOREIGN_KEY_HEADERS) {
    if (name in header) fail('WRONG_KEY_REFERENCE', `The header has "${name}"; keys by reference are not accepted, only "${expected.key}".`);
  }
  if (expected.key === 'kid') {
    if ('jwk' in header) fail('WRONG_KEY_REFERENCE', 'The header embeds a "jwk"; this message must name its registered key with "kid" instead.');
    if (typeof header.kid !== 'string' || header.kid.length === 0 || header.kid.length > MAX_KID_LENGTH) {
      fail('WRONG_KEY_REFERENCE', `The header kid is ${shown(header.kid)}; expected the id of a registered key.`);
    }
    return { alg: ALG, typ: expected.typ, kid: header.kid };
  }
  if ('kid' in header) fail('WRONG_KEY_REFERENCE', 'The header has a "kid"; this message must embed its new public key as "jwk" instead.');
  if (header.jwk === undefined) fail('WRONG_KEY_REFERENCE', 'The header has no "jwk"; this message must embed its new public key.');
  return { alg: ALG, typ: expected.typ, jwk: publicP256Jwk(header.jwk) };
}

/** A public key registered with the server, named by the message's `kid`. */
export interface RegisteredKey {
  id: string;
  /** RFC 7638 thumbprint, as stored beside the key. */
  thumbprint: string;
  jwk: JWK;
}

/** Turns a registered key into a key to verify with; services bring a cache (services/keyCache.ts). */
export interface CryptoKeySource {
  get(key: RegisteredKey): Promise<CryptoKey>;
}

/** Without a source: import the registered key for this one verification. */
const importEachTime: CryptoKeySource = { get: (key) => importP256(key.jwk) };

/** Use the key embedded in the message header (activation and credential proofs). */
export const EMBEDDED_KEY = 'embedded' as const;

export interface SignedMessageRules {
  typ: SignedMessageType;
  /** The required `aud` (the issuer); omit for messages the contract gives no audience. */
  audience?: string;
  /** The caller's clock: every time claim is judged against it, never against the system clock. */
  now: Date;
  /** Exact string values some claims must have (iss, sub, deviceId…), checked before any key is used. */
  claims?: Record<string, string>;
  /** Claims that must be present as non-empty strings (activationCode, challengeId…). */
  stringClaims?: readonly string[];
  /** Require a `jti` of at least 128 bits. */
  requireJti?: boolean;
  /** Require `exp`, in the future and at most this many seconds after `iat`. */
  maxLifetimeSeconds?: number;
  /** How old `iat` may be, in seconds, clock difference included (default and least CLOCK_SKEW_S). */
  maxAgeSeconds?: number;
  /** Where a registered key is imported from (default: imported for this verification alone). */
  keys?: CryptoKeySource;
}

export interface VerifiedSignedMessage {
  header: SignedMessageHeader;
  claims: JWTPayload & { iat: number };
  /** The key that verified the signature (for an embedded key: the key to register). */
  key: { jwk: JWK; thumbprint: string };
}

/**
 * Refuses control characters and broken Unicode anywhere in a header or payload: claims such as
 * `jti` are stored, and none may reach the database, a log or the phone's screen.
 */
function refuseUnlessPlainText(decoded: object, what: 'header value' | 'claim'): void {
  const found = findTextProblem(decoded);
  if (found) fail('MALFORMED', `The ${what} "${found.path.join('.')}" ${found.problem}.`);
}

/** The claims of a message, decoded (not verified, so not yet trusted) and plain text. */
export function decodeClaims(jws: string): JWTPayload {
  let claims: JWTPayload;
  try {
    claims = decodeJwt(jws);
  } catch {
    return fail('MALFORMED', 'The JWS payload is not a base64url-encoded JSON object of claims.');
  }
  refuseUnlessPlainText(claims, 'claim');
  return claims;
}

/** The claims a message must carry, read (not yet trusted) before any key is used. */
function checkClaims(jws: string, rules: SignedMessageRules): void {
  const claims = decodeClaims(jws);
  for (const name of rules.stringClaims ?? []) {
    const value = claims[name];
    if (typeof value !== 'string' || value.length === 0) fail('MALFORMED', `The claim "${name}" is missing or not a string.`);
  }
  for (const [name, expected] of Object.entries(rules.claims ?? {})) {
    if (claims[name] !== expected) fail('WRONG_CLAIM', `The claim "${name}" is ${shown(claims[name])}; expected "${expected}".`);
  }
  if (rules.requireJti) {
    const { jti } = claims;
    if (typeof jti !== 'string' || jti.length < MIN_JTI_LENGTH || jti.length > MAX_JTI_LENGTH) {
      fail('WEAK_JTI', `The jti must be a random string of at least 128 bits (${MIN_JTI_LENGTH} to ${MAX_JTI_LENGTH} characters); received ${typeof jti === 'string' ? `${jti.length} characters` : shown(jti)}.`);
    }
  }
}

/**
 * Verifies a signed message completely, against a registered key (the header must name it by
 * `kid`) or against the key embedded in its header (`EMBEDDED_KEY`, the header must carry `jwk`).
 */
export async function verifySignedMessage(
  jws: string,
  key: RegisteredKey | typeof EMBEDDED_KEY,
  rules: SignedMessageRules,
): Promise<VerifiedSignedMessage> {
  // Structure, type, algorithm (and key reference), then the claims the message must carry.
  const header = readSignedMessageHeader(jws, { typ: rules.typ, key: key === EMBEDDED_KEY ? 'jwk' : 'kid' });
  checkClaims(jws, rules);

  // Key.
  if (key !== EMBEDDED_KEY && header.kid !== key.id) fail('UNKNOWN_KEY', `The header kid is ${shown(header.kid)}; expected the registered key "${key.id}".`);
  const verifyWith = key === EMBEDDED_KEY ? verifyWithEmbeddedKey : await (rules.keys ?? importEachTime).get(key);

  // Signature, audience and freshness. jose lets `iat` be up to maxTokenAge + clockTolerance
  // seconds old and clockTolerance seconds ahead; the same tolerance applies to `nbf` and `exp`.
  const maxAge = Math.max(rules.maxAgeSeconds ?? CLOCK_SKEW_S, CLOCK_SKEW_S);
  const verified = await jwtVerify(jws, verifyWith, {
    algorithms: [ALG],
    typ: rules.typ,
    audience: rules.audience,
    requiredClaims: rules.maxLifetimeSeconds === undefined ? [] : ['exp'],
    maxTokenAge: maxAge - CLOCK_SKEW_S,
    clockTolerance: CLOCK_SKEW_S,
    currentDate: rules.now,
  }).catch((error: unknown) => refusalOfJose(error, { key: key === EMBEDDED_KEY ? null : key.id, rules, maxAge, skew: CLOCK_SKEW_S }));
  const claims = verified.payload as JWTPayload & { iat: number };

  // Lifetime and expiry of short-lived messages: exp is the phone's own promise, so no tolerance.
  if (rules.maxLifetimeSeconds !== undefined) {
    const now = Math.floor(rules.now.getTime() / 1000);
    const { iat, exp } = claims;
    if (typeof exp !== 'number' || !Number.isFinite(exp) || exp <= iat) return fail('MALFORMED', `The exp claim is ${shown(exp)}; expected a number of seconds after iat.`);
    if (exp - iat > rules.maxLifetimeSeconds) {
      fail('LIFETIME_TOO_LONG', `The message is valid for ${exp - iat} s (exp - iat); at most ${rules.maxLifetimeSeconds} s is allowed.`);
    }
    if (exp <= now) fail('EXPIRED', `The message expired ${now - exp} s ago (exp). Sign a new one.`);
  }

  const verifiedKey =
    key === EMBEDDED_KEY ? { jwk: header.jwk!, thumbprint: await jwkThumbprint(header.jwk!) } : { jwk: publicP256Jwk(key.jwk), thumbprint: key.thumbprint };
  return { header, claims, key: verifiedKey };
}
