import { eq } from 'drizzle-orm';
import type { Executor } from '../db/client.js';
import { groupMembers, phoneSignInPolicies, tenants, users } from '../db/schema.js';
import { type EffectivePolicy, effectivePolicy } from '../domain/policy.js';
import { type TenantSettings, tenantSettingsSchema } from '../domain/settings.js';

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
