import { randomBytes } from 'node:crypto';
import { type CryptoKey, type JWK, SignJWT, exportJWK, generateKeyPair } from 'jose';

/**
 * The signing side of an authenticator app, per ../shared/PROTOCOL.md: a device key made at
 * activation and a phone sign-in credential key made when phone sign-in is enabled. Used by the
 * tests, and the seed of the authenticator SDK and CLI.
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
export const randomJti = () => randomBytes(16).toString('base64url');

export async function newSigningKey(): Promise<SigningKey> {
  const { privateKey, publicKey } = await generateKeyPair(ALG, { extractable: true });
  const { kty, crv, x, y } = await exportJWK(publicKey);
  return { privateKey, publicJwk: { kty, crv, x, y } };
}

export interface ActivationLink {
  /** The GraphQL HTTP endpoint to call. */
  endpoint: string;
  /** The single-use activation code. */
  code: string;
  /** The issuer, `aud` of everything the app signs; absent from links of older servers (see AuthenticatorApp.activate). */
  issuer?: string;
}

/** Splits `phonesignin://activate?endpoint=…&code=…&issuer=…` into its parts. */
export function parseActivationUrl(activationUrl: string): ActivationLink {
  const url = new URL(activationUrl);
  const endpoint = url.searchParams.get('endpoint');
  const code = url.searchParams.get('code');
  const issuer = url.searchParams.get('issuer');
  if (url.protocol !== 'phonesignin:' || url.hostname !== 'activate' || !endpoint || !code) {
    throw new Error('Not a phone sign-in activation link: expected phonesignin://activate?endpoint=…&code=…&issuer=…');
  }
  return issuer ? { endpoint, code, issuer } : { endpoint, code };
}

export class AuthenticatorKeys {
  deviceId?: string;
  credentialId?: string;

  private constructor(
    readonly deviceKey: SigningKey,
    public credentialKey?: SigningKey,
  ) {}

  static async create(): Promise<AuthenticatorKeys> {
    return new AuthenticatorKeys(await newSigningKey());
  }

  /** Keys an app kept from an earlier activation (and enablement), as it loads them on start. */
  static restore(o: { deviceKey: SigningKey; deviceId: string; credentialKey?: SigningKey; credentialId?: string }): AuthenticatorKeys {
    const keys = new AuthenticatorKeys(o.deviceKey, o.credentialKey);
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
    this.credentialKey = await newSigningKey();
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
