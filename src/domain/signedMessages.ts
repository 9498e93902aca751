import {
  type CryptoKey,
  type JWK,
  type JWTPayload,
  type ProtectedHeaderParameters,
  calculateJwkThumbprint,
  compactVerify,
  decodeJwt,
  decodeProtectedHeader,
  importJWK,
} from 'jose';

/**
 * Verification of the authenticator's signed messages (../shared/PROTOCOL.md, "Keys and signed
 * messages"). Checks run in the order SimpleWebAuthn uses — structure, type, algorithm, audience,
 * freshness, key, signature — and each refusal names what was received and what was expected,
 * never a secret. Only ES256 on P-256 is accepted: it is what phone secure elements hold.
 */

export type SignedMessageType =
  | 'device-assertion+jwt'
  | 'device-activation+jwt'
  | 'phone-sign-in-credential+jwt'
  | 'phone-sign-in-response+jwt';

export type SignedMessageErrorCode =
  | 'MALFORMED'
  | 'WRONG_TYPE'
  | 'UNSUPPORTED_ALGORITHM'
  | 'WRONG_KEY_REFERENCE'
  | 'WRONG_AUDIENCE'
  | 'WRONG_CLAIM'
  | 'STALE'
  | 'NOT_YET_VALID'
  | 'EXPIRED'
  | 'LIFETIME_TOO_LONG'
  | 'WEAK_JTI'
  | 'INVALID_KEY'
  | 'UNKNOWN_KEY'
  | 'BAD_SIGNATURE';

/** A refused signed message: a stable code for logs and clients, a sentence for people. */
export class SignedMessageError extends Error {
  constructor(
    readonly code: SignedMessageErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'SignedMessageError';
  }
}

const ALG = 'ES256';
/** The contract's window around the server clock for `iat`, in seconds (phones drift). */
export const CLOCK_SKEW_S = 60;
/** The contract's longest device-assertion lifetime, `exp - iat`, in seconds. */
export const MAX_ASSERTION_LIFETIME_S = 300;
/** 128 random bits written in base64url take 22 characters; the contract's floor for `jti`. */
const MIN_JTI_LENGTH = 22;
const MAX_JTI_LENGTH = 128;
/** A message with an embedded P-256 JWK is well under 2 KB; refuse anything far larger unparsed. */
const MAX_MESSAGE_LENGTH = 8192;
const MAX_KID_LENGTH = 128;
/** Headers that point at keys elsewhere; the contract never uses them, so their presence is an attack. */
const FOREIGN_KEY_HEADERS = ['jku', 'x5u', 'x5c', 'x5t', 'x5t#S256'] as const;
/** JWK members that only private keys have. */
const PRIVATE_JWK_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'] as const;
const P256_COORDINATE = /^[A-Za-z0-9_-]{43}$/;
// The signature part may be empty so that `alg: none` is refused by name, as an algorithm.
const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;

/** A value received from a client, quoted briefly for an error message. */
const shown = (value: unknown) => {
  const text = value === undefined ? 'nothing' : JSON.stringify(value) ?? String(value);
  return text.length > 64 ? `${text.slice(0, 61)}...` : text;
};

const fail = (code: SignedMessageErrorCode, message: string): never => {
  throw new SignedMessageError(code, message);
};

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

/** Checks that a JWK is a P-256 public key and nothing else, and reduces it to kty, crv, x, y. */
export function publicP256Jwk(jwk: unknown): JWK {
  if (typeof jwk !== 'object' || jwk === null || Array.isArray(jwk)) return fail('INVALID_KEY', 'The key is not a JSON object (a JWK).');
  const key = jwk as Record<string, unknown>;
  for (const member of PRIVATE_JWK_MEMBERS) {
    // Never echo these: they would be private key material.
    if (member in key) fail('INVALID_KEY', `The key has the private member "${member}"; send the public key only (kty, crv, x, y).`);
  }
  if (key.kty !== 'EC') fail('INVALID_KEY', `The key type (kty) is ${shown(key.kty)}; expected "EC".`);
  if (key.crv !== 'P-256') fail('INVALID_KEY', `The key curve (crv) is ${shown(key.crv)}; expected "P-256".`);
  if (typeof key.x !== 'string' || !P256_COORDINATE.test(key.x) || typeof key.y !== 'string' || !P256_COORDINATE.test(key.y)) {
    fail('INVALID_KEY', 'The key coordinates x and y must each be 32 bytes in base64url (43 characters).');
  }
  return { kty: 'EC', crv: 'P-256', x: key.x as string, y: key.y as string };
}

