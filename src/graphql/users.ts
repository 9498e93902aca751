import { GraphQLError } from 'graphql';
import type { users } from '../db/schema.js';
import { displayNameSchema, passwordSchema, userPrincipalNameSchema } from '../domain/names.js';
import type { RiskLevel } from '../domain/userRisk.js';
import { resetSignInProtection } from '../services/signInProtection.js';
import { createUser, deleteUser, getUser, getViewer, listUsers, updateUser } from '../services/users.js';
import { builder } from './builder.js';
import { callerOf, DeletedRef, isId, notFound, offsetPage, REFUSED_ELSEWHERE, searchSchema, selfOrTenantAdmin, uuidSchema } from './common.js';
import { describeMutation } from './errorCodes.js';
import { COMMON_ERRORS, parseQueryArgument } from './errors.js';

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

/** A time that protects the user only while it is in the future. */
const inForce = (until: Date | null, now: Date) => (until && until > now ? until : null);

const REMEDY = 'Wait until then, or an admin of the tenant can clear it at once with resetUserSignInProtection.';

const RiskLevelEnum = builder.enumType('UserRiskLevel', {
  description: "How much the service distrusts sign-ins to a user's account (see riskState for why).",
  values: {
    NONE: { description: 'Nothing suspicious is known, or an admin dismissed or remediated it.' },
    LOW: { description: 'Something slightly unusual was seen; nothing is held back.' },
    MEDIUM: { description: 'Something unusual was seen that an admin may want to look at (riskyUsers).' },
    HIGH: {
      description:
        'The user reported a sign-in request on the phone as not theirs ("this wasn\'t me"), or an admin confirmed the account compromised: someone else may know their name or password. It stays HIGH until an admin dismisses it (dismissUserRisk) or clears it with resetUserSignInProtection, after checking with the user (and changing their password if needed).',
    },
  } satisfies Record<RiskLevel, { description: string }>,
});

builder.objectFields(UserRef, (t) => ({
  riskLevel: t.field({
    type: RiskLevelEnum,
    nullable: true,
    description: `How much the service distrusts sign-ins to this account: HIGH after a fraud report or a confirmed compromise (riskyUsers lists why). Readable by the user and by admins of their tenant.${REFUSED_ELSEWHERE} Stays until an admin clears it with resetUserSignInProtection.`,
    authScopes: selfOrTenantAdmin,
    resolve: (user) => user.riskLevel,
  }),
  pushMutedUntil: t.field({
    type: 'DateTime',
    nullable: true,
    description: `Until when no push is sent to the user's phones, after they reported a sign-in as fraud (for the tenant's fraudMuteMinutes): phone sign-in falls back to the password, and a sign-in that needs push MFA is refused. Null when not in force. Readable by the user and by admins of their tenant. ${REMEDY}`,
    authScopes: selfOrTenantAdmin,
    resolve: (user, _args, { app }) => inForce(user.pushMutedUntil, app.clock.now()),
  }),
  phoneSignInLockedUntil: t.field({
    type: 'DateTime',
    nullable: true,
    description: `Until when phone sign-in and push approvals are locked after repeated failures (wrong number, Deny, fraud report; a signature that does not verify proves nothing about the user and does not count; the tenant's failureLockoutThreshold, then 60 s doubling to 1 h): the password still works where the policy does not require push MFA. Null when not locked. Readable by the user and by admins of their tenant. ${REMEDY}`,
    authScopes: selfOrTenantAdmin,
    resolve: (user, _args, { app }) => inForce(user.lockedUntil, app.clock.now()),
  }),
  passwordLockedUntil: t.field({
    type: 'DateTime',
    nullable: true,
    description: `Until when password sign-in is locked after repeated wrong passwords (the tenant's failureLockoutThreshold, then 60 s doubling to 1 h; counted apart from phone sign-in failures, and cleared by a correct password): while locked even the right password is answered as a wrong one; phone sign-in and Temporary Access Passes are not affected. Null when not locked. Readable by the user and by admins of their tenant. ${REMEDY}`,
    authScopes: selfOrTenantAdmin,
    resolve: (user, _args, { app }) => inForce(user.passwordLockedUntil, app.clock.now()),
  }),
}));

