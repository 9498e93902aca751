import { type DefaultConnectionArguments, resolveOffsetConnection } from '@pothos/plugin-relay';
import { GraphQLError } from 'graphql';
import { z } from 'zod';
import type { Auth } from '../services/auth.js';
import type { AdminCaller } from '../services/tenants.js';
import { builder, type Context } from './builder.js';
import { withPagingErrors } from './errors.js';

export const uuidSchema = z.uuid('Give an id as returned by this API.');

/** Ids that cannot name any row are simply unknown, never a database error. */
export const isId = (id: string) => uuidSchema.safeParse(id).success;

/** Unknown and foreign ids look the same: neither tells an admin what another tenant holds. */
export const notFound = (what: string) =>
  new GraphQLError(`No such ${what} in your tenant. Check the id.`, { extensions: { code: 'NOT_FOUND' } });

/** The signed-in user a resolver under `t.withAuth({ admin: true })` (or `user`) holds, as the services take it. */
export const callerOf = (auth: Extract<Auth, { kind: 'user' }>): AdminCaller => ({ tenantId: auth.tenantId, userId: auth.userId });

/** Who may read a user's own security state: the user themself, and admins of their tenant. */
export const selfOrTenantAdmin = (user: { id: string; tenantId: string }, _args: unknown, { auth }: Context) =>
  auth.kind === 'user' && (auth.userId === user.id || (auth.isAdmin && !auth.registrationRequired && auth.tenantId === user.tenantId));

/** Most page sizes a connection serves at once, so no query can pull a whole directory. */
export const PAGE_SIZE = { default: 20, max: 100 } as const;

/** A connection's paging arguments with our page sizes, as the relay plugin's offset helpers take them. */
export const offsetPaging = (args: DefaultConnectionArguments) => ({ args, defaultSize: PAGE_SIZE.default, maxSize: PAGE_SIZE.max });

export const offsetPage = <T>(args: DefaultConnectionArguments, fetch: (page: { limit: number; offset: number }) => Promise<T[]>) =>
  withPagingErrors(() => resolveOffsetConnection(offsetPaging(args), fetch));

/** A list's search text, checked in the resolver so a bad one is BAD_USER_INPUT. */
export const searchSchema = z.string().trim().max(256, 'A search text has at most 256 characters.').nullish();

export const DeletedRef = builder.objectRef<{ id: string }>('Deleted').implement({
  description: 'Something was deleted.',
  fields: (t) => ({ id: t.exposeID('id', { description: 'The id of what was deleted; it no longer resolves.' }) }),
});

/**
 * Said of every field some callers may not read. Such fields are nullable: a refused non-null
 * field would null its parent up to the operation, and a mutation's caller would not learn what
 * it changed.
 */
export const REFUSED_ELSEWHERE = ' Null, with a FORBIDDEN error, for any other caller (e.g. the operator reading what createTenant made).';
