import type { JWK } from 'jose';
import { EMBEDDED_KEY, verifySignedMessage } from './jws.js';

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
