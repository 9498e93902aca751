import { CompactSign, type CryptoKey, type JWK, SignJWT, base64url, calculateJwkThumbprint, exportJWK, generateKeyPair, generateSecret } from 'jose';
import { describe, expect, it } from 'vitest';
import { AuthenticatorKeys, newSigningKey, randomJti } from '../../sdk/authenticator.js';
import { verifyActivationProof } from './activationProof.js';
import { verifyCredentialProof } from './credentialProof.js';
import { readDeviceAssertion, verifyDeviceAssertion } from './deviceAssertion.js';
import { type CryptoKeySource, type RegisteredKey, readSignedMessageHeader, verifySignedMessage } from './jws.js';
import { importP256, jwkThumbprint } from './p256.js';
import { SignedMessageError } from './refusal.js';

const AUDIENCE = 'https://login.example.com';
const NOW = new Date('2025-01-01T12:00:00Z');
const seconds = (date: Date) => Math.floor(date.getTime() / 1000);
const DEVICE_ID = '0b9b3f0e-6a3b-4f43-9d5c-3d9e7c1f2a10';

async function activatedKeys() {
  const keys = await AuthenticatorKeys.create();
  keys.deviceId = DEVICE_ID;
  const registered: RegisteredKey = { id: DEVICE_ID, thumbprint: await jwkThumbprint(keys.deviceKey.publicJwk), jwk: keys.deviceKey.publicJwk };
  return { keys, registered };
}

describe('jwkThumbprint', () => {
  it('is the RFC 7638 thumbprint jose computes, whatever else the JWK carries', async () => {
    for (let i = 0; i < 5; i++) {
      const { publicJwk } = await newSigningKey();
      expect(await jwkThumbprint({ ...publicJwk, alg: 'ES256', use: 'sig' })).toBe(await calculateJwkThumbprint({ kty: 'EC', crv: 'P-256', x: publicJwk.x, y: publicJwk.y }, 'sha256'));
    }
  });
});

/** Resolves to the SignedMessageError code a verification fails with (and fails the test if it succeeds). */
async function refusal(promise: Promise<unknown> | (() => unknown)): Promise<{ code: string; message: string }> {
  try {
    await (typeof promise === 'function' ? promise() : promise);
  } catch (error) {
    if (error instanceof SignedMessageError) return { code: error.code, message: error.message };
    throw error;
  }
  throw new Error('expected a SignedMessageError, but the message was accepted');
}

/** Hand-made compact JWS: the header and claims are whatever the attacker wants. */
const forged = (header: object, claims: object, signature = '') =>
  `${base64url.encode(JSON.stringify(header))}.${base64url.encode(JSON.stringify(claims))}.${signature}`;

