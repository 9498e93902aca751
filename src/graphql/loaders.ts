import type { Context } from './builder.js';

// Plumbing for fields that read per row (@pothos/plugin-dataloader): a page of parents is
// answered with one read per tenant, never one per row.

/** Rows grouped by a key, each group in the rows' order. */
export function groupedBy<T>(rows: readonly T[], keyOf: (row: T) => string): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const row of rows) {
    const group = groups.get(keyOf(row));
    if (group) group.push(row);
    else groups.set(keyOf(row), [row]);
  }
  return groups;
}

/** A row a field loads, named with the tenant it must belong to. */
export interface TenantKey {
  tenantId: string;
  id: string;
}

/** The key of a row that is itself the parent (a user, a group): its own id in its own tenant. */
export const ownKey = (row: { tenantId: string; id: string }): TenantKey => ({ tenantId: row.tenantId, id: row.id });

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
