import { AsyncLocalStorage } from 'node:async_hooks';
import type { Logger } from 'drizzle-orm';
import type { Database } from './client.js';

/** A statement that changes rows (a CTE may hide one behind `with`, so those count as writes too). */
const WRITE = /^\s*(insert|update|delete|with)\b/i;

/**
 * What this node asks of its database, counted as drizzle sends it: statements (BEGIN and COMMIT
 * not included) and transactions, where a statement outside an explicit transaction is one of its
 * own (autocommit), as Postgres counts it. A transaction "writes" when any of its statements does.
 * These are the numbers the short sign-in path is held to (see test/statementBudget.test.ts).
 */
export class StatementCounts {
  statements = 0;
  transactions = 0;
  writingTransactions = 0;
  private readonly current = new AsyncLocalStorage<{ wrote: boolean }>();

  /** Drizzle's logger hook: called once per statement executed, inside a transaction or not. */
  readonly logger: Logger = {
    logQuery: (query) => {
      this.statements++;
      const writes = WRITE.test(query);
      const transaction = this.current.getStore();
      if (!transaction) {
        this.transactions++;
        if (writes) this.writingTransactions++;
      } else if (writes && !transaction.wrote) {
        transaction.wrote = true;
        this.writingTransactions++;
      }
    },
  };

  /** Counts `db.transaction` calls, and marks the statements run inside them as theirs. */
  watch(db: Database): void {
    const transaction = db.transaction.bind(db);
    db.transaction = (work, config) => {
      this.transactions++;
      return this.current.run({ wrote: false }, () => transaction(work, config));
    };
  }
}
