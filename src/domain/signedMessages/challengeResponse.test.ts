import { randomUUID } from 'node:crypto';
import { SignJWT } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import { AuthenticatorKeys, type UserVerification } from '../../sdk/authenticator.js';
import { readChallengeResponse, verifyChallengeResponse } from './challengeResponse.js';
import type { RegisteredKey } from './jws.js';
import { jwkThumbprint } from './p256.js';
import { SignedMessageError } from './refusal.js';

const now = new Date('2030-01-01T00:00:00Z');
const challenge = { id: randomUUID(), nonce: 'n'.repeat(43), createdAt: new Date(now.getTime() - 10_000) };
let phone: AuthenticatorKeys;
let credential: RegisteredKey;

beforeAll(async () => {
  phone = await AuthenticatorKeys.create();
  phone.deviceId = randomUUID();
  await phone.credentialProof({ audience: 'https://id.example.com', now });
  phone.credentialId = randomUUID();
  const jwk = phone.credentialKey!.publicJwk;
  credential = { id: phone.credentialId, jwk, thumbprint: await jwkThumbprint(jwk) };
});

const respond = (o: Partial<{ challengeId: string; nonce: string; now: Date; number: string; uv: UserVerification }> = {}) =>
  phone.challengeResponse({ challengeId: challenge.id, nonce: challenge.nonce, decision: 'approve', number: '42', uv: 'pin', now, ...o });

const code = async (promise: Promise<unknown> | (() => unknown)) => {
  try {
    await (typeof promise === 'function' ? promise() : promise);
  } catch (error) {
    if (error instanceof SignedMessageError) return error.code;
    throw error;
  }
  return 'OK';
};

describe('challenge response', () => {
  it('reads structure and typ, then verifies signature, binding and freshness', async () => {
    const jws = await respond();
    const read = readChallengeResponse(jws);
    expect(read.kid).toBe(phone.credentialId);
    expect(read.claims).toMatchObject({ challengeId: challenge.id, decision: 'approve', number: '42', uv: 'pin' });
    const claims = await verifyChallengeResponse(jws, credential, challenge, now);
    expect(claims.nonce).toBe(challenge.nonce);
  });

  // Attack: a message of another type (a device assertion) replayed as an answer.
  it('refuses the wrong typ and malformed claims before looking at keys', async () => {
    const assertion = await phone.deviceAssertion({ audience: 'x', now });
    expect(await code(() => readChallengeResponse(assertion))).toBe('WRONG_TYPE');
    expect(await code(() => readChallengeResponse('not.a.jws'))).toBe('MALFORMED');
    const noUv = await new SignJWT({ challengeId: challenge.id, nonce: 'x', decision: 'approve', number: '42' })
      .setProtectedHeader({ alg: 'ES256', typ: 'phone-sign-in-response+jwt', kid: phone.credentialId! })
      .setIssuedAt()
      .sign(phone.credentialKey!.privateKey);
    expect(await code(() => readChallengeResponse(noUv))).toBe('MALFORMED');
    const retina = await respond({ uv: 'retina' as 'pin' });
    expect(await code(() => readChallengeResponse(retina))).toBe('MALFORMED');
  });

  // Attack: control characters in claims that are compared, stored or shown (nonce, number) or in the header's kid.
  it('refuses control characters anywhere in the header or the claims as MALFORMED, saying where', async () => {
    const refusedAs = (jws: string) => {
      try {
        readChallengeResponse(jws);
      } catch (error) {
        if (error instanceof SignedMessageError) return `${error.code}: ${error.message}`;
        throw error;
      }
      return 'OK';
    };
    expect(refusedAs(await respond({ nonce: `${challenge.nonce}\u0000` }))).toMatch(/^MALFORMED: The claim "nonce" contains the control character U\+0000 at position 43/);
    expect(refusedAs(await respond({ number: '4\n2' }))).toMatch(/^MALFORMED: The claim "number" contains the control character U\+000A/);
    expect(refusedAs(await respond({ number: '42\u009b' }))).toMatch(/^MALFORMED: The claim "number" contains the control character U\+009B/);
    expect(refusedAs(await respond({ number: '42\ud800' }))).toMatch(/^MALFORMED: The claim "number" is not valid Unicode/);
    const kid = await new SignJWT({ challengeId: challenge.id, nonce: challenge.nonce, decision: 'approve', number: '42', uv: 'pin' })
      .setProtectedHeader({ alg: 'ES256', typ: 'phone-sign-in-response+jwt', kid: `${phone.credentialId}\u0000` })
      .setIssuedAt()
      .sign(phone.credentialKey!.privateKey);
    expect(refusedAs(kid)).toMatch(/^MALFORMED: The header value "kid" contains the control character U\+0000/);
    expect(refusedAs(await respond({ number: '42' }))).toBe('OK');
  });

  it('reads every documented kind of user verification', async () => {
    for (const uv of ['pin', 'biometric', 'face', 'fingerprint', 'iris', 'none'] as const) {
      expect(readChallengeResponse(await respond({ uv })).claims.uv).toBe(uv);
    }
  });

  // Attack: a response signed by some other key under this credential's id.
  it('refuses a signature by another key', async () => {
    const other = await AuthenticatorKeys.create();
    other.deviceId = phone.deviceId;
    await other.credentialProof({ audience: 'x', now });
    other.credentialId = phone.credentialId;
    const forged = await other.challengeResponse({ challengeId: challenge.id, nonce: challenge.nonce, decision: 'approve', number: '42', uv: 'pin', now });
    expect(await code(verifyChallengeResponse(forged, credential, challenge, now))).toBe('BAD_SIGNATURE');
  });

  // Attack: an answer to one challenge replayed against another, or with a guessed nonce.
  it('refuses another challenge id or nonce', async () => {
    expect(await code(verifyChallengeResponse(await respond({ challengeId: randomUUID() }), credential, challenge, now))).toBe('WRONG_CLAIM');
    expect(await code(verifyChallengeResponse(await respond({ nonce: 'm'.repeat(43) }), credential, challenge, now))).toBe('WRONG_CLAIM');
  });

  it('refuses stale, future and pre-challenge responses', async () => {
    const at = (s: number) => new Date(now.getTime() + s * 1000);
    expect(await code(verifyChallengeResponse(await respond({ now: at(-61) }), credential, { ...challenge, createdAt: at(-100) }, now))).toBe('STALE');
    expect(await code(verifyChallengeResponse(await respond({ now: at(-60) }), credential, { ...challenge, createdAt: at(-100) }, now))).toBe('OK');
    expect(await code(verifyChallengeResponse(await respond({ now: at(61) }), credential, challenge, now))).toBe('NOT_YET_VALID');
    expect(await code(verifyChallengeResponse(await respond({ now: at(-50) }), credential, { ...challenge, createdAt: at(20) }, now))).toBe('STALE');
  });
});
