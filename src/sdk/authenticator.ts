import { type CryptoKey, type JWK, SignJWT, base64url, exportJWK, generateKeyPair } from 'jose';

/**
 * The signing side of an authenticator app, per the public contract: a device key made at
 * activation and a phone sign-in credential key made when phone sign-in is enabled. WebCrypto
 * only (through jose), so it runs in browsers as in Node.
 */
export interface SigningKey {
  privateKey: CryptoKey;
  publicJwk: JWK;
}

export type Decision = 'approve' | 'deny' | 'report';
/**
 * How the user was verified on the phone before signing (the response's `uv`). Send the most
 * specific one the platform reports: `face`, `fingerprint` and `iris` become the RFC 8176 amr
 * values "face", "fpt" and "iris"; `biometric` (kind unknown) only "user"; `pin` "pin". `none`
 * may deny or report, never approve.
 */
export type UserVerification = 'pin' | 'biometric' | 'face' | 'fingerprint' | 'iris' | 'none';

const ALG = 'ES256';
const seconds = (date: Date) => Math.floor(date.getTime() / 1000);
/** 128 random bits, the floor the contract sets for `jti`. */
export const randomJti = () => base64url.encode(globalThis.crypto.getRandomValues(new Uint8Array(16)));

export interface KeyOptions {
  /**
   * Whether the private key may be exported. False (the default) where the platform keeps
   * CryptoKeys itself (a browser's IndexedDB stores them as they are); true only for a store that
   * must write the key out, as the command line's PIN-encrypted file does.
   */
  extractable?: boolean;
}

export async function newSigningKey(options: KeyOptions = {}): Promise<SigningKey> {
  const { privateKey, publicKey } = await generateKeyPair(ALG, { extractable: options.extractable ?? false });
  const { kty, crv, x, y } = await exportJWK(publicKey);
  return { privateKey, publicJwk: { kty, crv, x, y } };
}

export class AuthenticatorKeys {
  deviceId?: string;
  credentialId?: string;

  private constructor(
    readonly deviceKey: SigningKey,
    public credentialKey: SigningKey | undefined,
    private readonly keyOptions: KeyOptions,
  ) {}

  static async create(options: KeyOptions = {}): Promise<AuthenticatorKeys> {
    return new AuthenticatorKeys(await newSigningKey(options), undefined, options);
  }

  /** Keys an app kept from an earlier activation (and enablement), as it loads them on start. */
  static restore(o: { deviceKey: SigningKey; deviceId: string; credentialKey?: SigningKey; credentialId?: string }, options: KeyOptions = {}): AuthenticatorKeys {
    const keys = new AuthenticatorKeys(o.deviceKey, o.credentialKey, options);
    keys.deviceId = o.deviceId;
    keys.credentialId = o.credentialId;
    return keys;
  }

  /** Proves possession of the new device key; the key travels in the header. */
  activationProof(o: { activationCode: string; audience: string; now?: Date }): Promise<string> {
    return new SignJWT({ activationCode: o.activationCode })
      .setProtectedHeader({ alg: ALG, typ: 'device-activation+jwt', jwk: this.deviceKey.publicJwk })
      .setAudience(o.audience)
      .setIssuedAt(seconds(o.now ?? new Date()))
      .sign(this.deviceKey.privateKey);
  }

  /** Authenticates one request (or one WebSocket connection) as this device. */
  deviceAssertion(o: { audience: string; now?: Date; lifetimeSeconds?: number; jti?: string }): Promise<string> {
    if (!this.deviceId) throw new Error('Activate first: the device assertion names the device id.');
    const iat = seconds(o.now ?? new Date());
    return new SignJWT({})
      .setProtectedHeader({ alg: ALG, typ: 'device-assertion+jwt', kid: this.deviceId })
      .setIssuer(this.deviceId)
      .setSubject(this.deviceId)
      .setAudience(o.audience)
      .setIssuedAt(iat)
      .setExpirationTime(iat + (o.lifetimeSeconds ?? 60))
      .setJti(o.jti ?? randomJti())
      .sign(this.deviceKey.privateKey);
  }

  /** Makes a fresh credential key (replacing any) and proves possession of it. */
  async credentialProof(o: { audience: string; now?: Date; jti?: string }): Promise<string> {
    if (!this.deviceId) throw new Error('Activate first: the credential proof names the device id.');
    this.credentialKey = await newSigningKey(this.keyOptions);
    return new SignJWT({ deviceId: this.deviceId })
      .setProtectedHeader({ alg: ALG, typ: 'phone-sign-in-credential+jwt', jwk: this.credentialKey.publicJwk })
      .setAudience(o.audience)
      .setIssuedAt(seconds(o.now ?? new Date()))
      .setJti(o.jti ?? randomJti())
      .sign(this.credentialKey.privateKey);
  }

  /**
   * Answers a challenge; sign only after local user verification (PIN or biometric). A
   * PHONE_SIGN_IN challenge is signed with the credential key (the default); a PUSH_MFA
   * challenge with the device key (`key: 'device'`, kid = deviceId), or with the credential key
   * when the device has one.
   */
  challengeResponse(o: {
    challengeId: string;
    nonce: string;
    decision: Decision;
    number: string;
    uv: UserVerification;
    now?: Date;
    key?: 'credential' | 'device';
  }): Promise<string> {
    const signer =
      o.key === 'device'
        ? { kid: this.deviceId, key: this.deviceKey, missing: 'Activate first: no device id.' }
        : { kid: this.credentialId, key: this.credentialKey, missing: 'Enable phone sign-in first: no credential key.' };
    if (!signer.kid || !signer.key) throw new Error(signer.missing);
    return new SignJWT({ challengeId: o.challengeId, nonce: o.nonce, decision: o.decision, number: o.number, uv: o.uv })
      .setProtectedHeader({ alg: ALG, typ: 'phone-sign-in-response+jwt', kid: signer.kid })
      .setIssuedAt(seconds(o.now ?? new Date()))
      .sign(signer.key.privateKey);
  }
}
