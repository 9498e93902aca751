import { and, asc, count, eq, getTableColumns, gt, ilike, inArray, lte, sql } from 'drizzle-orm';
import type { Executor } from '../db/client.js';
import { groupMembers, groups, phoneSignInPolicies, users } from '../db/schema.js';
import { DomainError } from '../domain/errors.js';
import type { PolicyTarget } from '../domain/policy.js';
import type { App } from './app.js';
import { auditByUser } from './audit.js';
import { containsPattern } from './likePatterns.js';
import { type AdminCaller, lockTenant } from './tenants.js';
import { runUseCase } from './useCase.js';


const groupNotFound = (field: string) => new DomainError('NOT_FOUND', 'No such group in your tenant. Check the id.', field);

/** Creates a group; names are unique in a tenant, ignoring case. */
export async function createGroup(app: App, caller: AdminCaller, input: { name: string }) {
  return runUseCase(app, async (tx) => {
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
  return runUseCase(app, async (tx) => {
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

/** The group (held against deletion) and the distinct users of a membership change, all of the caller's tenant. */
async function membershipChange(tx: Executor, caller: AdminCaller, input: GroupMembersInput) {
  const group = await findGroup(tx, caller.tenantId, input.groupId, 'share');
  if (!group) throw groupNotFound('groupId');
  const userIds = [...new Set(input.userIds)];
  await requireUsers(tx, caller.tenantId, userIds);
  return { group, userIds };
}

/** Adds users to a group; users already in it are left as they are. */
export async function addGroupMembers(app: App, caller: AdminCaller, input: GroupMembersInput) {
  return runUseCase(app, async (tx) => {
    const { group, userIds } = await membershipChange(tx, caller, input);
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
  return runUseCase(app, async (tx) => {
    const { group, userIds } = await membershipChange(tx, caller, input);
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
