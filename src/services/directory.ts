import { eq } from 'drizzle-orm';
import { tenantDomains, tenants, users } from '../db/schema.js';
import { DomainError } from '../domain/errors.js';
import { domainOf } from '../domain/names.js';
import { DEFAULT_TENANT_SETTINGS } from '../domain/settings.js';
import type { App } from './app.js';
import { type Actor, audit } from './audit.js';
import { hashPassword } from './passwords.js';

export interface CreateTenantInput {
  name: string;
  domain: string;
  adminUserPrincipalName: string;
  adminPassword: string;
}

/** Creates a tenant with its primary domain and its first admin, all or nothing. */
export async function createTenant(app: App, actor: Actor, input: CreateTenantInput) {
  if (domainOf(input.adminUserPrincipalName) !== input.domain) {
    throw new DomainError('INVALID_INPUT', `The first admin must be in the tenant's domain: use a name ending in "@${input.domain}".`, 'adminUserPrincipalName');
  }
  const passwordHash = await hashPassword(input.adminPassword);
  return app.db.transaction(async (tx) => {
    const [taken] = await tx.select({ domain: tenantDomains.domain }).from(tenantDomains).where(eq(tenantDomains.domain, input.domain));
    if (taken) throw new DomainError('ALREADY_EXISTS', `The domain "${input.domain}" already belongs to a tenant. Choose another domain.`, 'domain');
    const [tenant] = await tx.insert(tenants).values({ name: input.name, settings: DEFAULT_TENANT_SETTINGS }).returning();
    await tx.insert(tenantDomains).values({ domain: input.domain, tenantId: tenant!.id });
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