describe('activation proof', () => {
  it('accepts a proof signed by the key in its header and returns that key and the code', async () => {
    const keys = await AuthenticatorKeys.create();
    const proof = await keys.activationProof({ activationCode: 'code-123', audience: AUDIENCE, now: NOW });
    const verified = await verifyActivationProof(proof, { audience: AUDIENCE, now: NOW });
    expect(verified.activationCode).toBe('code-123');
    expect(verified.deviceKey.jwk).toEqual(keys.deviceKey.publicJwk);
    expect(verified.deviceKey.thumbprint).toBe(await jwkThumbprint(keys.deviceKey.publicJwk));
  });

  // Attack: a proof made with one key but carrying another's public key in the header.
  it('refuses a signature by another key than the embedded one', async () => {
    const keys = await AuthenticatorKeys.create();
    const other = await newSigningKey();
    const proof = await new SignJWT({ activationCode: 'c' })
      .setProtectedHeader({ alg: 'ES256', typ: 'device-activation+jwt', jwk: keys.deviceKey.publicJwk })
      .setAudience(AUDIENCE)
      .setIssuedAt(seconds(NOW))
      .sign(other.privateKey);
    expect((await refusal(verifyActivationProof(proof, { audience: AUDIENCE, now: NOW }))).code).toBe('BAD_SIGNATURE');
  });

  it('refuses a wrong typ, audience, and a stale or future iat, saying what it got and expected', async () => {
    const keys = await AuthenticatorKeys.create();
    const sign = (typ: string, aud: string, iat: number) =>
      new SignJWT({ activationCode: 'c' }).setProtectedHeader({ alg: 'ES256', typ, jwk: keys.deviceKey.publicJwk }).setAudience(aud).setIssuedAt(iat).sign(keys.deviceKey.privateKey);
    const verify = (jws: string) => verifyActivationProof(jws, { audience: AUDIENCE, now: NOW });
    const wrongTyp = await refusal(verify(await sign('device-assertion+jwt', AUDIENCE, seconds(NOW))));
    expect(wrongTyp).toEqual({ code: 'WRONG_TYPE', message: 'The header typ is "device-assertion+jwt"; expected "device-activation+jwt".' });
    const wrongAud = await refusal(verify(await sign('device-activation+jwt', 'https://evil.example', seconds(NOW))));
    expect(wrongAud.code).toBe('WRONG_AUDIENCE');
    expect(wrongAud.message).toContain('"https://evil.example"');
    expect(wrongAud.message).toContain(AUDIENCE);
    expect((await refusal(verify(await sign('device-activation+jwt', AUDIENCE, seconds(NOW) - 61)))).code).toBe('STALE');
    expect((await refusal(verify(await sign('device-activation+jwt', AUDIENCE, seconds(NOW) + 61)))).code).toBe('NOT_YET_VALID');
    await expect(verify(await sign('device-activation+jwt', AUDIENCE, seconds(NOW) - 60))).resolves.toBeTruthy();
  });

  it('names a missing aud or iat, and an exp long past, as it names a wrong one', async () => {
    const keys = await AuthenticatorKeys.create();
    const sign = (claims: object) =>
      new SignJWT({ activationCode: 'c', ...claims }).setProtectedHeader({ alg: 'ES256', typ: 'device-activation+jwt', jwk: keys.deviceKey.publicJwk }).sign(keys.deviceKey.privateKey);
    const verify = async (claims: object) => refusal(verifyActivationProof(await sign(claims), { audience: AUDIENCE, now: NOW }));
    expect(await verify({ iat: seconds(NOW) })).toEqual({ code: 'WRONG_AUDIENCE', message: `The aud claim is nothing; expected "${AUDIENCE}" (this server's issuer).` });
    expect(await verify({ aud: AUDIENCE })).toEqual({ code: 'MALFORMED', message: 'The iat claim is nothing; expected a number of seconds since 1970.' });
    expect(await verify({ aud: AUDIENCE, iat: 'today' })).toEqual({ code: 'MALFORMED', message: 'The iat claim is "today"; expected a number of seconds since 1970.' });
    expect(await verify({ aud: AUDIENCE, iat: seconds(NOW), exp: seconds(NOW) - 61 })).toEqual({ code: 'EXPIRED', message: 'The message expired 61 s ago (exp). Sign a new one.' });
  });

  it('never echoes the activation code in a refusal', async () => {
    const keys = await AuthenticatorKeys.create();
    const proof = await keys.activationProof({ activationCode: 'super-secret-code', audience: 'https://elsewhere', now: NOW });
    const { message } = await refusal(verifyActivationProof(proof, { audience: AUDIENCE, now: NOW }));
    expect(message).not.toContain('super-secret-code');
  });

  // Attack: key confusion — a `kid` pointing at some registered key instead of proving a new one.
  it('refuses a kid where an embedded jwk is required', async () => {
    const keys = await AuthenticatorKeys.create();
    const proof = await new SignJWT({ activationCode: 'c' })
      .setProtectedHeader({ alg: 'ES256', typ: 'device-activation+jwt', kid: DEVICE_ID })
      .setAudience(AUDIENCE)
      .setIssuedAt(seconds(NOW))
      .sign(keys.deviceKey.privateKey);
    expect((await refusal(verifyActivationProof(proof, { audience: AUDIENCE, now: NOW }))).code).toBe('WRONG_KEY_REFERENCE');
  });

  // Attack: weak or foreign keys smuggled in the header.
  it('refuses embedded keys that are not P-256 public keys', async () => {
    const claims = { activationCode: 'c', aud: AUDIENCE, iat: seconds(NOW) };
    const verify = (jwk: unknown) => verifyActivationProof(forged({ alg: 'ES256', typ: 'device-activation+jwt', jwk }, claims, 'AAAA'), { audience: AUDIENCE, now: NOW });
    const p384 = await exportJWK((await generateKeyPair('ES384')).publicKey);
    const rsa = await exportJWK((await generateKeyPair('RS256')).publicKey);
    const p256 = await generateKeyPair('ES256', { extractable: true });
    const privateJwk = await exportJWK(p256.privateKey);
    const publicJwk = await exportJWK(p256.publicKey);

    const curve = await refusal(verify(p384));
    expect(curve).toEqual({ code: 'INVALID_KEY', message: 'The key curve (crv) is "P-384"; expected "P-256".' });
    expect((await refusal(verify(rsa))).message).toBe('The key type (kty) is "RSA"; expected "EC".');
    const leaked = await refusal(verify(privateJwk));
    expect(leaked.code).toBe('INVALID_KEY');
    expect(leaked.message).not.toContain(privateJwk.d!);
    // Same length as a real coordinate, but not a point on the curve (invalid-curve attack).
    expect((await refusal(verify({ ...publicJwk, y: publicJwk.x }))).message).toBe('The key is not a point on the P-256 curve.');
    expect((await refusal(verify('not a key'))).code).toBe('INVALID_KEY');
    // A P-256 key that declares another use or algorithm is not one to verify ES256 with.
    const declared = await refusal(verify({ ...publicJwk, alg: 'ES384' }));
    expect(declared).toEqual({ code: 'INVALID_KEY', message: 'The embedded key cannot verify ES256: Invalid Embedded JWK, its "alg" must be "ES256" when present.' });
    expect((await refusal(verify({ ...publicJwk, use: 'enc' }))).code).toBe('INVALID_KEY');
  });
});