/** RFC 7638 thumbprint of a P-256 public key: how a key is recognised wherever it is registered. */
export const jwkThumbprint = (jwk: JWK) => calculateJwkThumbprint(publicP256Jwk(jwk), 'sha256');

async function importP256(jwk: JWK): Promise<CryptoKey> {
  try {
    return (await importJWK(publicP256Jwk(jwk), ALG)) as CryptoKey;
  } catch (error) {
    if (error instanceof SignedMessageError) throw error;
    return fail('INVALID_KEY', 'The key is not a point on the P-256 curve.');
  }
}

/** Bound on cached keys: one per active device and credential fits comfortably; the oldest unused go first. */
const MAX_CACHED_KEYS = 10_000;

/**
 * Imported public keys of registered devices and credentials, by id and thumbprint, so a key is
 * parsed once rather than on every request. Embedded (not yet registered) keys are never cached:
 * they are used once, and caching them would let anyone fill the cache.
 */
export class ImportedKeyCache {
  private readonly keys = new Map<string, CryptoKey>();

  constructor(private readonly maxEntries = MAX_CACHED_KEYS) {}

  get size() {
    return this.keys.size;
  }

  async get(key: RegisteredKey): Promise<CryptoKey> {
    const cacheKey = `${key.id}#${key.thumbprint}`;
    const cached = this.keys.get(cacheKey);
    if (cached) {
      this.keys.delete(cacheKey);
      this.keys.set(cacheKey, cached);
      return cached;
    }
    const imported = await importP256(key.jwk);
    this.keys.set(cacheKey, imported);
    if (this.keys.size > this.maxEntries) this.keys.delete(this.keys.keys().next().value!);
    return imported;
  }
}

/** The process-wide cache used unless a caller brings its own. */
export const importedKeys = new ImportedKeyCache();

/** A public key registered with the server, named by the message's `kid`. */
export interface RegisteredKey {
  id: string;
  /** RFC 7638 thumbprint, as stored beside the key. */
  thumbprint: string;
  jwk: JWK;
}

/** Use the key embedded in the message header (activation and credential proofs). */
export const EMBEDDED_KEY = 'embedded' as const;

export interface SignedMessageRules {
  typ: SignedMessageType;
  /** The required `aud` (the issuer); omit for messages the contract gives no audience. */
  audience?: string;
  now: Date;
  /** Exact string values some claims must have (iss, sub, deviceId…), checked before any key is used. */
  claims?: Record<string, string>;
  /** Claims that must be present as non-empty strings (activationCode, challengeId…). */
  stringClaims?: readonly string[];
  /** Require a `jti` of at least 128 bits. */
  requireJti?: boolean;
  /** Require `exp`, in the future and at most this many seconds after `iat`. */
  maxLifetimeSeconds?: number;
  /** How far `iat` may be from `now`, either way, in seconds (default CLOCK_SKEW_S). */
  clockSkewSeconds?: number;
  keyCache?: ImportedKeyCache;
}

export interface VerifiedSignedMessage {
  header: SignedMessageHeader;
  claims: JWTPayload & { iat: number };
  /** The key that verified the signature (for an embedded key: the key to register). */
  key: { jwk: JWK; thumbprint: string };
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
  // Structure, type, algorithm (and key reference).
  const header = readSignedMessageHeader(jws, { typ: rules.typ, key: key === EMBEDDED_KEY ? 'jwk' : 'kid' });
  let claims: JWTPayload;
  try {
    claims = decodeJwt(jws);
  } catch {
    return fail('MALFORMED', 'The JWS payload is not a base64url-encoded JSON object of claims.');
  }
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

  // Audience.
  if (rules.audience !== undefined && claims.aud !== rules.audience) {
    fail('WRONG_AUDIENCE', `The aud claim is ${shown(claims.aud)}; expected "${rules.audience}" (this server's issuer).`);
  }

