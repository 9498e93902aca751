import { asc, eq } from 'drizzle-orm';
import type { Executor } from '../db/client.js';
import { tenantDomains, tenants, users } from '../db/schema.js';
import { DomainError } from '../domain/errors.js';
import { domainOf } from '../domain/names.js';
import { DEFAULT_TENANT_SETTINGS } from '../domain/settings.js';
import type { App } from './app.js';
import { type Actor, audit } from './audit.js';
import { hashPassword } from './passwords.js';
import { runUseCase } from './useCase.js';

/** An admin acting on their own tenant: every read and write below is confined to `tenantId`. */
export interface AdminCaller {
  tenantId: string;
  userId: string;
}

/**
 * Locks the tenant row so concurrent changes that must see each other do: admin-role changes (the
 * last-admin rule), and the policy against deletions of the groups and users it names.
 */
export async function lockTenant(tx: Executor, tenantId: string) {
  await tx.select({ id: tenants.id }).from(tenants).where(eq(tenants.id, tenantId)).for('update');
}

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
  const passwordHash = await tenantAdminPasswordHash(input);
  return runUseCase(app, (tx) => insertTenant(tx, actor, input, passwordHash));
}

/** Checks the first admin's name against the domain, then hashes their password (before any transaction: it is slow on purpose). */
export async function tenantAdminPasswordHash(input: CreateTenantInput): Promise<string> {
  if (domainOf(input.adminUserPrincipalName) !== input.domain) {
    throw new DomainError('INVALID_INPUT', `The first admin must be in the tenant's domain: use a name ending in "@${input.domain}".`, 'adminUserPrincipalName');
  }
  return hashPassword(input.adminPassword);
}

/** The rows of a new tenant, its domain and first admin, with their audit entries, in the caller's transaction. */
export async function insertTenant(tx: Executor, actor: Actor, input: CreateTenantInput, passwordHash: string) {
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
}

/** Every domain a tenant owns, primary and federated, in name order. */
export async function tenantDomainNames(app: App, tenantId: string): Promise<string[]> {
  const rows = await app.db.select({ domain: tenantDomains.domain }).from(tenantDomains).where(eq(tenantDomains.tenantId, tenantId)).orderBy(asc(tenantDomains.domain));
  return rows.map((row) => row.domain);
}
