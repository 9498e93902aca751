import { type DefaultConnectionArguments, resolveOffsetConnection } from '@pothos/plugin-relay';
import { GraphQLError } from 'graphql';
import { z } from 'zod';
import type { groups, tenants, users } from '../db/schema.js';
import { displayNameSchema, domainSchema, passwordSchema, userPrincipalNameSchema } from '../domain/names.js';
import type { Auth } from '../services/auth.js';
import { addGroupMembers, countGroupMembers, createGroup, deleteGroup, getGroup, listGroupMembers, listGroups, removeGroupMembers } from '../services/groups.js';
import { resetSignInProtection } from '../services/signInProtection.js';
import { type AdminCaller, createTenant, tenantDomainNames } from '../services/tenants.js';
import { createUser, deleteUser, getUser, getViewer, listUsers, updateUser } from '../services/users.js';
import { builder } from './builder.js';
import { COMMON_ERRORS, parseQueryArgument, withPagingErrors } from './errors.js';

export const TenantRef = builder.objectRef<typeof tenants.$inferSelect>('Tenant').implement({
  description: 'An organisation: its own directory, policy and settings, isolated from every other tenant.',
  fields: (t) => ({
    id: t.exposeID('id', { description: 'Stable tenant id (the `tid` claim of access tokens).' }),
    name: t.exposeString('name', { description: 'Display name of the organisation.' }),
    domains: t.stringList({
      description: 'Domains the tenant owns; a user principal name ends in one of them.',
      resolve: (tenant, _args, { app }) => tenantDomainNames(app, tenant.id),
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
    updatedAt: t.expose('updatedAt', { type: 'DateTime', description: 'When an admin last changed the user.' }),
  }),
});

type UserRow = typeof users.$inferSelect;

/** Who may read a user's sign-in protection state: the user themself, and admins of their tenant. */
const selfOrTenantAdmin = (user: UserRow, auth: Auth) => auth.kind === 'user' && (auth.userId === user.id || (auth.isAdmin && auth.tenantId === user.tenantId));

/** A time that protects the user only while it is in the future. */
const inForce = (until: Date | null, now: Date) => (until && until > now ? until : null);

const REMEDY = 'Wait until then, or an admin of the tenant can clear it at once with resetUserSignInProtection.';

const RiskLevelEnum = builder.enumType('UserRiskLevel', {
  description: "How much the service distrusts sign-ins to a user's account.",
  values: {
    NONE: { description: 'Nothing suspicious is known.' },
    HIGH: {
      description:
        'The user reported a sign-in request on the phone as not theirs ("this wasn\'t me"), so someone else may know their name or password. It stays HIGH until an admin clears it with resetUserSignInProtection, after checking with the user (and changing their password if needed).',
    },
  } as const,
});

builder.objectFields(UserRef, (t) => ({
  riskLevel: t.field({
    type: RiskLevelEnum,
    description: `Whether the user reported a sign-in as fraud (HIGH). Readable by the user and by admins of their tenant. Stays until an admin clears it with resetUserSignInProtection.`,
    authScopes: (user, _args, { auth }) => selfOrTenantAdmin(user, auth),
    resolve: (user) => user.riskLevel,
  }),
  pushMutedUntil: t.field({
    type: 'DateTime',
    nullable: true,
    description: `Until when no push is sent to the user's phones, after they reported a sign-in as fraud (for the tenant's fraudMuteMinutes): phone sign-in falls back to the password, and a sign-in that needs push MFA is refused. Null when not in force. Readable by the user and by admins of their tenant. ${REMEDY}`,
    authScopes: (user, _args, { auth }) => selfOrTenantAdmin(user, auth),
    resolve: (user, _args, { app }) => inForce(user.pushMutedUntil, app.clock.now()),
  }),
  phoneSignInLockedUntil: t.field({
    type: 'DateTime',
    nullable: true,
    description: `Until when phone sign-in and push approvals are locked after repeated failures (wrong number, Deny, fraud report, forged signature; the tenant's failureLockoutThreshold, then 60 s doubling to 1 h): the password still works where the policy does not require push MFA. Null when not locked. Readable by the user and by admins of their tenant. ${REMEDY}`,
    authScopes: (user, _args, { auth }) => selfOrTenantAdmin(user, auth),
    resolve: (user, _args, { app }) => inForce(user.lockedUntil, app.clock.now()),
  }),
  passwordLockedUntil: t.field({
    type: 'DateTime',
    nullable: true,
    description: `Until when password sign-in is locked after repeated wrong passwords (the tenant's failureLockoutThreshold, then 60 s doubling to 1 h; counted apart from phone sign-in failures, and cleared by a correct password): while locked even the right password is answered as a wrong one; phone sign-in and Temporary Access Passes are not affected. Null when not locked. Readable by the user and by admins of their tenant. ${REMEDY}`,
    authScopes: (user, _args, { auth }) => selfOrTenantAdmin(user, auth),
    resolve: (user, _args, { app }) => inForce(user.passwordLockedUntil, app.clock.now()),
  }),
}));

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
    errors: { types: COMMON_ERRORS, directResult: true },
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
      const user = auth.kind === 'user' ? await getViewer(app, auth) : undefined;
      // The token's session outlived the account only if it was deleted a moment ago.
      if (!user) throw new GraphQLError('Your account no longer exists. Sign in again.', { extensions: { code: 'UNAUTHENTICATED' } });
      return user;
    },
  }),
);

