import { eq } from 'drizzle-orm';
import { z } from 'zod';
import { tenantDomains, type tenants, users } from '../db/schema.js';
import { displayNameSchema, domainSchema, passwordSchema, userPrincipalNameSchema } from '../domain/names.js';
import { createTenant } from '../services/directory.js';
import { builder } from './builder.js';
import { COMMON_ERRORS } from './errors.js';

export const TenantRef = builder.objectRef<typeof tenants.$inferSelect>('Tenant').implement({
  description: 'An organisation: its own directory, policy and settings, isolated from every other tenant.',
  fields: (t) => ({
    id: t.exposeID('id', { description: 'Stable tenant id (the `tid` claim of access tokens).' }),
    name: t.exposeString('name', { description: 'Display name of the organisation.' }),
    domains: t.stringList({
      description: 'Domains the tenant owns; a user principal name ends in one of them.',
      resolve: async (tenant, _args, { app }) =>
        (await app.db.select({ domain: tenantDomains.domain }).from(tenantDomains).where(eq(tenantDomains.tenantId, tenant.id))).map((d) => d.domain),
    }),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When the tenant was created.' }),
  }),
});

export const UserRef = builder.objectRef<typeof users.$inferSelect>('User').implement({
  description: 'A person in a tenant directory.',
  fields: (t) => ({
    id: t.exposeID('id', { description: 'Stable user id (the `sub` claim of access tokens).' }),
    tenantId: t.exposeID('tenantId', { description: 'The tenant the user belongs to.' }),
    userPrincipalName: t.exposeString('userPrincipalName', { description: 'Sign-in name, e.g. "adele@contoso.com" (lower case).' }),
    displayName: t.exposeString('displayName', { description: 'Name shown to people.' }),
    isAdmin: t.exposeBoolean('isAdmin', { description: 'Whether the user administers the tenant.' }),
    disabled: t.exposeBoolean('disabled', { description: 'A disabled user cannot sign in in any way.' }),
    hasPassword: t.boolean({ description: 'Whether the user has a password.', resolve: (user) => user.passwordHash !== null }),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When the user was created.' }),
  }),
});

const CreateTenantPayload = builder
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
  t.field({
    type: CreateTenantPayload,
    description: 'Operator only: create a tenant with its first admin.',
    authScopes: { operator: true },
    errors: { types: COMMON_ERRORS },
    args: { input: t.arg({ type: CreateTenantInput, required: true, description: 'The tenant and its first admin.' }) },
    resolve: (_root, { input }, { app }) => createTenant(app, { type: 'OPERATOR' }, input),
  }),
);

builder.queryField('viewer', (t) =>
  t.field({
    type: UserRef,
    description: 'The signed-in user: their own security info.',
    authScopes: { user: true },
    resolve: async (_root, _args, { app, auth }) => {
      const userId = auth.kind === 'user' ? auth.userId : '';
      const [user] = await app.db.select().from(users).where(eq(users.id, userId));
      return user!;
    },
  }),
);

export const uuidSchema = z.uuid('Give an id as returned by this API.');
