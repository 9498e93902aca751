import { and, eq, gt, isNull, lt } from 'drizzle-orm';
import { activationCodes, devices, users } from '../db/schema.js';
import { addSeconds } from '../domain/clock.js';
import { DomainError } from '../domain/errors.js';
import { constantTimeEqual, sha256 } from '../domain/secrets.js';
import type { TenantSettings } from '../domain/settings.js';
import { verifyActivationProof } from '../domain/signedMessages/activationProof.js';
import { type Platform, isAtLeast, minimumOsVersion, platformNames } from '../domain/versions.js';
import type { App } from './app.js';
import { type Trail, audit, auditingRefusals } from './audit.js';
import { loadTenantSettings } from './policy.js';
import { proofRefused } from './proofs.js';
import { randomSecret } from './system.js';
import { runUseCase } from './useCase.js';

/** NIST SP 800-63B: an out-of-band activation secret lives at most 10 minutes. */
export const ACTIVATION_CODE_LIFETIME_S = 600;
/** 256 random bits: twice the contract's floor of 128, at no cost to a QR code. */
const ACTIVATION_CODE_BYTES = 32;

/** A unique index said no (another request registered the same key a moment earlier). */
function isUniqueViolation(error: unknown): boolean {
  for (let e = error as { code?: unknown; cause?: unknown } | undefined; e; e = e.cause as typeof e) {
    if (e.code === '23505') return true;
  }
  return false;
}

/** The prerequisites of the authenticator app in tenant settings, each with its own remedy. */
function requireAuthenticatorAllowed(settings: TenantSettings) {
  if (!settings.pushNotificationsAllowed) {
    throw new DomainError(
      'PUSH_NOTIFICATIONS_DISABLED',
      'Your organisation does not allow push notifications, which the authenticator app needs. Ask an administrator to allow them in the tenant settings.',
    );
  }
  if (!settings.combinedRegistrationEnabled) {
    throw new DomainError(
      'COMBINED_REGISTRATION_DISABLED',
      'Your organisation has turned off combined security-info registration, through which the authenticator app is added. Ask an administrator to turn it on.',
    );
  }
}

export interface AuthenticatorRegistration {
  activationCode: string;
  activationUrl: string;
  expiresAt: Date;
}

/** Issues a single-use activation code for the signed-in user, and the link the app scans. */
export async function beginAuthenticatorRegistration(app: App, caller: { userId: string; tenantId: string }): Promise<AuthenticatorRegistration> {
  const trail: Trail = { tenantId: caller.tenantId, actor: { type: 'USER', id: caller.userId }, action: 'authenticator.registration.begin', targetType: 'USER', targetId: caller.userId };
  return auditingRefusals(app, trail, () =>
    runUseCase(app, async (tx) => {
      requireAuthenticatorAllowed(await loadTenantSettings(tx, caller.tenantId));
      const activationCode = randomSecret(ACTIVATION_CODE_BYTES);
      const now = app.clock.now();
      const expiresAt = addSeconds(now, ACTIVATION_CODE_LIFETIME_S);
      // A new link replaces the user's unused ones: one live code per user, however often the page is reloaded.
      await tx.delete(activationCodes).where(and(eq(activationCodes.userId, caller.userId), isNull(activationCodes.usedAt)));
      const [row] = await tx
        .insert(activationCodes)
        .values({ tenantId: caller.tenantId, userId: caller.userId, codeHash: sha256(activationCode), expiresAt, createdAt: now })
        .returning({ id: activationCodes.id });
      await audit(tx, { ...trail, after: { activationCodeId: row!.id, expiresAt } });
      const endpoint = encodeURIComponent(`${app.issuer}/graphql`);
      // The issuer travels too: it is the aud the app signs, and need not be the endpoint's origin.
      const activationUrl = `phonesignin://activate?endpoint=${endpoint}&code=${activationCode}&issuer=${encodeURIComponent(app.issuer)}`;
      return { activationCode, activationUrl, expiresAt };
    }),
  );
}

export interface ActivateAuthenticatorInput {
  activationCode: string;
  device: { displayName: string; platform: Platform; osVersion: string; appVersion: string };
  proof: string;
}

export interface ActivatedAuthenticator {
  deviceId: string;
  /** The aud of everything the device signs from now on. */
  issuer: string;
}

/**
 * Registers a new device to the user who issued the activation code.
 *
 * Every check runs before the code is spent, and the code is spent (compare-and-set) in the
 * transaction that creates the device. So a refusal the person fixes on the phone — updating the
 * OS or the app, removing the other work account — leaves the code usable for another scan while
 * it is valid; only a successful activation consumes it, and nothing is half-made either way.
 */