export const uuidSchema = z.uuid('Give an id as returned by this API.');

/** The signed-in admin behind a resolver that `authScopes: { admin: true }` already guards. */
export function callerOf(auth: Auth): AdminCaller {
  if (auth.kind !== 'user') throw new Error('callerOf() used on a field not guarded by the admin or user scope');
  return { tenantId: auth.tenantId, userId: auth.userId };
}

/** Unknown and foreign ids look the same: neither tells an admin what another tenant holds. */
export const notFound = (what: string) =>
  new GraphQLError(`No such ${what} in your tenant. Check the id.`, { extensions: { code: 'NOT_FOUND' } });

/** Ids that cannot name any row are simply unknown, never a database error. */
export const isId = (id: string) => uuidSchema.safeParse(id).success;

/** Most page sizes a connection serves at once, so no query can pull a whole directory. */
export const PAGE_SIZE = { default: 20, max: 100 } as const;

export const offsetPage = <T>(args: DefaultConnectionArguments, fetch: (page: { limit: number; offset: number }) => Promise<T[]>) =>
  withPagingErrors(() => resolveOffsetConnection({ args, defaultSize: PAGE_SIZE.default, maxSize: PAGE_SIZE.max }, fetch));

const searchSchema = z.string().trim().max(256, 'A search text has at most 256 characters.').nullish();

export const GroupRef = builder.objectRef<typeof groups.$inferSelect>('Group').implement({
  description: 'A named set of users of one tenant; the phone sign-in policy can target it.',
  fields: (t) => ({
    id: t.exposeID('id', { description: 'Stable group id, used as a policy targetId.' }),
    name: t.exposeString('name', { description: 'Group name, unique in the tenant ignoring case.' }),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When the group was created.' }),
    memberCount: t.int({ description: 'How many users are members.', resolve: (group, _args, { app }) => countGroupMembers(app, group.id) }),
    members: t.connection({
      type: UserRef,
      description: 'The members, by user principal name.',
      resolve: (group, args, { app }) => offsetPage(args, (page) => listGroupMembers(app, group, page)),
    }),
  }),
});

const DeletedRef = builder.objectRef<{ id: string }>('Deleted').implement({
  description: 'Something was deleted.',
  fields: (t) => ({ id: t.exposeID('id', { description: 'The id of what was deleted; it no longer resolves.' }) }),
});

