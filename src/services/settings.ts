import { and, asc, count, eq, isNotNull, like } from 'drizzle-orm';
import { tenantDomains, tenants, users } from '../db/schema.js';
import { DomainError } from '../domain/errors.js';
import { type TenantSettings, tenantSettingsSchema } from '../domain/settings.js';
import type { App } from './app.js';
import { auditByUser } from './audit.js';
import { loadTenantSettings } from './policy.js';
import { escapeLike } from './likePatterns.js';
import { type AdminCaller, domainTaken } from './tenants.js';
import { runUseCase } from './useCase.js';

/** A partial change to tenant settings: absent fields keep their value, nested objects merge. */
export type TenantSettingsPatch = {
  [K in keyof TenantSettings]?: TenantSettings[K] extends Record<string, unknown> ? Partial<TenantSettings[K]> : TenantSettings[K];
};

/** The caller's own tenant. */
export async function getTenant(app: App, tenantId: string) {
  const [tenant] = await app.db.select().from(tenants).where(eq(tenants.id, tenantId));
  if (!tenant) throw new Error(`tenant ${tenantId} of a signed-in user is missing`);
  return tenant;
}

export const getTenantSettings = (app: App, tenantId: string) => loadTenantSettings(app.db, tenantId);

/** Applies a patch over current settings (nested objects merged), re-checked against every bound. */
export function mergeSettings(current: TenantSettings, patch: TenantSettingsPatch): TenantSettings {
  const merged: Record<string, unknown> = { ...current };
  for (const [key, value] of Object.entries(patch)) {
    if (value === undefined) continue;
    const existing = merged[key];
    merged[key] = value !== null && typeof value === 'object' && existing !== null && typeof existing === 'object' ? { ...existing, ...value } : value;
  }
  const parsed = tenantSettingsSchema.safeParse(merged);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new DomainError('INVALID_INPUT', `The setting ${issue.path.join('.')} is out of range: ${issue.message}`, issue.path.join('.'));
  }
  return parsed.data;
}

/** Changes some tenant settings; the others keep their value. */
export async function updateTenantSettings(app: App, caller: AdminCaller, patch: TenantSettingsPatch) {
  return runUseCase(app, async (tx) => {
    // Row lock: two admins changing different settings at once must not lose either change.
    const [tenant] = await tx.select().from(tenants).where(eq(tenants.id, caller.tenantId)).for('update');
    const before = tenantSettingsSchema.parse(tenant!.settings);
    const after = mergeSettings(before, patch);
    await tx.update(tenants).set({ settings: after }).where(eq(tenants.id, caller.tenantId));
    await auditByUser(tx, caller, { action: 'settings.update', targetType: 'TENANT', targetId: caller.tenantId, before, after });
    return after;
  });
}

/** A tenant's federated domains, by name. */
export const listFederatedDomains = (app: App, tenantId: string) =>
  app.db
    .select()
    .from(tenantDomains)
    .where(and(eq(tenantDomains.tenantId, tenantId), isNotNull(tenantDomains.federationSignInUrl)))
    .orderBy(asc(tenantDomains.domain));

/** Adds a domain whose users sign in with their password at their own identity provider. */
export async function addFederatedDomain(app: App, caller: AdminCaller, input: { domain: string; signInUrl: string }) {
  return runUseCase(app, async (tx) => {
    const [row] = await tx
      .insert(tenantDomains)
      .values({ domain: input.domain, tenantId: caller.tenantId, federationSignInUrl: input.signInUrl, createdAt: app.clock.now() })
      .onConflictDoNothing()
      .returning();
    if (!row) throw domainTaken(input.domain);
    await auditByUser(tx, caller, {
      action: 'domain.addFederated',
      targetType: 'DOMAIN',
      targetId: row.domain,
      after: { domain: row.domain, signInUrl: row.federationSignInUrl },
    });
    return row;
  });
}

/** Removes a federated domain; the primary domain and domains that still have users stay. */
export async function removeFederatedDomain(app: App, caller: AdminCaller, domain: string) {
  return runUseCase(app, async (tx) => {
    const [row] = await tx.select().from(tenantDomains).where(and(eq(tenantDomains.domain, domain), eq(tenantDomains.tenantId, caller.tenantId))).for('update');
    if (!row) throw new DomainError('NOT_FOUND', `Your tenant has no domain "${domain}". Check the name.`, 'domain');
    if (row.federationSignInUrl === null) {
      throw new DomainError('INVALID_INPUT', `"${domain}" is your tenant's primary domain and cannot be removed.`, 'domain');
    }
    const [inDomain] = await tx
      .select({ n: count() })
      .from(users)
      .where(and(eq(users.tenantId, caller.tenantId), like(users.userPrincipalName, `%@${escapeLike(domain)}`)));
    if ((inDomain?.n ?? 0) > 0) {
      throw new DomainError('IN_USE', `${inDomain!.n} user(s) still have names in "${domain}". Rename or delete them first.`, 'domain');
    }
    await tx.delete(tenantDomains).where(eq(tenantDomains.domain, domain));
    await auditByUser(tx, caller, {
      action: 'domain.removeFederated',
      targetType: 'DOMAIN',
      targetId: domain,
      before: { domain, signInUrl: row.federationSignInUrl },
    });
    return domain;
  });
}