describe('algorithm confusion', () => {
  // Attack: alg "none" and HMAC signed with the public key as the secret (CVE-2015-9235 style).
  it('accepts only ES256', async () => {
    const { registered } = await activatedKeys();
    const claims = { iss: DEVICE_ID, sub: DEVICE_ID, aud: AUDIENCE, iat: seconds(NOW), exp: seconds(NOW) + 60, jti: randomJti() };
    const verify = (jws: string) => verifyDeviceAssertion(jws, registered, { audience: AUDIENCE, now: NOW });

    const none = await refusal(verify(forged({ alg: 'none', typ: 'device-assertion+jwt', kid: DEVICE_ID }, claims)));
    expect(none).toEqual({ code: 'UNSUPPORTED_ALGORITHM', message: 'The header alg is "none"; only "ES256" (ECDSA P-256 with SHA-256) is accepted.' });

    const hmac = await new SignJWT(claims).setProtectedHeader({ alg: 'HS256', typ: 'device-assertion+jwt', kid: DEVICE_ID }).sign(await generateSecret('HS256'));
    expect((await refusal(verify(hmac))).code).toBe('UNSUPPORTED_ALGORITHM');

    const p384 = await generateKeyPair('ES384');
    const es384 = await new SignJWT(claims).setProtectedHeader({ alg: 'ES384', typ: 'device-assertion+jwt', kid: DEVICE_ID }).sign(p384.privateKey);
    expect((await refusal(verify(es384))).message).toContain('"ES384"');

    const rsa = await generateKeyPair('RS256');
    const rs256 = await new SignJWT(claims).setProtectedHeader({ alg: 'RS256', typ: 'device-assertion+jwt', kid: DEVICE_ID }).sign(rsa.privateKey);
    expect((await refusal(verify(rs256))).code).toBe('UNSUPPORTED_ALGORITHM');
  });

  it('refuses what is not a compact JWS, and oversized input, before parsing it', async () => {
    expect((await refusal(() => readSignedMessageHeader('not.a jws', { typ: 'device-assertion+jwt', key: 'kid' }))).code).toBe('MALFORMED');
    expect((await refusal(() => readSignedMessageHeader(`${'a'.repeat(9000)}.b.c`, { typ: 'device-assertion+jwt', key: 'kid' }))).code).toBe('MALFORMED');
    expect((await refusal(() => readSignedMessageHeader('bm90IGpzb24.e30.AAAA', { typ: 'device-assertion+jwt', key: 'kid' }))).code).toBe('MALFORMED');
  });

  // Attack: a key fetched from a URL the attacker controls.
  it('refuses keys by reference (jku, x5u, x5c)', async () => {
    const jws = forged({ alg: 'ES256', typ: 'device-assertion+jwt', kid: DEVICE_ID, jku: 'https://evil.example/jwks' }, {}, 'AAAA');
    expect((await refusal(() => readDeviceAssertion(jws))).code).toBe('WRONG_KEY_REFERENCE');
  });
});

