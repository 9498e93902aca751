import type { Database } from './client.js';

/**
 * A statement built once per database and reused: drizzle's `.prepare()` keeps the SQL text, so a
 * hot read skips the query builder (most of its CPU cost). Only for statements outside
 * transactions: a prepared query runs on the database it was built on.
 */
export function preparedOn<P>(build: (db: Database) => P): (db: Database) => P {
  const built = new WeakMap<Database, P>();
  return (db) => {
    let statement = built.get(db);
    if (!statement) {
      statement = build(db);
      built.set(db, statement);
    }
    return statement;
  };
}
