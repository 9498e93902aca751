import { and, asc, count, eq, gt, inArray, isNull, lt, ne } from 'drizzle-orm';
import { activationCodes, devices, phoneSignInCredentials, users } from '../db/schema.js';
import { addSeconds } from '../domain/clock.js';
import { DomainError } from '../domain/errors.js';
import { allowsPhoneSignIn, type EffectivePolicy } from '../domain/policy.js';
import { constantTimeEqual, randomSecret, sha256 } from '../domain/secrets.js';
import type { TenantSettings } from '../domain/settings.js';
import { CLOCK_SKEW_S, SignedMessageError, verifyActivationProof, verifyCredentialProof } from '../domain/signedMessages.js';
import { type Platform, isAtLeast, minimumOsVersion, platformNames } from '../domain/versions.js';
import type { App } from './app.js';
import { type Trail, audit, auditingRefusals } from './audit.js';
import { acceptOnce } from './devices.js';
import { loadEffectivePolicy, loadTenantSettings } from './policy.js';

/** NIST SP 800-63B: an out-of-band activation secret lives at most 10 minutes. */
export const ACTIVATION_CODE_LIFETIME_S = 600;
/** 256 random bits: twice the contract's floor of 128, at no cost to a QR code. */
const ACTIVATION_CODE_BYTES = 32;

type UserCaller = { userId: string; tenantId: string; isAdmin: boolean };
type DeviceCaller = { deviceId: string; userId: string; tenantId: string };

/** A unique index said no (another request registered the same key a moment earlier). */
function isUniqueViolation(error: unknown): boolean {
  for (let e = error as { code?: unknown; cause?: unknown } | undefined; e; e = e.cause as typeof e) {
    if (e.code === '23505') return true;
  }
  return false;
}

/** Turns a refused proof into a typed error, remembering the precise check for the audit log. */
function proofRefused(trail: Trail, error: unknown, what: string): never {
  if (!(error instanceof SignedMessageError)) throw error;
  trail.reasonCode = `PROOF_${error.code}`;
  throw new DomainError('INVALID_PROOF', `The ${what} was refused: ${error.message}`, 'proof');
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
export async function beginAuthenticatorRegistration(app: App, caller: UserCaller): Promise<AuthenticatorRegistration> {
  const trail: Trail = { tenantId: caller.tenantId, actor: { type: 'USER', id: caller.userId }, action: 'authenticator.registration.begin', targetType: 'USER', targetId: caller.userId };
  return auditingRefusals(app, trail, () =>
    app.db.transaction(async (tx) => {
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
      return await app.db.transaction(async (tx) => {
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
    return app.db.transaction(async (tx) => {
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
      const [others] = await tx
        .select({ n: count() })
        .from(phoneSignInCredentials)
        .innerJoin(devices, eq(devices.id, phoneSignInCredentials.deviceId))
        .where(
          and(
            eq(phoneSignInCredentials.userId, caller.userId),
            isNull(phoneSignInCredentials.revokedAt),
            isNull(devices.revokedAt),
            ne(phoneSignInCredentials.deviceId, caller.deviceId),
          ),
        );
      if (others!.n >= maxAuthenticatorsPerUser) {
        throw new DomainError(
          'TOO_MANY_AUTHENTICATORS',
          `You already use phone sign-in on ${others!.n} phones, the most your organisation allows (${maxAuthenticatorsPerUser}). Remove one in Security info, or turn phone sign-in off in the app on that phone, then try again.`,
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
  return app.db.transaction(async (tx) => {
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

export interface AuthenticationMethod {
  id: string;
  userId: string;
  displayName: string;
  platform: Platform;
  osVersion: string;
  appVersion: string;
  createdAt: Date;
  lastUsedAt: Date | null;
  phoneSignInEnabled: boolean;
}

/** The registered (not removed) authenticators of these users of one tenant, oldest first; or one device's, by its id. */
export async function listAuthenticationMethods(
  app: App,
  owner: { tenantId: string; userIds: readonly string[] } | { deviceId: string },
): Promise<AuthenticationMethod[]> {
  const rows = await app.db
    .select({
      id: devices.id,
      userId: devices.userId,
      displayName: devices.displayName,
      platform: devices.platform,
      osVersion: devices.osVersion,
      appVersion: devices.appVersion,
      createdAt: devices.createdAt,
      lastUsedAt: devices.lastUsedAt,
      credentialId: phoneSignInCredentials.id,
    })
    .from(devices)
    .leftJoin(phoneSignInCredentials, and(eq(phoneSignInCredentials.deviceId, devices.id), isNull(phoneSignInCredentials.revokedAt)))
    .where(
      and(
        'userIds' in owner ? and(eq(devices.tenantId, owner.tenantId), inArray(devices.userId, [...owner.userIds])) : eq(devices.id, owner.deviceId),
        isNull(devices.revokedAt),
      ),
    )
    .orderBy(asc(devices.createdAt), asc(devices.id));
  return rows.map(({ credentialId, ...method }) => ({ ...method, phoneSignInEnabled: credentialId !== null }));
}

/**
 * Removes an authenticator: the device and its credential are revoked in one transaction, and its
 * live connections are closed after commit. Users remove their own; admins any in their tenant.
 * Null when there is no such method for this caller (a foreign id looks exactly like an unknown one).
 */
export async function removeAuthenticationMethod(app: App, caller: UserCaller, methodId: string): Promise<{ id: string; userId: string } | null> {
  const trail: Trail = { tenantId: caller.tenantId, actor: { type: 'USER', id: caller.userId }, action: 'authenticationMethod.remove', targetType: 'DEVICE', targetId: methodId };
  const now = app.clock.now();
  const removed = await app.db.transaction(async (tx) => {
    const [device] = await tx
      .update(devices)
      .set({ revokedAt: now })
      .where(
        and(
          eq(devices.id, methodId),
          eq(devices.tenantId, caller.tenantId),
          isNull(devices.revokedAt),
          caller.isAdmin ? undefined : eq(devices.userId, caller.userId),
        ),
      )
      .returning({ id: devices.id, userId: devices.userId, displayName: devices.displayName });
    if (!device) return null;
    const credentials = await tx
      .update(phoneSignInCredentials)
      .set({ revokedAt: now })
      .where(and(eq(phoneSignInCredentials.deviceId, device.id), isNull(phoneSignInCredentials.revokedAt)))
      .returning({ id: phoneSignInCredentials.id });
    await audit(tx, { ...trail, before: { userId: device.userId, displayName: device.displayName, credentialId: credentials[0]?.id ?? null } });
    return { id: device.id, userId: device.userId };
  });
  if (!removed) {
    await audit(app.db, { ...trail, result: 'FAILURE', reasonCode: 'NOT_FOUND' });
    return null;
  }
  await app.events.publish('deviceRevoked', { deviceId: removed.id });
  return removed;
}

/** Forgets activation codes that have expired: they can no longer be used, and say nothing the audit log does not. */
export async function forgetExpiredActivationCodes(app: App): Promise<void> {
  await app.db.delete(activationCodes).where(lt(activationCodes.expiresAt, app.clock.now()));
}