builder.queryFields((t) => ({
  users: t.connection({
    type: UserRef,
    description: 'Admin: the users of your tenant, by user principal name (at most 100 a page).',
    authScopes: { admin: true },
    args: {
      search: t.arg.string({
        required: false,
        description: 'Only users whose user principal name or display name contains this text (ignoring case); at most 256 characters.',
      }),
    },
    resolve: (_root, args, { app, auth }) => {
      const search = parseQueryArgument(searchSchema, args.search, 'search');
      return offsetPage(args, (page) => listUsers(app, callerOf(auth), search, page));
    },
  }),
  user: t.field({
    type: UserRef,
    nullable: true,
    description: 'Admin: one user of your tenant. An unknown id, or one of another tenant, is a NOT_FOUND error.',
    authScopes: { admin: true },
    args: { id: t.arg.id({ required: true, description: 'The user id.' }) },
    resolve: async (_root, { id }, { app, auth }) => {
      const user = isId(String(id)) ? await getUser(app, callerOf(auth), String(id)) : undefined;
      if (!user) throw notFound('user');
      return user;
    },
  }),
  groups: t.connection({
    type: GroupRef,
    description: 'Admin: the groups of your tenant, by name (at most 100 a page).',
    authScopes: { admin: true },
    args: {
      search: t.arg.string({ required: false, description: 'Only groups whose name contains this text (ignoring case); at most 256 characters.' }),
    },
    resolve: (_root, args, { app, auth }) => {
      const search = parseQueryArgument(searchSchema, args.search, 'search');
      return offsetPage(args, (page) => listGroups(app, callerOf(auth), search, page));
    },
  }),
  group: t.field({
    type: GroupRef,
    nullable: true,
    description: 'Admin: one group of your tenant. An unknown id, or one of another tenant, is a NOT_FOUND error.',
    authScopes: { admin: true },
    args: { id: t.arg.id({ required: true, description: 'The group id.' }) },
    resolve: async (_root, { id }, { app, auth }) => {
      const group = isId(String(id)) ? await getGroup(app, callerOf(auth), String(id)) : undefined;
      if (!group) throw notFound('group');
      return group;
    },
  }),
}));

const CreateUserInput = builder.inputType('CreateUserInput', {
  description: 'A new user of your tenant.',
  fields: (t) => ({
    userPrincipalName: t.string({
      description: "Sign-in name, ending in one of your tenant's domains, e.g. \"adele@contoso.com\" (stored in lower case).",
      validate: userPrincipalNameSchema,
    }),
    displayName: t.string({ description: 'Name shown to people (1 to 256 characters).', validate: displayNameSchema }),
    password: t.string({
      required: false,
      description: 'Initial password (8 to 256 characters). Omit for a passwordless user who starts with a Temporary Access Pass.',
      validate: passwordSchema.nullish(),
    }),
    isAdmin: t.boolean({ required: false, description: 'Make the user an admin of the tenant. Default false.' }),
  }),
});

const UpdateUserInput = builder.inputType('UpdateUserInput', {
  description: 'Changes to one user; omitted fields keep their value.',
  fields: (t) => ({
    id: t.id({ description: 'The user to change.', validate: uuidSchema }),
    displayName: t.string({ required: false, description: 'New display name (1 to 256 characters).', validate: displayNameSchema.nullish() }),
    password: t.string({ required: false, description: 'New password (8 to 256 characters).', validate: passwordSchema.nullish() }),
    isAdmin: t.boolean({
      required: false,
      description: 'Grant or remove the admin role. Removing it from the last enabled admin fails with LAST_ADMIN.',
    }),
    disabled: t.boolean({
      required: false,
      description: 'Disable (true) or enable (false) the user. Disabling ends their sessions and device connections at once; the last enabled admin cannot be disabled (LAST_ADMIN).',
    }),
  }),
});

const userIdsSchema = z
  .array(uuidSchema)
  .min(1, 'Give at least one user id.')
  .max(100, 'Give at most 100 user ids at a time.');

const GroupMembersInput = builder.inputType('GroupMembersInput', {
  description: 'A group and the users to add to it or remove from it; all or nothing.',
  fields: (t) => ({
    groupId: t.id({ description: 'The group.', validate: uuidSchema }),
    userIds: t.idList({ description: 'Users of your tenant (1 to 100). An unknown or foreign id fails the whole change with NOT_FOUND.', validate: userIdsSchema }),
  }),
});

const CreateGroupInput = builder.inputType('CreateGroupInput', {
  description: 'A new group.',
  fields: (t) => ({ name: t.string({ description: 'Group name (1 to 256 characters), unique in your tenant ignoring case.', validate: displayNameSchema }) }),
});

