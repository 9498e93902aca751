import type { CryptoKey } from 'jose';
import type { CryptoKeySource, RegisteredKey } from '../domain/signedMessages/jws.js';
import { importP256 } from '../domain/signedMessages/p256.js';

/** Bound on cached keys: one per active device and credential fits comfortably; the oldest unused go first. */
const MAX_CACHED_KEYS = 10_000;

/**
 * Imported public keys of registered devices and credentials, by id and thumbprint, so a key is
 * parsed once rather than on every request; one per server, held on the App. Embedded (not yet
 * registered) keys are never cached: they are used once, and caching them would let anyone fill it.
 */
export class ImportedKeyCache implements CryptoKeySource {
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