export async function activateAuthenticator(app: App, input: ActivateAuthenticatorInput): Promise<ActivatedAuthenticator> {
  const trail: Trail = { tenantId: null, actor: { type: 'ANONYMOUS' }, action: 'authenticator.activate' };
  return auditingRefusals(app, trail, async () => {
    const now = app.clock.now();
    const codeHash = sha256(input.activationCode);
    const [code] = await app.db
      .select({ id: activationCodes.id, tenantId: activationCodes.tenantId, userId: activationCodes.userId, expiresAt: activationCodes.expiresAt, usedAt: activationCodes.usedAt, userDisabled: users.disabled })
      .from(activationCodes)
      .innerJoin(users, eq(users.id, activationCodes.userId))
      .where(eq(activationCodes.codeHash, codeHash));
    const startAgain = 'Add the authenticator app again from Security info to get a new QR code.';
    if (!code) throw new DomainError('ACTIVATION_CODE_INVALID', `This activation code is not valid. ${startAgain}`, 'activationCode');
    Object.assign(trail, { tenantId: code.tenantId, targetType: 'USER', targetId: code.userId });
    if (code.usedAt) throw new DomainError('ACTIVATION_CODE_USED', `This activation code was already used to activate a device. ${startAgain}`, 'activationCode');
    if (code.expiresAt <= now) throw new DomainError('ACTIVATION_CODE_EXPIRED', `This activation code expired at ${code.expiresAt.toISOString()}. ${startAgain}`, 'activationCode');
    if (code.userDisabled) throw new DomainError('ACCOUNT_DISABLED', 'The account this code was issued to is disabled.', 'activationCode');

    const proof = await verifyActivationProof(input.proof, { audience: app.issuer, now }).catch((error) => proofRefused(trail, error, 'activation proof'));
    if (!constantTimeEqual(proof.activationCode, input.activationCode)) {
      trail.reasonCode = 'PROOF_WRONG_CODE';
      throw new DomainError('INVALID_PROOF', 'The activation proof was signed for another activation code; sign it with the code of this activation link.', 'proof');
    }

    const settings = await loadTenantSettings(app.db, code.tenantId);
    requireAuthenticatorAllowed(settings);
    const { platform, osVersion, appVersion } = input.device;
    const minimumOs = minimumOsVersion(settings.minimumOsVersion, platform);
    if (!isAtLeast(osVersion, minimumOs)) {
      throw new DomainError(
        'OS_VERSION_UNSUPPORTED',
        `${platformNames[platform]} ${osVersion} is not supported: your organisation requires ${platformNames[platform]} ${minimumOs} or later. Update the phone, then scan the QR code again.`,
        'device.osVersion',
      );
    }
    if (settings.minimumAppVersion !== null && !isAtLeast(appVersion, settings.minimumAppVersion)) {
      throw new DomainError(
        'APP_VERSION_UNSUPPORTED',
        `Authenticator app version ${appVersion} is not supported: your organisation requires version ${settings.minimumAppVersion} or later. Update the app, then scan the QR code again.`,
        'device.appVersion',
      );
    }

    const alreadyRegistered = () =>
      new DomainError(
        'DEVICE_ALREADY_REGISTERED',
        'This authenticator is already registered to a work account, and a device holds one work account at a time. Remove that account from the app (or from its Security info) first, then scan the QR code again.',
      );
    try {
      return await runUseCase(app, async (tx) => {
        const [existing] = await tx
          .select({ id: devices.id })
          .from(devices)
          .where(and(eq(devices.keyThumbprint, proof.deviceKey.thumbprint), isNull(devices.revokedAt)));
        if (existing) throw alreadyRegistered();
        const [spent] = await tx
          .update(activationCodes)
          .set({ usedAt: now })
          .where(and(eq(activationCodes.id, code.id), isNull(activationCodes.usedAt), gt(activationCodes.expiresAt, now)))
          .returning({ id: activationCodes.id });
        if (!spent) throw new DomainError('ACTIVATION_CODE_USED', `This activation code was already used to activate a device. ${startAgain}`, 'activationCode');
        const [device] = await tx
          .insert(devices)
          .values({
            tenantId: code.tenantId,
            userId: code.userId,
            displayName: input.device.displayName,
            platform,
            osVersion,
            appVersion,
            publicJwk: proof.deviceKey.jwk,
            keyThumbprint: proof.deviceKey.thumbprint,
            createdAt: now,
          })
          .returning({ id: devices.id });
        await audit(tx, { ...trail, targetType: 'DEVICE', targetId: device!.id, after: { userId: code.userId, displayName: input.device.displayName, platform, osVersion, appVersion } });
        return { deviceId: device!.id, issuer: app.issuer };
      });
    } catch (error) {
      if (isUniqueViolation(error)) throw alreadyRegistered();
      throw error;
    }
  });
}

/** Forgets activation codes that have expired: they can no longer be used, and say nothing the audit log does not. */
export async function forgetExpiredActivationCodes(app: App): Promise<void> {
  await app.db.delete(activationCodes).where(lt(activationCodes.expiresAt, app.clock.now()));
}
