import { and, eq, inArray } from 'drizzle-orm';
import type { Executor } from '../db/client.js';
import { groupMembers, groups, phoneSignInPolicies, tenants, users } from '../db/schema.js';
import { DomainError } from '../domain/errors.js';
import { type EffectivePolicy, type PhoneSignInPolicy, type PolicyTarget, allowsPhoneSignIn, effectivePolicy } from '../domain/policy.js';
import { type TenantSettings, tenantSettingsSchema } from '../domain/settings.js';
import type { App } from './app.js';
import { auditByUser } from './audit.js';
import { type AdminCaller, lockTenant } from './tenants.js';
import { runUseCase } from './useCase.js';

/** A tenant's settings, with defaults filled in for anything added since they were saved. */
export async function loadTenantSettings(db: Executor, tenantId: string): Promise<TenantSettings> {
  const [tenant] = await db.select({ settings: tenants.settings }).from(tenants).where(eq(tenants.id, tenantId));
  return tenantSettingsSchema.parse(tenant?.settings ?? {});
}

/** The effective phone sign-in policy of one user, read from the directory. */
export async function loadEffectivePolicy(db: Executor, userId: string): Promise<EffectivePolicy> {
  const [user] = await db
    .select({ id: users.id, disabled: users.disabled, tenantId: users.tenantId, legacy: tenants.legacyPhoneSignInEnabled })
    .from(users)
    .innerJoin(tenants, eq(tenants.id, users.tenantId))
    .where(eq(users.id, userId));
  if (!user) return { allowed: false, reason: 'USER_DISABLED' };
  const [policy] = await db.select().from(phoneSignInPolicies).where(eq(phoneSignInPolicies.tenantId, user.tenantId));
  const groupIds = (await db.select({ groupId: groupMembers.groupId }).from(groupMembers).where(eq(groupMembers.userId, userId))).map(
    (g) => g.groupId,
  );
  return effectivePolicy({ id: user.id, disabled: user.disabled, groupIds }, policy ?? null, user.legacy);
}

/**
 * The effective policies of several users of one tenant, in three reads whatever their number
 * (for a page of users); ids of other tenants' users are left out.
 */
export async function loadEffectivePolicies(db: Executor, tenantId: string, userIds: readonly string[]): Promise<Map<string, EffectivePolicy>> {
  const found = await db
    .select({ id: users.id, disabled: users.disabled, legacy: tenants.legacyPhoneSignInEnabled })
    .from(users)
    .innerJoin(tenants, eq(tenants.id, users.tenantId))
    .where(and(eq(users.tenantId, tenantId), inArray(users.id, [...userIds])));
  if (found.length === 0) return new Map();
  const [policy] = await db.select().from(phoneSignInPolicies).where(eq(phoneSignInPolicies.tenantId, tenantId));
  const memberships = await db
    .select({ userId: groupMembers.userId, groupId: groupMembers.groupId })
    .from(groupMembers)
    .where(inArray(groupMembers.userId, found.map((user) => user.id)));
  const groupIdsOf = (userId: string) => memberships.filter((m) => m.userId === userId).map((m) => m.groupId);
  return new Map(found.map((user) => [user.id, effectivePolicy({ id: user.id, disabled: user.disabled, groupIds: groupIdsOf(user.id) }, policy ?? null, user.legacy)]));
}

/** A tenant's policy as admins see it: the saved policy, if any, and the legacy switch it supersedes. */
export interface PhoneSignInPolicyState {
  saved: (typeof phoneSignInPolicies.$inferSelect) | null;
  legacyEnabled: boolean;
}

export async function getPhoneSignInPolicy(db: Executor, tenantId: string): Promise<PhoneSignInPolicyState> {
  const [tenant] = await db.select({ legacy: tenants.legacyPhoneSignInEnabled }).from(tenants).where(eq(tenants.id, tenantId));
  const [saved] = await db.select().from(phoneSignInPolicies).where(eq(phoneSignInPolicies.tenantId, tenantId));
  return { saved: saved ?? null, legacyEnabled: tenant?.legacy ?? false };
}

const policySnapshot = (p: PhoneSignInPolicy | null) =>
  p && { enabled: p.enabled, includeTargets: p.includeTargets, excludeTargets: p.excludeTargets };

