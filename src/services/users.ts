import { and, asc, count, eq, ilike, isNull, ne, or } from 'drizzle-orm';
import type { Executor } from '../db/client.js';
import { phoneSignInPolicies, sessions, tenantDomains, users } from '../db/schema.js';
import { DomainError } from '../domain/errors.js';
import { domainOf } from '../domain/names.js';
import type { PolicyTarget } from '../domain/policy.js';
import type { App } from './app.js';
import { auditByUser } from './audit.js';
import { liveDeviceIds } from './devices.js';
import { hashPassword } from './passwords.js';
import { containsPattern } from './likePatterns.js';
import { endOidcForUser } from './oidc/sessions.js';
import { type AdminCaller, lockTenant } from './tenants.js';
import { runUseCase } from './useCase.js';

type UserRow = typeof users.$inferSelect;

/** What audit rows record of a user: never the password hash. */
const userSnapshot = (user: UserRow) => ({
  userPrincipalName: user.userPrincipalName,
  displayName: user.displayName,
  isAdmin: user.isAdmin,
  disabled: user.disabled,
  hasPassword: user.passwordHash !== null,
});

export const userNotFound = (field: string) => new DomainError('NOT_FOUND', 'No such user in your tenant. Check the id.', field);

async function findUser(tx: Executor, tenantId: string, userId: string) {
  const [user] = await tx.select().from(users).where(and(eq(users.tenantId, tenantId), eq(users.id, userId)));
  return user;
}

async function otherEnabledAdmins(tx: Executor, tenantId: string, userId: string) {
  const [row] = await tx
    .select({ n: count() })
    .from(users)
    .where(and(eq(users.tenantId, tenantId), eq(users.isAdmin, true), eq(users.disabled, false), ne(users.id, userId)));
  return row?.n ?? 0;
}

const LAST_ADMIN_MESSAGE = 'This is the last enabled admin of your tenant. Make another user an admin first.';

export interface CreateUserInput {
  userPrincipalName: string;
  displayName: string;
  password?: string | null;
  isAdmin?: boolean | null;
}

/** Creates a user in one of the caller's domains. */
export async function createUser(app: App, caller: AdminCaller, input: CreateUserInput) {
  const passwordHash = input.password ? await hashPassword(input.password) : null;
  return runUseCase(app, async (tx) => {
    const domains = await tx.select({ domain: tenantDomains.domain }).from(tenantDomains).where(eq(tenantDomains.tenantId, caller.tenantId));
    if (!domains.some((d) => d.domain === domainOf(input.userPrincipalName))) {
      throw new DomainError(
        'INVALID_INPUT',
        `A user name must end in one of your tenant's domains: ${domains.map((d) => `"@${d.domain}"`).join(', ')}.`,
        'userPrincipalName',
      );
    }
    const now = app.clock.now();
    const [created] = await tx
      .insert(users)
      .values({
        tenantId: caller.tenantId,
        userPrincipalName: input.userPrincipalName,
        displayName: input.displayName,
        passwordHash,
        isAdmin: input.isAdmin ?? false,
        createdAt: now,
        updatedAt: now,
      })
      .onConflictDoNothing()
      .returning();
    if (!created) throw new DomainError('ALREADY_EXISTS', `A user named "${input.userPrincipalName}" already exists. Choose another name.`, 'userPrincipalName');
    await auditByUser(tx, caller, { action: 'user.create', targetType: 'USER', targetId: created.id, after: userSnapshot(created) });
    return created;
  });
}

export interface UpdateUserInput {
  id: string;
  displayName?: string | null;
  password?: string | null;
  isAdmin?: boolean | null;
  disabled?: boolean | null;
}

/**
 * Changes a user. Disabling ends their sessions and live connections, demoting closes the
 * connections they opened as admin (live subscriptions were authorised once); the last enabled
 * admin can be neither demoted nor disabled, so a tenant always keeps someone who can run it.
 */
