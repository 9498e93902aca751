import type { tenants, users } from '../db/schema.js';
import { displayNameSchema, domainSchema, passwordSchema, userPrincipalNameSchema } from '../domain/names.js';
import { createTenant, tenantDomainNames } from '../services/tenants.js';
import { builder } from './builder.js';
import { describeMutation } from './errorCodes.js';
import { COMMON_ERRORS } from './errors.js';
import { UserRef } from './users.js';

export const TenantRef = builder.objectRef<typeof tenants.$inferSelect>('Tenant').implement({
  description: 'An organisation: its own directory, policy and settings, isolated from every other tenant.',
  fields: (t) => ({
    id: t.exposeID('id', { description: 'Stable tenant id (the `tid` claim of access tokens).' }),
    name: t.exposeString('name', { description: 'Display name of the organisation.' }),
    // One tenant per response (the caller's own, or the one just created): nothing to batch.
    domains: t.stringList({
      description: 'Domains the tenant owns; a user principal name ends in one of them.',
      resolve: (tenant, _args, { app }) => tenantDomainNames(app, tenant.id),
    }),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When the tenant was created.' }),
  }),
});

export const CreateTenantPayload = builder
  .objectRef<{ tenant: typeof tenants.$inferSelect; admin: typeof users.$inferSelect }>('CreateTenantPayload')
  .implement({
    description: 'A new tenant and its first admin.',
    fields: (t) => ({
      tenant: t.field({ type: TenantRef, description: 'The tenant created.', resolve: (p) => p.tenant }),
      admin: t.field({ type: UserRef, description: 'Its first admin, who can now sign in with the password given.', resolve: (p) => p.admin }),
    }),
  });

const CreateTenantInput = builder.inputType('CreateTenantInput', {
  description: 'A new tenant and its first admin.',
  fields: (t) => ({
    name: t.string({ description: 'Organisation name.', validate: displayNameSchema }),
    domain: t.string({ description: 'The primary domain, e.g. "contoso.com"; unique across tenants.', validate: domainSchema }),
    adminUserPrincipalName: t.string({ description: 'Sign-in name of the first admin, in the primary domain.', validate: userPrincipalNameSchema }),
    adminPassword: t.string({ description: 'Password of the first admin (8 to 256 characters).', validate: passwordSchema }),
  }),
});

builder.mutationField('createTenant', (t) =>
  t.withAuth({ operator: true }).field({
    type: CreateTenantPayload,
    description: describeMutation('createTenant', 'Operator only: create a tenant with its first admin.'),
    errors: { types: COMMON_ERRORS, directResult: true },
    args: { input: t.arg({ type: CreateTenantInput, required: true, description: 'The tenant and its first admin.' }) },
    resolve: (_root, { input }, { app }) => createTenant(app, { type: 'OPERATOR' }, input),
  }),
);
