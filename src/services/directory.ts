import { and, asc, count, eq, getTableColumns, gt, ilike, inArray, isNull, lte, ne, or, sql } from 'drizzle-orm';
import type { Executor } from '../db/client.js';
import { devices, groupMembers, groups, phoneSignInPolicies, sessions, tenantDomains, tenants, users } from '../db/schema.js';
import { DomainError } from '../domain/errors.js';
import { domainOf } from '../domain/names.js';
import type { PolicyTarget } from '../domain/policy.js';
import { DEFAULT_TENANT_SETTINGS } from '../domain/settings.js';
import type { App } from './app.js';
import { type Actor, audit, auditByUser } from './audit.js';
import { hashPassword } from './passwords.js';

export interface CreateTenantInput {
  name: string;
  domain: string;
  adminUserPrincipalName: string;
  adminPassword: string;
}

/** A domain is owned by one tenant only, whether primary or federated. */
export const domainTaken = (domain: string) =>
  new DomainError('ALREADY_EXISTS', `The domain "${domain}" already belongs to a tenant. Choose another domain.`, 'domain');

/** Creates a tenant with its primary domain and its first admin, all or nothing. */
export async function createTenant(app: App, actor: Actor, input: CreateTenantInput) {
  if (domainOf(input.adminUserPrincipalName) !== input.domain) {
    throw new DomainError('INVALID_INPUT', `The first admin must be in the tenant's domain: use a name ending in "@${input.domain}".`, 'adminUserPrincipalName');
  }
  const passwordHash = await hashPassword(input.adminPassword);
  return app.db.transaction(async (tx) => {
    const [tenant] = await tx.insert(tenants).values({ name: input.name, settings: DEFAULT_TENANT_SETTINGS }).returning();
    // Claimed by the insert itself (not a prior read), so two tenants racing for one domain get one winner and one typed refusal.
    const [claimed] = await tx.insert(tenantDomains).values({ domain: input.domain, tenantId: tenant!.id }).onConflictDoNothing().returning();
    if (!claimed) throw domainTaken(input.domain);
    const [admin] = await tx
      .insert(users)
      .values({
        tenantId: tenant!.id,
        userPrincipalName: input.adminUserPrincipalName,
        displayName: input.adminUserPrincipalName,
        passwordHash,
        isAdmin: true,
      })
      .returning();
    await audit(tx, { tenantId: tenant!.id, actor, action: 'tenant.create', targetType: 'TENANT', targetId: tenant!.id, after: { name: input.name, domain: input.domain } });
    await audit(tx, { tenantId: tenant!.id, actor, action: 'user.create', targetType: 'USER', targetId: admin!.id, after: { userPrincipalName: admin!.userPrincipalName, isAdmin: true } });
    return { tenant: tenant!, admin: admin! };
  });
}

/** An admin acting on their own tenant: every read and write below is confined to `tenantId`. */
export interface AdminCaller {
  tenantId: string;
  userId: string;
}


type UserRow = typeof users.$inferSelect;

/** What audit rows record of a user: never the password hash. */
const userSnapshot = (user: UserRow) => ({
  userPrincipalName: user.userPrincipalName,
  displayName: user.displayName,
  isAdmin: user.isAdmin,
  disabled: user.disabled,
  hasPassword: user.passwordHash !== null,
});

/** `text` with LIKE's pattern characters taken literally. */
export const escapeLike = (text: string) => text.replace(/[\\%_]/g, (c) => `\\${c}`);

/** A LIKE pattern matching `text` anywhere. */
const containsPattern = (text: string) => `%${escapeLike(text)}%`;

export const userNotFound = (field: string) => new DomainError('NOT_FOUND', 'No such user in your tenant. Check the id.', field);
const groupNotFound = (field: string) => new DomainError('NOT_FOUND', 'No such group in your tenant. Check the id.', field);

/**
 * Locks the tenant row so concurrent changes that must see each other do: admin-role changes (the
 * last-admin rule), and the policy against deletions of the groups and users it names.
 */
export async function lockTenant(tx: Executor, tenantId: string) {
  await tx.select({ id: tenants.id }).from(tenants).where(eq(tenants.id, tenantId)).for('update');
}

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

/** The live devices of a user, whose open connections must close when the user loses access. */
async function liveDeviceIds(tx: Executor, userId: string) {
  return (await tx.select({ id: devices.id }).from(devices).where(and(eq(devices.userId, userId), isNull(devices.revokedAt)))).map((d) => d.id);
}

function closeDeviceConnections(app: App, deviceIds: string[]) {
  for (const deviceId of deviceIds) app.events.publish('deviceRevoked', { deviceId });
}

export interface CreateUserInput {
  userPrincipalName: string;
  displayName: string;
  password?: string | null;
  isAdmin?: boolean | null;
}