export async function updateUser(app: App, caller: AdminCaller, input: UpdateUserInput) {
  const passwordHash = input.password ? await hashPassword(input.password) : undefined;
  return runUseCase(app, async (tx, outbox) => {
    await lockTenant(tx, caller.tenantId);
    const before = await findUser(tx, caller.tenantId, input.id);
    if (!before) throw userNotFound('id');
    const isAdmin = input.isAdmin ?? before.isAdmin;
    const disabled = input.disabled ?? before.disabled;
    const wasEnabledAdmin = before.isAdmin && !before.disabled;
    if (wasEnabledAdmin && !(isAdmin && !disabled) && (await otherEnabledAdmins(tx, caller.tenantId, before.id)) === 0) {
      throw new DomainError('LAST_ADMIN', LAST_ADMIN_MESSAGE, input.isAdmin === false ? 'isAdmin' : 'disabled');
    }
    const now = app.clock.now();
    const [after] = await tx
      .update(users)
      .set({ displayName: input.displayName ?? before.displayName, passwordHash: passwordHash ?? before.passwordHash, isAdmin, disabled, updatedAt: now })
      .where(eq(users.id, before.id))
      .returning();
    if (disabled && !before.disabled) {
      await tx.update(sessions).set({ revokedAt: now }).where(and(eq(sessions.userId, before.id), isNull(sessions.revokedAt)));
      await endOidcForUser(tx, before.id);
      for (const deviceId of await liveDeviceIds(tx, before.id)) outbox.deviceRevoked(deviceId);
      outbox.userAccessChanged(before.id, 'DISABLED');
    } else if (before.isAdmin && !isAdmin) {
      outbox.userAccessChanged(before.id, 'DEMOTED');
    }
    await auditByUser(tx, caller, {
      action: 'user.update',
      targetType: 'USER',
      targetId: before.id,
      before: userSnapshot(before),
      after: { ...userSnapshot(after!), passwordChanged: passwordHash !== undefined },
    });
    return after!;
  });
}

/** Deletes a user with everything they own (sessions, devices, passes) and drops them from the policy. */
export async function deleteUser(app: App, caller: AdminCaller, userId: string) {
  return runUseCase(app, async (tx, outbox) => {
    await lockTenant(tx, caller.tenantId);
    const user = await findUser(tx, caller.tenantId, userId);
    if (!user) throw userNotFound('id');
    if (user.isAdmin && !user.disabled && (await otherEnabledAdmins(tx, caller.tenantId, user.id)) === 0) {
      throw new DomainError('LAST_ADMIN', LAST_ADMIN_MESSAGE, 'id');
    }
    for (const deviceId of await liveDeviceIds(tx, user.id)) outbox.deviceRevoked(deviceId);
    outbox.userAccessChanged(user.id, 'DELETED');
    await removeUserFromPolicy(tx, caller, user.id);
    await tx.delete(users).where(eq(users.id, user.id));
    await endOidcForUser(tx, user.id);
    await auditByUser(tx, caller, { action: 'user.delete', targetType: 'USER', targetId: user.id, before: userSnapshot(user) });
    return userId;
  });
}

/** A deleted user's targets would otherwise linger in the saved policy and block re-saving it. */
async function removeUserFromPolicy(tx: Executor, caller: AdminCaller, userId: string) {
  const [policy] = await tx.select().from(phoneSignInPolicies).where(eq(phoneSignInPolicies.tenantId, caller.tenantId)).for('update');
  if (!policy) return;
  const keep = (t: PolicyTarget) => !(t.targetType === 'USER' && t.targetId === userId);
  const includeTargets = policy.includeTargets.filter(keep);
  const excludeTargets = policy.excludeTargets.filter(keep);
  if (includeTargets.length === policy.includeTargets.length && excludeTargets.length === policy.excludeTargets.length) return;
  await tx.update(phoneSignInPolicies).set({ includeTargets, excludeTargets }).where(eq(phoneSignInPolicies.tenantId, caller.tenantId));
  await auditByUser(tx, caller, {
    action: 'policy.update',
    targetType: 'PHONE_SIGN_IN_POLICY',
    targetId: caller.tenantId,
    reasonCode: 'USER_DELETED',
    before: { enabled: policy.enabled, includeTargets: policy.includeTargets, excludeTargets: policy.excludeTargets },
    after: { enabled: policy.enabled, includeTargets, excludeTargets },
  });
}

/** One user of the caller's tenant, or undefined for an unknown or foreign id. */
export const getUser = (app: App, caller: AdminCaller, userId: string) => findUser(app.db, caller.tenantId, userId);

/** The signed-in user's own directory entry (undefined once deleted). */
export const getViewer = (app: App, caller: { tenantId: string; userId: string }) => findUser(app.db, caller.tenantId, caller.userId);

/** A page of the caller's users, by user principal name, optionally matching `search`. */
export function listUsers(app: App, caller: AdminCaller, search: string | null | undefined, page: { limit: number; offset: number }) {
  const matches = search
    ? or(ilike(users.userPrincipalName, containsPattern(search)), ilike(users.displayName, containsPattern(search)))
    : undefined;
  return app.db
    .select()
    .from(users)
    .where(and(eq(users.tenantId, caller.tenantId), matches))
    .orderBy(asc(users.userPrincipalName))
    .limit(page.limit)
    .offset(page.offset);
}
