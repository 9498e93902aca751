import type { JWK } from 'jose';
import { describe, expect, it } from 'vitest';
import { AuthenticatorKeys, newSigningKey } from '../sdk/authenticator.js';
import { type RegisteredKey, verifySignedMessage } from '../domain/signedMessages/jws.js';
import { jwkThumbprint } from '../domain/signedMessages/p256.js';
import { SignedMessageError } from '../domain/signedMessages/refusal.js';
import { ImportedKeyCache } from './keyCache.js';

const NOW = new Date('2025-01-01T12:00:00Z');

/** A registered key under `id`: the given public key, or a new one. */
async function registered(id: string, jwk?: JWK): Promise<RegisteredKey> {
  const key = jwk ?? (await newSigningKey()).publicJwk;
  return { id, thumbprint: await jwkThumbprint(key), jwk: key };
}

describe('imported key cache', () => {
  it('parses a registered key once, by id and thumbprint, keeping the most recently used', async () => {
    const cache = new ImportedKeyCache(2);
    const credential = await registered('a');
    const first = await cache.get(credential);
    expect(await cache.get(credential)).toBe(first);
    expect(cache.size).toBe(1);
    // Re-registering under the same id with another key must not reuse the old imported key.
    const replaced = await registered('a');
    expect(await cache.get(replaced)).not.toBe(first);
    expect(cache.size).toBe(2);
    // Full: the least recently used (replaced) goes, the one just read stays.
    await cache.get(credential);
    await cache.get(await registered('third'));
    expect(cache.size).toBe(2);
    expect(await cache.get(credential)).toBe(first);
  });

  it('verifies signed messages with the cached key, and refuses them after the key is replaced', async () => {
    const keys = await AuthenticatorKeys.create();
    keys.deviceId = '0b9b3f0e-6a3b-4f43-9d5c-3d9e7c1f2a10';
    await keys.credentialProof({ audience: 'https://login.example.com', now: NOW });
    keys.credentialId = '7c9e6679-7425-40de-944b-e07fc1f90ae7';
    const credential = await registered(keys.credentialId, keys.credentialKey!.publicJwk);
    const response = await keys.challengeResponse({ challengeId: 'c1', nonce: 'n1', decision: 'approve', number: '42', uv: 'pin', now: NOW });
    const cache = new ImportedKeyCache();
    const rules = { typ: 'phone-sign-in-response+jwt' as const, now: NOW, keys: cache };

    await expect(verifySignedMessage(response, credential, rules)).resolves.toMatchObject({ claims: { challengeId: 'c1' } });
    expect(cache.size).toBe(1);
    const refused = await verifySignedMessage(response, await registered(credential.id), rules).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(SignedMessageError);
    expect((refused as SignedMessageError).code).toBe('BAD_SIGNATURE');
    expect(cache.size).toBe(2);
  });
});