  // Freshness.
  const now = Math.floor(rules.now.getTime() / 1000);
  const skew = rules.clockSkewSeconds ?? CLOCK_SKEW_S;
  const { iat, exp } = claims;
  if (typeof iat !== 'number' || !Number.isFinite(iat)) return fail('MALFORMED', `The iat claim is ${shown(iat)}; expected a number of seconds since 1970.`);
  if (iat < now - skew) fail('STALE', `The message was issued ${now - iat} s ago (iat); it must be at most ${skew} s old. Check the phone's clock and sign a new one.`);
  if (iat > now + skew) fail('NOT_YET_VALID', `The message was issued ${iat - now} s in the future (iat); at most ${skew} s of clock difference is allowed. Check the phone's clock.`);
  if (rules.maxLifetimeSeconds !== undefined) {
    if (typeof exp !== 'number' || !Number.isFinite(exp) || exp <= iat) fail('MALFORMED', `The exp claim is ${shown(exp)}; expected a number of seconds after iat.`);
    if (exp! - iat > rules.maxLifetimeSeconds) {
      fail('LIFETIME_TOO_LONG', `The message is valid for ${exp! - iat} s (exp - iat); at most ${rules.maxLifetimeSeconds} s is allowed.`);
    }
    if (exp! <= now) fail('EXPIRED', `The message expired ${now - exp!} s ago (exp). Sign a new one.`);
  }

  // Key.
  let cryptoKey: CryptoKey;
  let verifiedKey: { jwk: JWK; thumbprint: string };
  if (key === EMBEDDED_KEY) {
    cryptoKey = await importP256(header.jwk!);
    verifiedKey = { jwk: header.jwk!, thumbprint: await jwkThumbprint(header.jwk!) };
  } else {
    if (header.kid !== key.id) fail('UNKNOWN_KEY', `The header kid is ${shown(header.kid)}; expected the registered key "${key.id}".`);
    cryptoKey = await (rules.keyCache ?? importedKeys).get(key);
    verifiedKey = { jwk: publicP256Jwk(key.jwk), thumbprint: key.thumbprint };
  }

  // Signature.
  try {
    await compactVerify(jws, cryptoKey, { algorithms: [ALG] });
  } catch {
    fail('BAD_SIGNATURE', key === EMBEDDED_KEY ? 'The signature does not verify with the key embedded in the header.' : `The signature does not verify with the registered key "${key.id}".`);
  }
  return { header, claims: { ...claims, iat }, key: verifiedKey };
}

/** What an activation proof establishes: possession of a new device key, bound to one activation code. */
export interface ActivationProof {
  /** Secret: compare it, never log it. */
  activationCode: string;
  deviceKey: { jwk: JWK; thumbprint: string };
  issuedAt: number;
}

/** Verifies an activation proof (`device-activation+jwt`, key embedded in the header). */
export async function verifyActivationProof(jws: string, o: { audience: string; now: Date }): Promise<ActivationProof> {
  const { claims, key } = await verifySignedMessage(jws, EMBEDDED_KEY, {
    typ: 'device-activation+jwt',
    audience: o.audience,
    now: o.now,
    stringClaims: ['activationCode'],
  });
  return { activationCode: claims.activationCode as string, deviceKey: key, issuedAt: claims.iat };
}

/** What a credential proof establishes: possession of a new phone sign-in key, for one device. */
export interface CredentialProof {
  credentialKey: { jwk: JWK; thumbprint: string };
  jti: string;
  issuedAt: number;
}

/** Verifies a credential proof (`phone-sign-in-credential+jwt`, key embedded) made for `deviceId`. */
export async function verifyCredentialProof(jws: string, o: { audience: string; now: Date; deviceId: string }): Promise<CredentialProof> {
  const { claims, key } = await verifySignedMessage(jws, EMBEDDED_KEY, {
    typ: 'phone-sign-in-credential+jwt',
    audience: o.audience,
    now: o.now,
    claims: { deviceId: o.deviceId },
    requireJti: true,
  });
  return { credentialKey: key, jti: claims.jti as string, issuedAt: claims.iat };
}

/** The device a device assertion claims to come from (its `kid`), read before its key is looked up. */
export function readDeviceAssertion(jws: string): { deviceId: string } {
  return { deviceId: readSignedMessageHeader(jws, { typ: 'device-assertion+jwt', key: 'kid' }).kid! };
}

export interface DeviceAssertion {
  deviceId: string;
  jti: string;
  issuedAt: number;
  expiresAt: number;
}

/** Verifies a device assertion against the registered device key: iss = sub = kid = device id. */
export async function verifyDeviceAssertion(jws: string, deviceKey: RegisteredKey, o: { audience: string; now: Date }): Promise<DeviceAssertion> {
  const { claims } = await verifySignedMessage(jws, deviceKey, {
    typ: 'device-assertion+jwt',
    audience: o.audience,
    now: o.now,
    claims: { iss: deviceKey.id, sub: deviceKey.id },
    requireJti: true,
    maxLifetimeSeconds: MAX_ASSERTION_LIFETIME_S,
  });
  return { deviceId: deviceKey.id, jti: claims.jti as string, issuedAt: claims.iat, expiresAt: claims.exp! };
}
