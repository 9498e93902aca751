import type { JWK } from 'jose';
import { EMBEDDED_KEY, verifySignedMessage } from './jws.js';

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
