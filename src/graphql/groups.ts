import { offsetForArgs, resolveOffsetConnection } from '@pothos/plugin-relay';
import { z } from 'zod';
import type { groups, users } from '../db/schema.js';
import { displayNameSchema } from '../domain/names.js';
import {
  addGroupMembers,
  countGroupMembers,
  createGroup,
  deleteGroup,
  getGroup,
  listGroupMembers,
  listGroups,
  removeGroupMembers,
} from '../services/groups.js';
import { builder } from './builder.js';
import { callerOf, DeletedRef, isId, notFound, offsetPage, offsetPaging, searchSchema, uuidSchema } from './common.js';
import { describeMutation } from './errorCodes.js';
import { COMMON_ERRORS, parseQueryArgument, withPagingErrors } from './errors.js';
import { groupedBy, loadByTenant, ownKey, tenantKeyOptions } from './loaders.js';
import { UserRef } from './users.js';

// The names t.connection gave these types before the field was batched: the contract keeps them.
const GroupMembersConnection = builder.connectionObject({ type: UserRef, name: 'GroupMembersConnection' }, { name: 'GroupMembersConnectionEdge' });

export const GroupRef = builder.objectRef<typeof groups.$inferSelect>('Group').implement({
  description: 'A named set of users of one tenant; the phone sign-in policy can target it.',
  fields: (t) => ({
    id: t.exposeID('id', { description: 'Stable group id, used as a policy targetId.' }),
    name: t.exposeString('name', { description: 'Group name, unique in the tenant ignoring case.' }),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When the group was created.' }),
    // Batched: a page of groups counts its members in one query; a group no member row names has 0.
    memberCount: t.loadable({
      type: 'Int',
      description: 'How many users are members.',
      load: loadByTenant(({ app }, tenantId, groupIds) => countGroupMembers(app, tenantId, groupIds), 0),
      loaderOptions: tenantKeyOptions,
      resolve: ownKey,
    }),
    // Batched: every group of a page gets the same page of its members (the same arguments), read in one query.
    members: t.loadable({
      type: GroupMembersConnection,
      description: 'The members, by user principal name.',
      byPath: true,
      args: { ...t.arg.connectionArgs() },
      loaderOptions: tenantKeyOptions,
      load: (keys, context, args) =>
        withPagingErrors(async () => {
          const paging = offsetPaging(args);
          const pageOf = (members: (typeof users.$inferSelect)[]) => resolveOffsetConnection(paging, () => members);
          const noMembers = await pageOf([]);
          return loadByTenant(async ({ app }, tenantId, groupIds) => {
            const rows = await listGroupMembers(app, tenantId, groupIds, offsetForArgs(paging));
            const pages = [...groupedBy(rows, (row) => row.groupId)].map(async ([id, members]) => [id, await pageOf(members.map((row) => row.user))] as const);
            return new Map(await Promise.all(pages));
          }, noMembers)(keys, context);
        }),
      resolve: ownKey,
    }),
  }),
});

builder.queryFields((t) => ({
  groups: t.withAuth({ admin: true }).connection({
    type: GroupRef,
    description: 'Admin: the groups of your tenant, by name (at most 100 a page).',
    args: {
      search: t.arg.string({ required: false, description: 'Only groups whose name contains this text (ignoring case); at most 256 characters.' }),
    },
    resolve: (_root, args, { app, auth }) => {
      const search = parseQueryArgument(searchSchema, args.search, 'search');
      return offsetPage(args, (page) => listGroups(app, callerOf(auth), search, page));
    },
  }),
  group: t.withAuth({ admin: true }).field({
    type: GroupRef,
    nullable: true,
    description: 'Admin: one group of your tenant. An unknown id, or one of another tenant, is a NOT_FOUND error.',
    args: { id: t.arg.id({ required: true, description: 'The group id.' }) },
    resolve: async (_root, { id }, { app, auth }) => {
      const group = isId(String(id)) ? await getGroup(app, callerOf(auth), String(id)) : undefined;
      if (!group) throw notFound('group');
      return group;
    },
  }),
}));

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
  createGroup: t.withAuth({ admin: true }).field({
    type: GroupRef,
    description: describeMutation('createGroup', 'Admin: create a group. A taken name fails with ALREADY_EXISTS.'),
    errors: { types: COMMON_ERRORS, directResult: true },
    args: { input: t.arg({ type: CreateGroupInput, required: true, description: 'The new group.' }) },
    resolve: (_root, { input }, { app, auth }) => createGroup(app, callerOf(auth), input),
  }),
  deleteGroup: t.withAuth({ admin: true }).field({
    type: DeletedRef,
    description: describeMutation('deleteGroup', 'Admin: delete a group. A group the phone sign-in policy names fails with IN_USE: take it out of the policy first.'),
    errors: { types: COMMON_ERRORS, directResult: true },
    args: { id: t.arg.id({ required: true, description: 'The group to delete.', validate: uuidSchema }) },
    resolve: async (_root, { id }, { app, auth }) => ({ id: await deleteGroup(app, callerOf(auth), String(id)) }),
  }),
  addGroupMembers: t.withAuth({ admin: true }).field({
    type: GroupRef,
    description: describeMutation('addGroupMembers', 'Admin: add users to a group; users already in it stay.'),
    errors: { types: COMMON_ERRORS, directResult: true },
    args: { input: t.arg({ type: GroupMembersInput, required: true, description: 'The group and the users.' }) },
    resolve: (_root, { input }, { app, auth }) =>
      addGroupMembers(app, callerOf(auth), { groupId: String(input.groupId), userIds: input.userIds.map(String) }),
  }),
  removeGroupMembers: t.withAuth({ admin: true }).field({
    type: GroupRef,
    description: describeMutation('removeGroupMembers', 'Admin: remove users from a group; users of your tenant who are not members are ignored.'),
    errors: { types: COMMON_ERRORS, directResult: true },
    args: { input: t.arg({ type: GroupMembersInput, required: true, description: 'The group and the users.' }) },
    resolve: (_root, { input }, { app, auth }) =>
      removeGroupMembers(app, callerOf(auth), { groupId: String(input.groupId), userIds: input.userIds.map(String) }),
  }),
}));
