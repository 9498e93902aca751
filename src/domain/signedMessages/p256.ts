import { createHash } from 'node:crypto';
import { type CryptoKey, type JWK, importJWK } from 'jose';
import { SignedMessageError, fail, shown } from './refusal.js';

/** The only algorithm accepted: ECDSA on P-256, what phone secure elements hold. */
export const ALG = 'ES256';

/** JWK members that only private keys have. */
const PRIVATE_JWK_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'] as const;
const P256_COORDINATE = /^[A-Za-z0-9_-]{43}$/;

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

/**
 * RFC 7638 thumbprint of a P-256 public key: how a key is recognised wherever it is registered.
 * SHA-256 of the required members in lexicographic order, without whitespace, in base64url; hashed
 * here at once rather than by WebCrypto's asynchronous digest (one thread-pool job per request).
 */
export async function jwkThumbprint(jwk: JWK): Promise<string> {
  const { crv, kty, x, y } = publicP256Jwk(jwk);
  return createHash('sha256').update(JSON.stringify({ crv, kty, x, y })).digest('base64url');
}

export const NOT_ON_CURVE = 'The key is not a point on the P-256 curve.';

/** Imports a P-256 public key for verifying, refusing anything else as INVALID_KEY. */
export async function importP256(jwk: JWK): Promise<CryptoKey> {
  try {
    return (await importJWK(publicP256Jwk(jwk), ALG)) as CryptoKey;
  } catch (error) {
    if (error instanceof SignedMessageError) throw error;
    return fail('INVALID_KEY', NOT_ON_CURVE);
  }
}
