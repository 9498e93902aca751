import type { Executor } from './client.js';

/**
 * What drizzle's database and transaction objects hold (not in its public types): the SQL dialect,
 * one per database and shared by its transactions, and the driver's client of the session, which
 * for a transaction is its own connection.
 */
interface DrizzleInternals {
  dialect: object;
  session: { client: unknown };
}

/**
 * A statement built once per database and reused: drizzle's `.prepare()` keeps the SQL text, so a
 * hot read or write skips the query builder (most of its CPU cost). On a transaction the statement
 * built for its database runs on the transaction's connection: a view of it with the transaction's
 * client in place of the one it was built with (drizzle's prepared queries of both drivers keep it
 * in `client`; test/prepared.test.ts holds them to it).
 */
export function preparedOn<P extends object>(build: (db: Executor) => P): (db: Executor) => P {
  const built = new WeakMap<object, P>();
  return (executor) => {
    const { dialect, session } = executor as unknown as DrizzleInternals;
    let statement = built.get(dialect);
    if (!statement) {
      statement = build(executor);
      built.set(dialect, statement);
    }
    return (statement as { client?: unknown }).client === session.client
      ? statement
      : (Object.create(statement, { client: { value: session.client } }) as P);
  };
}