/** Creates a user in one of the caller's domains. */
export async function createUser(app: App, caller: AdminCaller, input: CreateUserInput) {
  const passwordHash = input.password ? await hashPassword(input.password) : null;
  return app.db.transaction(async (tx) => {
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
 * Changes a user. Disabling ends their sessions and live device connections; the last enabled
 * admin can be neither demoted nor disabled, so a tenant always keeps someone who can run it.
 */
export async function updateUser(app: App, caller: AdminCaller, input: UpdateUserInput) {
  const passwordHash = input.password ? await hashPassword(input.password) : undefined;
  const { user, revokedDevices } = await app.db.transaction(async (tx) => {
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
    let revokedDevices: string[] = [];
    if (disabled && !before.disabled) {
      await tx.update(sessions).set({ revokedAt: now }).where(and(eq(sessions.userId, before.id), isNull(sessions.revokedAt)));
      revokedDevices = await liveDeviceIds(tx, before.id);
    }
    await auditByUser(tx, caller, {
      action: 'user.update',
      targetType: 'USER',
      targetId: before.id,
      before: userSnapshot(before),
      after: { ...userSnapshot(after!), passwordChanged: passwordHash !== undefined },
    });
    return { user: after!, revokedDevices };
  });
  closeDeviceConnections(app, revokedDevices);
  return user;
}

/** Deletes a user with everything they own (sessions, devices, passes) and drops them from the policy. */
export async function deleteUser(app: App, caller: AdminCaller, userId: string) {
  const revokedDevices = await app.db.transaction(async (tx) => {
    await lockTenant(tx, caller.tenantId);
    const user = await findUser(tx, caller.tenantId, userId);
    if (!user) throw userNotFound('id');
    if (user.isAdmin && !user.disabled && (await otherEnabledAdmins(tx, caller.tenantId, user.id)) === 0) {
      throw new DomainError('LAST_ADMIN', LAST_ADMIN_MESSAGE, 'id');
    }
    const deviceIds = await liveDeviceIds(tx, user.id);
    await removeUserFromPolicy(tx, caller, user.id);
    await tx.delete(users).where(eq(users.id, user.id));
    await auditByUser(tx, caller, { action: 'user.delete', targetType: 'USER', targetId: user.id, before: userSnapshot(user) });
    return deviceIds;
  });
  closeDeviceConnections(app, revokedDevices);
  return userId;
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

/** Every domain a tenant owns, primary and federated, in name order. */
export async function tenantDomainNames(app: App, tenantId: string): Promise<string[]> {
  const rows = await app.db.select({ domain: tenantDomains.domain }).from(tenantDomains).where(eq(tenantDomains.tenantId, tenantId)).orderBy(asc(tenantDomains.domain));
  return rows.map((row) => row.domain);
}

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

/** Creates a group; names are unique in a tenant, ignoring case. */
export async function createGroup(app: App, caller: AdminCaller, input: { name: string }) {
  return app.db.transaction(async (tx) => {
    const [group] = await tx
      .insert(groups)
      .values({ tenantId: caller.tenantId, name: input.name, createdAt: app.clock.now() })
      .onConflictDoNothing()
      .returning();
    if (!group) throw new DomainError('ALREADY_EXISTS', `A group named "${input.name}" already exists. Choose another name.`, 'name');
    await auditByUser(tx, caller, { action: 'group.create', targetType: 'GROUP', targetId: group.id, after: { name: group.name } });
    return group;
  });
}

/** One group of the tenant; `share` holds it until commit, so it cannot be deleted under a membership change. */
async function findGroup(tx: Executor, tenantId: string, groupId: string, lock?: 'share') {
  const query = tx.select().from(groups).where(and(eq(groups.tenantId, tenantId), eq(groups.id, groupId)));
  const [group] = await (lock ? query.for(lock) : query);
  return group;
}

/**
 * Deletes a group. A group the phone sign-in policy names is refused: silently dropping an
 * excluded group would widen who may sign in with the phone.
 */
export async function deleteGroup(app: App, caller: AdminCaller, groupId: string) {
  return app.db.transaction(async (tx) => {
    await lockTenant(tx, caller.tenantId);
    const group = await findGroup(tx, caller.tenantId, groupId);
    if (!group) throw groupNotFound('id');
    const [policy] = await tx.select().from(phoneSignInPolicies).where(eq(phoneSignInPolicies.tenantId, caller.tenantId)).for('update');
    const named = (t: PolicyTarget) => t.targetType === 'GROUP' && t.targetId === group.id;
    if (policy && (policy.includeTargets.some(named) || policy.excludeTargets.some(named))) {
      throw new DomainError('IN_USE', `The phone sign-in policy names the group "${group.name}". Remove it from the policy first.`, 'id');
    }
    const memberIds = (await tx.select({ userId: groupMembers.userId }).from(groupMembers).where(eq(groupMembers.groupId, group.id))).map((m) => m.userId);
    await tx.delete(groups).where(eq(groups.id, group.id));
    await auditByUser(tx, caller, { action: 'group.delete', targetType: 'GROUP', targetId: group.id, before: { name: group.name, memberIds } });
    return group.id;
  });
}

/** Checks that every id names a user of the tenant; all or nothing. */
async function requireUsers(tx: Executor, tenantId: string, userIds: readonly string[]) {
  const found = new Set(
    // Shared locks: a user deleted meanwhile must not turn the insert below into a foreign-key error.
    (await tx.select({ id: users.id }).from(users).where(and(eq(users.tenantId, tenantId), inArray(users.id, [...userIds]))).for('share')).map((u) => u.id),
  );
  const missing = userIds.find((id) => !found.has(id));
  if (missing) throw new DomainError('NOT_FOUND', `No user with id "${missing}" in your tenant. Nothing was changed.`, 'userIds');
}

export interface GroupMembersInput {
  groupId: string;
  userIds: readonly string[];
}

/** Adds users to a group; users already in it are left as they are. */
export async function addGroupMembers(app: App, caller: AdminCaller, input: GroupMembersInput) {
  return app.db.transaction(async (tx) => {
    const group = await findGroup(tx, caller.tenantId, input.groupId, 'share');
    if (!group) throw groupNotFound('groupId');
    const userIds = [...new Set(input.userIds)];
    await requireUsers(tx, caller.tenantId, userIds);
    const added = await tx
      .insert(groupMembers)
      .values(userIds.map((userId) => ({ groupId: group.id, userId, createdAt: app.clock.now() })))
      .onConflictDoNothing()
      .returning({ userId: groupMembers.userId });
    await auditByUser(tx, caller, {
      action: 'group.addMembers',
      targetType: 'GROUP',
      targetId: group.id,
      after: { addedUserIds: added.map((a) => a.userId) },
    });
    return group;
  });
}

/** Removes users from a group; ids of tenant users who are not members are ignored. */
export async function removeGroupMembers(app: App, caller: AdminCaller, input: GroupMembersInput) {
  return app.db.transaction(async (tx) => {
    const group = await findGroup(tx, caller.tenantId, input.groupId, 'share');
    if (!group) throw groupNotFound('groupId');
    const userIds = [...new Set(input.userIds)];
    await requireUsers(tx, caller.tenantId, userIds);
    const removed = await tx
      .delete(groupMembers)
      .where(and(eq(groupMembers.groupId, group.id), inArray(groupMembers.userId, userIds)))
      .returning({ userId: groupMembers.userId });
    await auditByUser(tx, caller, {
      action: 'group.removeMembers',
      targetType: 'GROUP',
      targetId: group.id,
      before: { removedUserIds: removed.map((r) => r.userId) },
    });
    return group;
  });
}

/** One group of the caller's tenant, or undefined for an unknown or foreign id. */
export const getGroup = (app: App, caller: AdminCaller, groupId: string) => findGroup(app.db, caller.tenantId, groupId);

/** A page of the caller's groups, by name, optionally matching `search`. */
export function listGroups(app: App, caller: AdminCaller, search: string | null | undefined, page: { limit: number; offset: number }) {
  return app.db
    .select()
    .from(groups)
    .where(and(eq(groups.tenantId, caller.tenantId), search ? ilike(groups.name, containsPattern(search)) : undefined))
    .orderBy(asc(sql`lower(${groups.name})`), asc(groups.id))
    .limit(page.limit)
    .offset(page.offset);
}

/**
 * The same page (by user principal name) of the members of each of these groups of the tenant,
 * in one read for a whole page of groups; each row names its group.
 */
export async function listGroupMembers(app: App, tenantId: string, groupIds: readonly string[], page: { limit: number; offset: number }) {
  const ranked = app.db.$with('ranked').as(
    app.db
      .select({
        ...getTableColumns(users),
        groupId: sql<string>`${groupMembers.groupId}`.as('group_id'),
        rank: sql<number>`row_number() over (partition by ${groupMembers.groupId} order by ${users.userPrincipalName})`.as('rank'),
      })
      .from(groupMembers)
      .innerJoin(users, eq(users.id, groupMembers.userId))
      .where(and(inArray(groupMembers.groupId, [...groupIds]), eq(users.tenantId, tenantId))),
  );
  const rows = await app.db
    .with(ranked)
    .select()
    .from(ranked)
    .where(and(gt(ranked.rank, page.offset), lte(ranked.rank, page.offset + page.limit)))
    .orderBy(asc(ranked.rank));
  return rows.map(({ groupId, rank: _rank, ...user }) => ({ groupId, user }));
}

/** How many members each of these groups of the tenant has; groups of other tenants are not counted. */
export async function countGroupMembers(app: App, tenantId: string, groupIds: readonly string[]): Promise<Map<string, number>> {
  const rows = await app.db
    .select({ groupId: groupMembers.groupId, n: count() })
    .from(groupMembers)
    .innerJoin(groups, eq(groups.id, groupMembers.groupId))
    .where(and(eq(groups.tenantId, tenantId), inArray(groupMembers.groupId, [...groupIds])))
    .groupBy(groupMembers.groupId);
  return new Map(rows.map((row) => [row.groupId, row.n]));
}
