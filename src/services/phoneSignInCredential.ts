import { and, eq, isNull } from 'drizzle-orm';
import type { Executor } from '../db/client.js';
import { devices, phoneSignInCredentials, users } from '../db/schema.js';
import { DomainError } from '../domain/errors.js';
import { allowsPhoneSignIn, type EffectivePolicy } from '../domain/policy.js';
import { verifyCredentialProof } from '../domain/signedMessages/credentialProof.js';
import { CLOCK_SKEW_S } from '../domain/signedMessages/jws.js';
import type { App } from './app.js';
import { type Trail, audit, auditingRefusals } from './audit.js';
import { type DeviceAuth, acceptOnce } from './devices.js';
import { loadEffectivePolicy, loadTenantSettings } from './policy.js';
import { proofRefused } from './proofs.js';
import { runUseCase } from './useCase.js';

type DeviceCaller = Omit<DeviceAuth, 'kind'>;

/**
 * The user's phone sign-in credentials that can sign now: not revoked, on a device that is still
 * registered. The one definition of a live credential; `which` narrows it to one device or one
 * credential. A query builder, so it can also stand in a subquery (`exists(...)`).
 */
export function liveCredentials(db: Executor, which: { userId: string; deviceId?: string; credentialId?: string }) {
  return db
    .select({ id: phoneSignInCredentials.id, deviceId: phoneSignInCredentials.deviceId, jwk: phoneSignInCredentials.publicJwk })
    .from(phoneSignInCredentials)
    .innerJoin(devices, eq(devices.id, phoneSignInCredentials.deviceId))
    .where(
      and(
        eq(phoneSignInCredentials.userId, which.userId),
        which.deviceId === undefined ? undefined : eq(phoneSignInCredentials.deviceId, which.deviceId),
        which.credentialId === undefined ? undefined : eq(phoneSignInCredentials.id, which.credentialId),
        isNull(phoneSignInCredentials.revokedAt),
        isNull(devices.revokedAt),
      ),
    );
}

function requirePhoneSignInAllowed(policy: EffectivePolicy) {
  if (allowsPhoneSignIn(policy)) return;
  const why = policy.allowed ? 'allows this app for push approvals only, not for passwordless phone sign-in' : 'does not include your account';
  throw new DomainError(
    'PHONE_SIGN_IN_NOT_ALLOWED',
    `Your organisation's phone sign-in policy ${why}. Ask an administrator to enable phone sign-in for you.`,
  );
}

/**
 * Registers the phone sign-in credential of the asserting device, replacing any it had (one per
 * device), within the policy and the tenant's limit of phones per user.
 */
export async function enablePhoneSignIn(app: App, caller: DeviceCaller, proofJws: string): Promise<{ credentialId: string }> {
  const trail: Trail = { tenantId: caller.tenantId, actor: { type: 'DEVICE', id: caller.deviceId }, action: 'phoneSignIn.enable', targetType: 'DEVICE', targetId: caller.deviceId };
  return auditingRefusals(app, trail, async () => {
    const now = app.clock.now();
    const proof = await verifyCredentialProof(proofJws, { audience: app.issuer, now, deviceId: caller.deviceId }).catch((error) =>
      proofRefused(trail, error, 'credential proof'),
    );
    return runUseCase(app, async (tx) => {
      // One enable at a time per user, so two phones cannot both take the last free place.
      await tx.select({ id: users.id }).from(users).where(eq(users.id, caller.userId)).for('update');
      const [device] = await tx
        .select({ thumbprint: devices.keyThumbprint })
        .from(devices)
        .where(and(eq(devices.id, caller.deviceId), isNull(devices.revokedAt)));
      if (!device) throw new DomainError('NOT_FOUND', 'This device was removed from the account. Add it again from Security info.');
      if (device.thumbprint === proof.credentialKey.thumbprint) {
        trail.reasonCode = 'PROOF_DEVICE_KEY_REUSED';
        throw new DomainError('INVALID_PROOF', 'The credential key is the device key; make a new key pair for phone sign-in.', 'proof');
      }
      // Remembered for as long as the proof's iat is acceptable; a replay after that is stale anyway.
      const rememberUntil = new Date((proof.issuedAt + CLOCK_SKEW_S + 1) * 1000);
      if (!(await acceptOnce(tx, `credential-proof:${caller.deviceId}`, proof.jti, rememberUntil))) {
        trail.reasonCode = 'PROOF_REPLAYED';
        throw new DomainError('INVALID_PROOF', 'This credential proof was already used (its jti was seen before); make a new one.', 'proof');
      }
      requirePhoneSignInAllowed(await loadEffectivePolicy(tx, caller.userId));
      const { maxAuthenticatorsPerUser } = await loadTenantSettings(tx, caller.tenantId);
      const others = (await liveCredentials(tx, { userId: caller.userId })).filter((c) => c.deviceId !== caller.deviceId).length;
      if (others >= maxAuthenticatorsPerUser) {
        throw new DomainError(
          'TOO_MANY_AUTHENTICATORS',
          `You already use phone sign-in on ${others} phones, the most your organisation allows (${maxAuthenticatorsPerUser}). Remove one in Security info, or turn phone sign-in off in the app on that phone, then try again.`,
        );
      }
      const replaced = await tx
        .update(phoneSignInCredentials)
        .set({ revokedAt: now })
        .where(and(eq(phoneSignInCredentials.deviceId, caller.deviceId), isNull(phoneSignInCredentials.revokedAt)))
        .returning({ id: phoneSignInCredentials.id });
      const [credential] = await tx
        .insert(phoneSignInCredentials)
        .values({ tenantId: caller.tenantId, userId: caller.userId, deviceId: caller.deviceId, publicJwk: proof.credentialKey.jwk, createdAt: now })
        .returning({ id: phoneSignInCredentials.id });
      await audit(tx, { ...trail, before: replaced.length ? { credentialId: replaced[0]!.id } : null, after: { credentialId: credential!.id } });
      return { credentialId: credential!.id };
    });
  });
}

/** Turns phone sign-in off on the asserting device. True when a credential was revoked, false when it was already off. */
export async function disablePhoneSignIn(app: App, caller: DeviceCaller): Promise<boolean> {
  return runUseCase(app, async (tx) => {
    const revoked = await tx
      .update(phoneSignInCredentials)
      .set({ revokedAt: app.clock.now() })
      .where(and(eq(phoneSignInCredentials.deviceId, caller.deviceId), isNull(phoneSignInCredentials.revokedAt)))
      .returning({ id: phoneSignInCredentials.id });
    await audit(tx, {
      tenantId: caller.tenantId,
      actor: { type: 'DEVICE', id: caller.deviceId },
      action: 'phoneSignIn.disable',
      targetType: 'DEVICE',
      targetId: caller.deviceId,
      reasonCode: revoked.length ? undefined : 'ALREADY_OFF',
      before: revoked.length ? { credentialId: revoked[0]!.id } : null,
    });
    return revoked.length > 0;
  });
}
