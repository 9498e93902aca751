// postgres.js with a `debug` hook that counts statements and transactions per connection, the way
// Postgres counts xact_commit + xact_rollback: a BEGIN…COMMIT block is one, a statement outside one
// is one. The totals live on globalThis, where serviceChild.ts reads them.
import postgres from 'postgres';

const counts = (globalThis.__benchStatementCounts ??= { statements: 0, transactions: 0 });
let nextClient = 0;

export default function countedPostgres(url, options = {}) {
  const client = nextClient++;
  const inTransaction = new Set();
  return postgres(url, {
    ...options,
    debug: (connection, query, parameters, types) => {
      counts.statements++;
      const key = `${client}:${connection}`;
      const word = /^\s*(\w+)/.exec(query)?.[1]?.toLowerCase();
      if (word === 'begin') inTransaction.add(key);
      else if (word === 'commit' || word === 'rollback') inTransaction.delete(key) && counts.transactions++;
      else if (!inTransaction.has(key)) counts.transactions++;
      if (typeof options.debug === 'function') options.debug(connection, query, parameters, types);
    },
  });
}
