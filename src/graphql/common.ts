import { type DefaultConnectionArguments, resolveOffsetConnection } from '@pothos/plugin-relay';
import { GraphQLError } from 'graphql';
import { z } from 'zod';
import type { Auth } from '../services/auth.js';
import type { AdminCaller } from '../services/directory.js';
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
  auth.kind === 'user' && (auth.userId === user.id || (auth.isAdmin && auth.tenantId === user.tenantId));

/** Most page sizes a connection serves at once, so no query can pull a whole directory. */
export const PAGE_SIZE = { default: 20, max: 100 } as const;

export const offsetPage = <T>(args: DefaultConnectionArguments, fetch: (page: { limit: number; offset: number }) => Promise<T[]>) =>
  withPagingErrors(() => resolveOffsetConnection({ args, defaultSize: PAGE_SIZE.default, maxSize: PAGE_SIZE.max }, fetch));

/** A list's search text, checked in the resolver so a bad one is BAD_USER_INPUT. */
export const searchSchema = z.string().trim().max(256, 'A search text has at most 256 characters.').nullish();

export const DeletedRef = builder.objectRef<{ id: string }>('Deleted').implement({
  description: 'Something was deleted.',
  fields: (t) => ({ id: t.exposeID('id', { description: 'The id of what was deleted; it no longer resolves.' }) }),
});

/** Rows grouped by a key, each group in the rows' order. */
export function groupedBy<T>(rows: readonly T[], keyOf: (row: T) => string): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const row of rows) groups.set(keyOf(row), [...(groups.get(keyOf(row)) ?? []), row]);
  return groups;
}

/** A row a field loads, named with the tenant it must belong to. */
export interface TenantKey {
  tenantId: string;
  id: string;
}

/** Options for a loadable field keyed by TenantKey: dataloader caches by the pair, not by object identity. */
export const tenantKeyOptions = { cacheKeyFn: (key: TenantKey) => `${key.tenantId}/${key.id}` };

/**
 * A dataloader batch for TenantKeys: one read per tenant in the batch, each confined to its
 * tenant, so a row of another tenant can never answer. Keys the read did not find answer `missing`.
 */
export const loadByTenant =
  <T, Missing = null>(read: (context: Context, tenantId: string, ids: readonly string[]) => Promise<Map<string, T>>, missing: Missing) =>
  async (keys: readonly TenantKey[], context: Context): Promise<(T | Missing)[]> => {
    const idsByTenant = new Map<string, Set<string>>();
    for (const { tenantId, id } of keys) idsByTenant.set(tenantId, (idsByTenant.get(tenantId) ?? new Set()).add(id));
    const found = new Map<string, T>();
    for (const [tenantId, ids] of idsByTenant) {
      for (const [id, row] of await read(context, tenantId, [...ids])) found.set(tenantKeyOptions.cacheKeyFn({ tenantId, id }), row);
    }
    return keys.map((key) => found.get(tenantKeyOptions.cacheKeyFn(key)) ?? missing);
  };
