import { type CryptoKeySource, type RegisteredKey, readSignedMessageHeader, verifySignedMessage } from './jws.js';

/** The contract's longest device-assertion lifetime, `exp - iat`, in seconds. */
export const MAX_ASSERTION_LIFETIME_S = 300;

/** The device a device assertion claims to come from (its `kid`), read before its key is looked up. */
export function readDeviceAssertion(jws: string): { deviceId: string } {
  return { deviceId: readSignedMessageHeader(jws, { typ: 'device-assertion+jwt', key: 'kid' }).kid! };
}

export interface DeviceAssertion {
  deviceId: string;
  jti: string;
  issuedAt: number;
  expiresAt: number;
}

/** Verifies a device assertion against the registered device key: iss = sub = kid = device id. */
export async function verifyDeviceAssertion(
  jws: string,
  deviceKey: RegisteredKey,
  o: { audience: string; now: Date; keys?: CryptoKeySource },
): Promise<DeviceAssertion> {
  const { claims } = await verifySignedMessage(jws, deviceKey, {
    typ: 'device-assertion+jwt',
    audience: o.audience,
    now: o.now,
    claims: { iss: deviceKey.id, sub: deviceKey.id },
    requireJti: true,
    maxLifetimeSeconds: MAX_ASSERTION_LIFETIME_S,
    keys: o.keys,
  });
  return { deviceId: deviceKey.id, jti: claims.jti as string, issuedAt: claims.iat, expiresAt: claims.exp! };
}
