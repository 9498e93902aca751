import { createCipheriv, createDecipheriv, randomBytes, scrypt } from 'node:crypto';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { type CryptoKey, type JWK, exportJWK, importJWK } from 'jose';
import type { AuthenticatorState, KeyStore } from '../sdk/index.js';

/**
 * The command-line authenticator's KeyStore: one JSON file whose payload (keys, device id,
 * endpoint) is sealed with AES-256-GCM under a key derived from the user's PIN with scrypt. Nothing
 * of the keys is ever written in the clear; the file's own parameters are bound in as associated data.
 */

const FORMAT = 'phone-sign-in-authenticator/1' as const;
/** OWASP's scrypt floor (N = 2^17, r = 8, p = 1): about 128 MiB and a fraction of a second per PIN tried. */
const SCRYPT = { N: 2 ** 17, r: 8, p: 1 } as const;
const SCRYPT_MAXMEM = 256 * 1024 * 1024;
const KEY_BYTES = 32;
const SALT_BYTES = 16;
/** 96-bit IVs, fresh for every write: the size GCM is specified for. */
const IV_BYTES = 12;
/** Short PINs fall to an offline guess at the file; six characters is the floor phones use. */
export const MIN_PIN_LENGTH = 6;

interface Envelope {
  format: typeof FORMAT;
  kdf: { name: 'scrypt'; N: number; r: number; p: number; salt: string };
  cipher: 'aes-256-gcm';
  iv: string;
  ciphertext: string;
  tag: string;
}

interface Payload {
  endpoint: string;
  audience: string;
  deviceId: string;
  deviceKey: JWK;
  credentialId?: string;
  credentialKey?: JWK;
}

/** The PIN did not open the file (or the file was altered): GCM cannot tell the two apart. */
export class WrongPinError extends Error {
  override name = 'WrongPinError';
}

/** The file is missing or is not a key file; the message names the path. */
export class KeyFileError extends Error {
  override name = 'KeyFileError';
}

const b64 = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64url');
const unb64 = (text: string) => Buffer.from(text, 'base64url');

const deriveKey = (pin: string, salt: Buffer, kdf: { N: number; r: number; p: number }) =>
  new Promise<Buffer>((resolve, reject) =>
    scrypt(pin.normalize('NFKC'), salt, KEY_BYTES, { ...kdf, maxmem: SCRYPT_MAXMEM }, (error, key) => (error ? reject(error) : resolve(key))),
  );

/** What the payload is authenticated with: everything in the envelope but the sealed parts. */
const associatedData = (e: Pick<Envelope, 'format' | 'kdf' | 'cipher'>) => Buffer.from(JSON.stringify([e.format, e.kdf, e.cipher]));

const privateJwk = async (key: CryptoKey) => {
  const { kty, crv, x, y, d } = await exportJWK(key);
  return { kty, crv, x, y, d };
};
const signingKey = async (jwk: JWK) => {
  const { kty, crv, x, y } = jwk;
  return { privateKey: (await importJWK(jwk, 'ES256', { extractable: true })) as CryptoKey, publicJwk: { kty, crv, x, y } };
};

export class PinProtectedKeyFile implements KeyStore {
  /** Derived once per PIN and salt: later writes reuse it with a fresh IV. */
  private derived: { salt: Buffer; key: Buffer } | undefined;

  constructor(
    readonly path: string,
    private readonly pin: string,
  ) {}

  /** Whether a key file is at `path`. */
  static async exists(path: string): Promise<boolean> {
    return readFile(path).then(
      () => true,
      () => false,
    );
  }

  async load(): Promise<AuthenticatorState | undefined> {
    let text: string;
    try {
      text = await readFile(this.path, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    }
    const envelope = parseEnvelope(text, this.path);
    const salt = unb64(envelope.kdf.salt);
    const key = await deriveKey(this.pin, salt, envelope.kdf);
    const decipher = createDecipheriv('aes-256-gcm', key, unb64(envelope.iv));
    decipher.setAAD(associatedData(envelope));
    decipher.setAuthTag(unb64(envelope.tag));
    let payload: Payload;
    try {
      payload = JSON.parse(Buffer.concat([decipher.update(unb64(envelope.ciphertext)), decipher.final()]).toString('utf8')) as Payload;
    } catch {
      throw new WrongPinError('Wrong PIN: it does not open the key file. Try again, or activate afresh with --force if the PIN is lost.');
    }
    this.derived = { salt, key };
    const { deviceKey, credentialKey, credentialId, ...rest } = payload;
    return {
      ...rest,
      deviceKey: await signingKey(deviceKey),
      ...(credentialId && credentialKey ? { credentialId, credentialKey: await signingKey(credentialKey) } : {}),
    };
  }

  async save(state: AuthenticatorState): Promise<void> {
    this.derived ??= await (async () => {
      const salt = randomBytes(SALT_BYTES);
      return { salt, key: await deriveKey(this.pin, salt, SCRYPT) };
    })();
    const payload: Payload = {
      endpoint: state.endpoint,
      audience: state.audience,
      deviceId: state.deviceId,
      deviceKey: await privateJwk(state.deviceKey.privateKey),
      ...(state.credentialId && state.credentialKey ? { credentialId: state.credentialId, credentialKey: await privateJwk(state.credentialKey.privateKey) } : {}),
    };
    const header = { format: FORMAT, kdf: { name: 'scrypt' as const, ...SCRYPT, salt: b64(this.derived.salt) }, cipher: 'aes-256-gcm' as const };
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.derived.key, iv);
    cipher.setAAD(associatedData(header));
    const ciphertext = Buffer.concat([cipher.update(JSON.stringify(payload), 'utf8'), cipher.final()]);
    const envelope: Envelope = { ...header, iv: b64(iv), ciphertext: b64(ciphertext), tag: b64(cipher.getAuthTag()) };
    await mkdir(dirname(this.path), { recursive: true, mode: 0o700 });
    // Written beside and renamed over, so a crash never leaves half a file where the keys were.
    const temporary = `${this.path}.${process.pid}.tmp`;
    await writeFile(temporary, `${JSON.stringify(envelope, null, 2)}\n`, { mode: 0o600 });
    await rename(temporary, this.path);
  }

  async clear(): Promise<void> {
    await rm(this.path, { force: true });
  }
}

function parseEnvelope(text: string, path: string): Envelope {
  let envelope: Partial<Envelope>;
  try {
    envelope = JSON.parse(text) as Partial<Envelope>;
  } catch {
    throw new KeyFileError(`${path} is not an authenticator key file (not JSON).`);
  }
  const { kdf } = envelope;
  if (envelope.format !== FORMAT || envelope.cipher !== 'aes-256-gcm' || kdf?.name !== 'scrypt' || !envelope.iv || !envelope.ciphertext || !envelope.tag) {
    throw new KeyFileError(`${path} is not an authenticator key file: expected format "${FORMAT}".`);
  }
  return envelope as Envelope;
}