describe('device assertion', () => {
  it('verifies against the registered key and reports jti and expiry', async () => {
    const { keys, registered } = await activatedKeys();
    const assertion = await keys.deviceAssertion({ audience: AUDIENCE, now: NOW, lifetimeSeconds: 300 });
    expect(readDeviceAssertion(assertion)).toEqual({ deviceId: DEVICE_ID });
    const verified = await verifyDeviceAssertion(assertion, registered, { audience: AUDIENCE, now: NOW });
    expect(verified).toMatchObject({ deviceId: DEVICE_ID, issuedAt: seconds(NOW), expiresAt: seconds(NOW) + 300 });
    expect(verified.jti.length).toBeGreaterThanOrEqual(22);
  });

  it('refuses an embedded jwk where a kid is required', async () => {
    const { keys } = await activatedKeys();
    const jws = await new SignJWT({}).setProtectedHeader({ alg: 'ES256', typ: 'device-assertion+jwt', jwk: keys.deviceKey.publicJwk }).sign(keys.deviceKey.privateKey);
    expect((await refusal(() => readDeviceAssertion(jws))).message).toBe('The header embeds a "jwk"; this message must name its registered key with "kid" instead.');
  });

  it('refuses another device key, lifetimes over 300 s, expired assertions, short jti and mismatched subject', async () => {
    const { keys, registered } = await activatedKeys();
    const verify = (jws: string, now = NOW) => verifyDeviceAssertion(jws, registered, { audience: AUDIENCE, now });

    const impostor = await AuthenticatorKeys.create();
    impostor.deviceId = DEVICE_ID;
    expect((await refusal(verify(await impostor.deviceAssertion({ audience: AUDIENCE, now: NOW })))).code).toBe('BAD_SIGNATURE');

    const long = await keys.deviceAssertion({ audience: AUDIENCE, now: NOW, lifetimeSeconds: 301 });
    expect((await refusal(verify(long))).message).toBe('The message is valid for 301 s (exp - iat); at most 300 s is allowed.');

    const short = await keys.deviceAssertion({ audience: AUDIENCE, now: NOW, lifetimeSeconds: 10 });
    expect((await refusal(verify(short, new Date(NOW.getTime() + 11_000)))).code).toBe('EXPIRED');

    expect((await refusal(verify(await keys.deviceAssertion({ audience: AUDIENCE, now: NOW, jti: 'abc' })))).code).toBe('WEAK_JTI');

    const noExp = await new SignJWT({ iss: DEVICE_ID, sub: DEVICE_ID, aud: AUDIENCE, jti: randomJti() }).setProtectedHeader({ alg: 'ES256', typ: 'device-assertion+jwt', kid: DEVICE_ID }).setIssuedAt(seconds(NOW)).sign(keys.deviceKey.privateKey);
    expect(await refusal(verify(noExp))).toEqual({ code: 'MALFORMED', message: 'The exp claim is nothing; expected a number of seconds after iat.' });

    const otherId = '5f1d7c1e-1d2b-4c3a-8e4f-0a1b2c3d4e5f';
    const wrongKid = { ...registered, id: otherId };
    expect((await refusal(verifyDeviceAssertion(await keys.deviceAssertion({ audience: AUDIENCE, now: NOW }), wrongKid, { audience: AUDIENCE, now: NOW }))).code).toBe('WRONG_CLAIM');

    const claims = { iss: DEVICE_ID, sub: otherId, aud: AUDIENCE, jti: randomJti() };
    const wrongSub = await new SignJWT(claims).setProtectedHeader({ alg: 'ES256', typ: 'device-assertion+jwt', kid: DEVICE_ID }).setIssuedAt(seconds(NOW)).setExpirationTime(seconds(NOW) + 60).sign(keys.deviceKey.privateKey);
    expect((await refusal(verify(wrongSub))).message).toBe(`The claim "sub" is "${otherId}"; expected "${DEVICE_ID}".`);
  });
});