builder.queryField('viewer', (t) =>
  t.withAuth({ securityInfo: true }).field({
    type: UserRef,
    description: 'The signed-in user: their own security info. Also open to an admin who must first register a second factor.',
    resolve: async (_root, _args, { app, auth }) => {
      const user = await getViewer(app, auth);
      // The token's session outlived the account only if it was deleted a moment ago.
      if (!user) throw new GraphQLError('Your account no longer exists. Sign in again.', { extensions: { code: 'UNAUTHENTICATED' } });
      return user;
    },
  }),
);

builder.queryFields((t) => ({
  users: t.withAuth({ admin: true }).connection({
    type: UserRef,
    description: 'Admin: the users of your tenant, by user principal name (at most 100 a page).',
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
  user: t.withAuth({ admin: true }).field({
    type: UserRef,
    nullable: true,
    description: 'Admin: one user of your tenant. An unknown id, or one of another tenant, is a NOT_FOUND error.',
    args: { id: t.arg.id({ required: true, description: 'The user id.' }) },
    resolve: async (_root, { id }, { app, auth }) => {
      const user = isId(String(id)) ? await getUser(app, callerOf(auth), String(id)) : undefined;
      if (!user) throw notFound('user');
      return user;
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

builder.mutationFields((t) => ({
  createUser: t.withAuth({ admin: true }).field({
    type: UserRef,
    description: describeMutation('createUser', 'Admin: add a user to your tenant. A taken name fails with ALREADY_EXISTS; a name outside your domains with INVALID_INPUT.'),
    errors: { types: COMMON_ERRORS, directResult: true },
    args: { input: t.arg({ type: CreateUserInput, required: true, description: 'The new user.' }) },
    resolve: (_root, { input }, { app, auth }) => createUser(app, callerOf(auth), input),
  }),
  updateUser: t.withAuth({ admin: true }).field({
    type: UserRef,
    description: describeMutation('updateUser', 'Admin: change a user of your tenant.'),
    errors: { types: COMMON_ERRORS, directResult: true },
    args: { input: t.arg({ type: UpdateUserInput, required: true, description: 'The changes.' }) },
    resolve: (_root, { input }, { app, auth }) => updateUser(app, callerOf(auth), { ...input, id: String(input.id) }),
  }),
  deleteUser: t.withAuth({ admin: true }).field({
    type: DeletedRef,
    description: describeMutation('deleteUser', 'Admin: delete a user with their sessions, devices and passes; they are also dropped from the phone sign-in policy.'),
    errors: { types: COMMON_ERRORS, directResult: true },
    args: { id: t.arg.id({ required: true, description: 'The user to delete.', validate: uuidSchema }) },
    resolve: async (_root, { id }, { app, auth }) => ({ id: await deleteUser(app, callerOf(auth), String(id)) }),
  }),
  resetUserSignInProtection: t.withAuth({ admin: true }).field({
    type: UserRef,
    description: describeMutation(
      'resetUserSignInProtection',
      'Admin: clear what a fraud report and repeated failures put on a user of your tenant: riskLevel back to NONE, pushes unmuted, phone sign-in and password sign-in unlocked and their failure counts cleared. Audited. An unknown or foreign id fails with NOT_FOUND.',
    ),
    errors: { types: COMMON_ERRORS, directResult: true },
    args: { userId: t.arg.id({ required: true, description: 'The user to clear.', validate: uuidSchema }) },
    resolve: (_root, { userId }, { app, auth }) => resetSignInProtection(app, callerOf(auth), String(userId)),
  }),
}));
