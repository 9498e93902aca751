// Module hook of the benchmark's service process only (registered by serviceChild.ts): the service's
// imports of postgres.js get countedPostgres.mjs, which counts every statement sent. Postgres here
// has no pg_stat_statements (it needs shared_preload_libraries), so the count is taken at the client.
const counted = new URL('./countedPostgres.mjs', import.meta.url).href;

export async function resolve(specifier, context, next) {
  if (specifier === 'postgres' && context.parentURL?.includes('/src/db/')) return { url: counted, shortCircuit: true };
  return next(specifier, context);
}
