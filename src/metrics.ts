import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { Database } from './db/client.js';
import type { StatementCounts } from './db/statementCounts.js';
import type { SignInLogStatus, SignInMethod } from './domain/signInAttempt.js';

/** Housekeeping periods as this node saw them: it did the work, another node leads, or it failed. */
export type HousekeepingOutcome = 'ran' | 'skipped' | 'failed';

/** Push deliveries: a few ms on a quiet node, seconds under load, 120 s when a phone connects late. */
const PUSH_BUCKETS_S = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 120];
/** Waits for a transaction: well under 1 ms with a free connection, seconds when the pool queues. */
const WAIT_BUCKETS_S = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/**
 * The Prometheus metrics of one server, in a registry of its own (several servers in one process,
 * as in the tests, must not share counters). Recording is an increment or an observation only:
 * nothing here queries anything on the request path; gauges read their value when scraped.
 */
export class Metrics {
  readonly registry = new Registry();
  private readonly signIns = new Counter({
    name: 'signin_outcomes_total',
    help: 'Sign-ins that ended, by method and sign-in log status (SUCCESS, FAILURE, INTERRUPTED), counted when their log row reaches that status and the transaction commits.',
    labelNames: ['method', 'outcome'] as const,
    registers: [this.registry],
  });
  private readonly pushDelivery = new Histogram({
    name: 'signin_push_delivery_seconds',
    help: 'Seconds from a challenge being created to its delivery on a phone subscription, once per subscription that delivers it; includes the wait of a phone that connected later. Measured with the clock of the node that delivers against the one that created it.',
    buckets: PUSH_BUCKETS_S,
    registers: [this.registry],
  });
  private readonly authenticators = new Gauge({
    name: 'signin_connected_authenticators',
    help: 'Open graphql-ws connections of authenticator devices on this node.',
    registers: [this.registry],
  });
  private readonly housekeeping = new Counter({
    name: 'signin_housekeeping_runs_total',
    help: 'Housekeeping periods of this node: ran (this node leads and did the work), skipped (another node leads), failed.',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  });

  constructor(o: { transportConnected: () => boolean; db: Database; counts: StatementCounts }) {
    collectDefaultMetrics({ register: this.registry });
    new Counter({
      name: 'signin_db_statements_total',
      help: 'Statements this node sent to the database (BEGIN and COMMIT not included).',
      registers: [this.registry],
      collect() {
        this.reset();
        this.inc(o.counts.statements);
      },
    });
    new Counter({
      name: 'signin_db_transactions_total',
      help: 'Transactions this node ran, a statement outside an explicit transaction counting as one (as Postgres counts it); writes="true" for those that changed rows.',
      labelNames: ['writes'] as const,
      registers: [this.registry],
      collect() {
        this.reset();
        this.inc({ writes: 'true' }, o.counts.writingTransactions);
        this.inc({ writes: 'false' }, o.counts.transactions - o.counts.writingTransactions);
      },
    });
    new Gauge({
      name: 'signin_event_transport_up',
      help: 'Live-event transport: 1 connected, 0 degraded (Redis unreachable; requests still work from the database). Always 1 in-process.',
      registers: [this.registry],
      collect() {
        this.set(o.transportConnected() ? 1 : 0);
      },
    });
    timeTransactionWaits(
      o.db,
      new Histogram({
        name: 'signin_db_transaction_wait_seconds',
        help: 'Seconds from asking for a database transaction to its first statement: the wait for a free pool connection (postgres.js) or for the single PGlite connection, plus the BEGIN round trip. Statements outside transactions are not measured; neither is query time.',
        buckets: WAIT_BUCKETS_S,
        registers: [this.registry],
      }),
    );
  }

  signInEnded(method: SignInMethod, status: SignInLogStatus) {
    this.signIns.inc({ method, outcome: status });
  }

  challengeDelivered(createdAt: Date, now: Date) {
    this.pushDelivery.observe(Math.max(0, now.getTime() - createdAt.getTime()) / 1000);
  }

  authenticatorConnected() {
    this.authenticators.inc();
  }

  authenticatorDisconnected() {
    this.authenticators.dec();
  }

  housekeepingRan(outcome: HousekeepingOutcome) {
    this.housekeeping.inc({ outcome });
  }
}

/**
 * Neither postgres.js nor PGlite reports its queue, so the wait is timed around drizzle's
 * `transaction`: until the callback starts, the transaction waits for its connection.
 */
function timeTransactionWaits(db: Database, waits: Histogram) {
  const transaction = db.transaction.bind(db);
  db.transaction = (work, config) => {
    const waited = waits.startTimer();
    return transaction((tx) => {
      waited();
      return work(tx);
    }, config);
  };
}