/** Checks that every GROUP and USER target names a group or user of the tenant. */
async function requireTargets(tx: Executor, tenantId: string, targets: readonly PolicyTarget[], field: string) {
  const idsOf = (type: PolicyTarget['targetType']) => [...new Set(targets.filter((t) => t.targetType === type).map((t) => t.targetId!))];
  const groupIds = idsOf('GROUP');
  const userIds = idsOf('USER');
  const foundGroups = groupIds.length
    ? new Set((await tx.select({ id: groups.id }).from(groups).where(and(eq(groups.tenantId, tenantId), inArray(groups.id, groupIds)))).map((g) => g.id))
    : new Set<string>();
  const foundUsers = userIds.length
    ? new Set((await tx.select({ id: users.id }).from(users).where(and(eq(users.tenantId, tenantId), inArray(users.id, userIds)))).map((u) => u.id))
    : new Set<string>();
  const missingGroup = groupIds.find((id) => !foundGroups.has(id));
  if (missingGroup) throw new DomainError('NOT_FOUND', `No group with id "${missingGroup}" in your tenant. Nothing was changed.`, field);
  const missingUser = userIds.find((id) => !foundUsers.has(id));
  if (missingUser) throw new DomainError('NOT_FOUND', `No user with id "${missingUser}" in your tenant. Nothing was changed.`, field);
}

/** Saves the tenant's phone sign-in policy; from now on the legacy switch no longer applies. */
export async function updatePhoneSignInPolicy(app: App, caller: AdminCaller, input: PhoneSignInPolicy) {
  return runUseCase(app, async (tx) => {
    // Serialised with deleteGroup and deleteUser: a group deleted between this check and the save
    // would leave a dangling target (and a dangling exclusion silently widens the policy).
    await lockTenant(tx, caller.tenantId);
    await requireTargets(tx, caller.tenantId, input.includeTargets, 'includeTargets');
    await requireTargets(tx, caller.tenantId, input.excludeTargets, 'excludeTargets');
    const [before] = await tx.select().from(phoneSignInPolicies).where(eq(phoneSignInPolicies.tenantId, caller.tenantId)).for('update');
    const values = { enabled: input.enabled, includeTargets: input.includeTargets, excludeTargets: input.excludeTargets, updatedAt: app.clock.now() };
    await tx
      .insert(phoneSignInPolicies)
      .values({ tenantId: caller.tenantId, ...values })
      .onConflictDoUpdate({ target: phoneSignInPolicies.tenantId, set: values });
    await auditByUser(tx, caller, {
      action: 'policy.update',
      targetType: 'PHONE_SIGN_IN_POLICY',
      targetId: caller.tenantId,
      before: policySnapshot(before ?? null),
      after: policySnapshot(input),
    });
    return getPhoneSignInPolicy(tx, caller.tenantId);
  });
}

/** Turns the legacy directory-wide switch on or off; refused once a policy has been saved. */
export async function setLegacyPhoneSignInPolicy(app: App, caller: AdminCaller, enabled: boolean) {
  return runUseCase(app, async (tx) => {
    const [tenant] = await tx.select({ legacy: tenants.legacyPhoneSignInEnabled }).from(tenants).where(eq(tenants.id, caller.tenantId)).for('update');
    const [saved] = await tx.select({ tenantId: phoneSignInPolicies.tenantId }).from(phoneSignInPolicies).where(eq(phoneSignInPolicies.tenantId, caller.tenantId));
    if (saved) {
      throw new DomainError(
        'LEGACY_POLICY_SUPERSEDED',
        'A phone sign-in policy has been saved, so the legacy switch no longer applies. Change the policy with updatePhoneSignInPolicy instead.',
        'enabled',
      );
    }
    await tx.update(tenants).set({ legacyPhoneSignInEnabled: enabled }).where(eq(tenants.id, caller.tenantId));
    await auditByUser(tx, caller, {
      action: 'policy.setLegacy',
      targetType: 'TENANT',
      targetId: caller.tenantId,
      before: { legacyPhoneSignInEnabled: tenant!.legacy },
      after: { legacyPhoneSignInEnabled: enabled },
    });
    return getPhoneSignInPolicy(tx, caller.tenantId);
  });
}

const OR_TURN_OFF = 'or disable phone sign-in in the Authenticator app / remove the method on your security info and sign in with your password.';

/**
 * What a user can do about their policy: the sentence shown to them (never to an anonymous
 * browser, which must not learn whether an account exists or what its policy is).
 */
export function policyRemedy(policy: EffectivePolicy): string | null {
  if (allowsPhoneSignIn(policy)) return null;
  if (policy.allowed) return `Your admin allows the Authenticator app for push approvals only. Ask your admin to include you in the passwordless phone sign-in policy, ${OR_TURN_OFF}`;
  switch (policy.reason) {
    case 'USER_DISABLED':
      return 'Your account is disabled. Ask your admin to enable it.';
    case 'POLICY_DISABLED':
      return `Passwordless phone sign-in is turned off in your organisation. Ask your admin to enable the passwordless phone sign-in policy, ${OR_TURN_OFF}`;
    case 'EXCLUDED':
      return `You are excluded from the passwordless phone sign-in policy. Ask your admin to remove the exclusion, ${OR_TURN_OFF}`;
    case 'NOT_TARGETED':
    case 'LEGACY_DISABLED':
      return `Ask your admin to include you in the passwordless phone sign-in policy, ${OR_TURN_OFF}`;
  }
}
