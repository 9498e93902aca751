import { and, asc, eq, inArray, isNull } from 'drizzle-orm';
import { devices, phoneSignInCredentials } from '../db/schema.js';
import type { Platform } from '../domain/versions.js';
import type { App } from './app.js';
import { type Trail, audit } from './audit.js';
import { runUseCase } from './useCase.js';

type UserCaller = { userId: string; tenantId: string; isAdmin: boolean };

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
  const removed = await runUseCase(app, async (tx, outbox) => {
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
    outbox.deviceRevoked(device.id);
    return { id: device.id, userId: device.userId };
  });
  if (!removed) {
    await audit(app.db, { ...trail, result: 'FAILURE', reasonCode: 'NOT_FOUND' });
    return null;
  }
  return removed;
}