describe('order of checks', () => {
  it('checks the claims a message must carry before the key, the signature before audience, and freshness before lifetime', async () => {
    const { keys, registered } = await activatedKeys();
    const impostor = await newSigningKey();
    const sign = (claims: object, key = impostor.privateKey) =>
      new SignJWT({ iss: DEVICE_ID, sub: DEVICE_ID, jti: randomJti(), ...claims }).setProtectedHeader({ alg: 'ES256', typ: 'device-assertion+jwt', kid: DEVICE_ID }).sign(key);
    const code = async (claims: object, key?: CryptoKey) => (await refusal(verifyDeviceAssertion(await sign(claims, key), registered, { audience: AUDIENCE, now: NOW }))).code;
    const stale = { iat: seconds(NOW) - 600, exp: seconds(NOW) + 10 };
    expect(await code({ ...stale, aud: 'https://evil.example', sub: 'someone else' })).toBe('WRONG_CLAIM');
    expect(await code({ ...stale, aud: 'https://evil.example' })).toBe('BAD_SIGNATURE');
    expect(await code({ ...stale, aud: 'https://evil.example' }, keys.deviceKey.privateKey)).toBe('WRONG_AUDIENCE');
    expect(await code({ ...stale, aud: AUDIENCE }, keys.deviceKey.privateKey)).toBe('STALE');
    expect(await code({ iat: seconds(NOW), exp: seconds(NOW) + 301, aud: AUDIENCE }, keys.deviceKey.privateKey)).toBe('LIFETIME_TOO_LONG');
  });
});

describe('not before', () => {
  // Attack: an assertion signed now to be used later (nbf), e.g. one prepared on a stolen phone.
  it('refuses an nbf further in the future than the clock difference, saying by how much', async () => {
    const { keys, registered } = await activatedKeys();
    const signed = (nbf: number) =>
      new SignJWT({ iss: DEVICE_ID, sub: DEVICE_ID, aud: AUDIENCE, jti: randomJti() })
        .setProtectedHeader({ alg: 'ES256', typ: 'device-assertion+jwt', kid: DEVICE_ID })
        .setIssuedAt(seconds(NOW))
        .setNotBefore(nbf)
        .setExpirationTime(seconds(NOW) + 300)
        .sign(keys.deviceKey.privateKey);
    const verify = async (nbf: number) => verifyDeviceAssertion(await signed(nbf), registered, { audience: AUDIENCE, now: NOW });
    expect(await refusal(verify(seconds(NOW) + 61))).toEqual({
      code: 'NOT_YET_VALID',
      message: "The message is valid only 61 s from now (nbf); at most 60 s of clock difference is allowed. Check the phone's clock.",
    });
    expect((await refusal(verify(seconds(NOW) + 240))).code).toBe('NOT_YET_VALID');
    await expect(verify(seconds(NOW) + 60)).resolves.toMatchObject({ deviceId: DEVICE_ID });
    await expect(verify(seconds(NOW) - 10)).resolves.toMatchObject({ deviceId: DEVICE_ID });
  });
});