builder.mutationFields((t) => ({
  createUser: t.field({
    type: UserRef,
    description: 'Admin: add a user to your tenant. A taken name fails with ALREADY_EXISTS; a name outside your domains with INVALID_INPUT.',
    authScopes: { admin: true },
    errors: { types: COMMON_ERRORS, directResult: true },
    args: { input: t.arg({ type: CreateUserInput, required: true, description: 'The new user.' }) },
    resolve: (_root, { input }, { app, auth }) => createUser(app, callerOf(auth), input),
  }),
  updateUser: t.field({
    type: UserRef,
    description: 'Admin: change a user of your tenant.',
    authScopes: { admin: true },
    errors: { types: COMMON_ERRORS, directResult: true },
    args: { input: t.arg({ type: UpdateUserInput, required: true, description: 'The changes.' }) },
    resolve: (_root, { input }, { app, auth }) => updateUser(app, callerOf(auth), { ...input, id: String(input.id) }),
  }),
  deleteUser: t.field({
    type: DeletedRef,
    description: 'Admin: delete a user with their sessions, devices and passes; they are also dropped from the phone sign-in policy.',
    authScopes: { admin: true },
    errors: { types: COMMON_ERRORS, directResult: true },
    args: { id: t.arg.id({ required: true, description: 'The user to delete.', validate: uuidSchema }) },
    resolve: async (_root, { id }, { app, auth }) => ({ id: await deleteUser(app, callerOf(auth), String(id)) }),
  }),
  createGroup: t.field({
    type: GroupRef,
    description: 'Admin: create a group. A taken name fails with ALREADY_EXISTS.',
    authScopes: { admin: true },
    errors: { types: COMMON_ERRORS, directResult: true },
    args: { input: t.arg({ type: CreateGroupInput, required: true, description: 'The new group.' }) },
    resolve: (_root, { input }, { app, auth }) => createGroup(app, callerOf(auth), input),
  }),
  deleteGroup: t.field({
    type: DeletedRef,
    description: 'Admin: delete a group. A group the phone sign-in policy names fails with IN_USE: take it out of the policy first.',
    authScopes: { admin: true },
    errors: { types: COMMON_ERRORS, directResult: true },
    args: { id: t.arg.id({ required: true, description: 'The group to delete.', validate: uuidSchema }) },
    resolve: async (_root, { id }, { app, auth }) => ({ id: await deleteGroup(app, callerOf(auth), String(id)) }),
  }),
  addGroupMembers: t.field({
    type: GroupRef,
    description: 'Admin: add users to a group; users already in it stay.',
    authScopes: { admin: true },
    errors: { types: COMMON_ERRORS, directResult: true },
    args: { input: t.arg({ type: GroupMembersInput, required: true, description: 'The group and the users.' }) },
    resolve: (_root, { input }, { app, auth }) =>
      addGroupMembers(app, callerOf(auth), { groupId: String(input.groupId), userIds: input.userIds.map(String) }),
  }),
  resetUserSignInProtection: t.field({
    type: UserRef,
    description:
      'Admin: clear what a fraud report and repeated failures put on a user of your tenant: riskLevel back to NONE, pushes unmuted, phone sign-in and password sign-in unlocked and their failure counts cleared. Audited. An unknown or foreign id fails with NOT_FOUND.',
    authScopes: { admin: true },
    errors: { types: COMMON_ERRORS, directResult: true },
    args: { userId: t.arg.id({ required: true, description: 'The user to clear.', validate: uuidSchema }) },
    resolve: (_root, { userId }, { app, auth }) => resetSignInProtection(app, callerOf(auth), String(userId)),
  }),
  removeGroupMembers: t.field({
    type: GroupRef,
    description: 'Admin: remove users from a group; users of your tenant who are not members are ignored.',
    authScopes: { admin: true },
    errors: { types: COMMON_ERRORS, directResult: true },
    args: { input: t.arg({ type: GroupMembersInput, required: true, description: 'The group and the users.' }) },
    resolve: (_root, { input }, { app, auth }) =>
      removeGroupMembers(app, callerOf(auth), { groupId: String(input.groupId), userIds: input.userIds.map(String) }),
  }),
}));