describe('credential proof', () => {
  it('binds the new credential key to one device', async () => {
    const { keys } = await activatedKeys();
    const proof = await keys.credentialProof({ audience: AUDIENCE, now: NOW });
    const verified = await verifyCredentialProof(proof, { audience: AUDIENCE, now: NOW, deviceId: DEVICE_ID });
    expect(verified.credentialKey.jwk).toEqual(keys.credentialKey!.publicJwk);
    expect((await refusal(verifyCredentialProof(proof, { audience: AUDIENCE, now: NOW, deviceId: '5f1d7c1e-1d2b-4c3a-8e4f-0a1b2c3d4e5f' }))).code).toBe('WRONG_CLAIM');
  });

  it('requires a jti of 128 bits', async () => {
    const { keys } = await activatedKeys();
    const proof = await keys.credentialProof({ audience: AUDIENCE, now: NOW, jti: 'short' });
    expect((await refusal(verifyCredentialProof(proof, { audience: AUDIENCE, now: NOW, deviceId: DEVICE_ID }))).code).toBe('WEAK_JTI');
  });
});

describe('generic messages and the key source', () => {
  it("verifies a challenge response by kid = credential id, with the key from the caller's source", async () => {
    const { keys } = await activatedKeys();
    await keys.credentialProof({ audience: AUDIENCE, now: NOW });
    keys.credentialId = '7c9e6679-7425-40de-944b-e07fc1f90ae7';
    const credential: RegisteredKey = { id: keys.credentialId, thumbprint: await jwkThumbprint(keys.credentialKey!.publicJwk), jwk: keys.credentialKey!.publicJwk };
    const response = await keys.challengeResponse({ challengeId: 'c1', nonce: 'n1', decision: 'approve', number: '42', uv: 'pin', now: NOW });
    expect(readSignedMessageHeader(response, { typ: 'phone-sign-in-response+jwt', key: 'kid' }).kid).toBe(keys.credentialId);

    const asked: RegisteredKey[] = [];
    const source: CryptoKeySource = { get: (key) => (asked.push(key), importP256(key.jwk)) };
    const rules = { typ: 'phone-sign-in-response+jwt' as const, now: NOW, stringClaims: ['challengeId', 'nonce'], keys: source };
    const verified = await verifySignedMessage(response, credential, rules);
    expect(verified.claims).toMatchObject({ challengeId: 'c1', nonce: 'n1', decision: 'approve', number: '42', uv: 'pin' });
    expect(asked).toEqual([credential]);
    // Re-registered under the same id with another key: the source is asked for that key, which refuses the old signature.
    const other = await newSigningKey();
    const replaced = { id: credential.id, thumbprint: await jwkThumbprint(other.publicJwk), jwk: other.publicJwk };
    expect((await refusal(verifySignedMessage(response, replaced, rules))).code).toBe('BAD_SIGNATURE');
    expect(asked).toEqual([credential, replaced]);
  });

  it('refuses a message missing a required claim', async () => {
    const { keys, registered } = await activatedKeys();
    const jws = await new CompactSign(new TextEncoder().encode(JSON.stringify({ iat: seconds(NOW) })))
      .setProtectedHeader({ alg: 'ES256', typ: 'phone-sign-in-response+jwt', kid: DEVICE_ID })
      .sign(keys.deviceKey.privateKey);
    const result = await refusal(verifySignedMessage(jws, registered, { typ: 'phone-sign-in-response+jwt', now: NOW, stringClaims: ['challengeId'] }));
    expect(result).toEqual({ code: 'MALFORMED', message: 'The claim "challengeId" is missing or not a string.' });
  });

  it('reduces a registered JWK to its public members', async () => {
    const key = await newSigningKey();
    const withExtras = { ...key.publicJwk, alg: 'ES256', use: 'sig' } as JWK;
    expect(await jwkThumbprint(withExtras)).toBe(await jwkThumbprint(key.publicJwk));
  });
});
