import type { Logger } from 'pino';
import { constantTimeEqual, sha256 } from '../domain/secrets.js';
import { isFinal } from '../domain/signInAttempt.js';
import type { EventBus } from '../realtime/events.js';
import type { App } from './app.js';
import type { AttemptView } from './attempts.js';
import { type ChallengeView, pendingForDevices } from './pendingChallenges.js';
import type { DeviceAuth } from './devices.js';
import { LiveTopic, forgetOldestBeyond } from './live.js';
import { type AuditLogRow, type LogFollower, type SignInLogRow, readFeed } from './logFeed.js';
import { type SecurityAlertView, raisedAlert } from './securityAlerts.js';
import { watchedAttempts } from './signIn.js';

/** How often the node looks at the event transport's state, and how long after its return it reads. */
const TRANSPORT_CHECK_MS = 1000;
const RESUBSCRIBE_SETTLE_MS = 500;
/** Challenges pushed here and attempts begun here that the node remembers: far more than sign-ins in flight on one node. */
const REMEMBERED_MAX = 10_000;

/** A browser following an attempt, or an admin following alerts: nothing to tell them apart by. */
type Watcher = object;

/** This node's live subscribers, fed by one subscription per topic to the event transport. */
export interface LiveHub {
  /** Authenticators, by user id. */
  challenges: LiveTopic<DeviceAuth, ChallengeView>;
  /** Browsers, by attempt id. */
  attempts: LiveTopic<Watcher, AttemptView>;
  /** Admins following alerts, by tenant id. */
  alerts: LiveTopic<Watcher, SecurityAlertView>;
  /** Admins following the sign-in log, by tenant id. */
  signInLogs: LiveTopic<LogFollower<SignInLogRow>, SignInLogRow>;
  /** Admins following the audit log, by tenant id. */
  auditLogs: LiveTopic<LogFollower<AuditLogRow>, AuditLogRow>;
  /**
   * A challenge this node has just committed: its authenticators connected here (of `deviceIds`,
   * the devices that may see it, read in the same transaction) get it at once, and the event that
   * follows makes no read here. Other nodes read it on the event, as for any challenge.
   */
  pushedHere(userId: string, view: ChallengeView, deviceIds: string[]): void;
  /** An attempt this node has just committed, with its secret's hash: its browser's first view here needs no read (knownAttempt). */
  begunHere(view: AttemptView, secretHash: string): void;
  /**
   * The view of an attempt begun here if `attemptSecret` is its secret (null if not), kept current
   * by the attempt's events, for its browser's first subscription only; undefined when this node
   * does not know it well enough — not begun here, asked before, expired by the clock, or the event
   * transport away or lately back (events may be lost) — and the caller reads the database.
   */
  knownAttempt(attemptId: string, attemptSecret: string): AttemptView | null | undefined;
  close(): Promise<void>;
}

/**
 * Subscribes this node to each live topic once, before any client can subscribe, so a client that
 * registers and then reads misses nothing. Postgres is the record and events are hints: an event
 * makes the node read its key once for all local subscribers, and when the transport comes back
 * after being away (events lost meanwhile) every local key is read again, in batches.
 */
export function startLiveHub(app: App, bus: EventBus, logger: Logger): LiveHub {
  const readAgain = (topic: 'signInLogs' | 'auditLogs') => (tenantId: string, delayMs: number) => {
    if (delayMs === 0) hub[topic].changed(tenantId);
    else setTimeout(() => hub[topic].changed(tenantId), delayMs).unref();
  };
  const hub = {
    challenges: new LiveTopic<DeviceAuth, ChallengeView>({
      name: 'challenges',
      logger,
      read: (userIds, devicesOf) => pendingForDevices(app, userIds, devicesOf),
      key: (challenge) => challenge.id,
    }),
    attempts: new LiveTopic<Watcher, AttemptView>({
      name: 'attempts',
      logger,
      read: (attemptIds, watchersOf) => watchedAttempts(app, attemptIds, watchersOf),
      // Only changes are sent: several events, and every re-read, may report one status.
      key: (view) => view.status,
      isLast: (view) => isFinal(view.status),
    }),
    alerts: new LiveTopic<Watcher, SecurityAlertView>({ name: 'alerts', logger, key: (alert) => alert.id }),
    // No key: each follower keeps its place in the feed, so no row is handed to it twice.
    signInLogs: new LiveTopic<LogFollower<SignInLogRow>, SignInLogRow>({
      name: 'signInLogs',
      logger,
      read: (tenantIds, followersOf) => readFeed(app, 'SIGN_IN', tenantIds, followersOf, readAgain('signInLogs')),
    }),
    auditLogs: new LiveTopic<LogFollower<AuditLogRow>, AuditLogRow>({
      name: 'auditLogs',
      logger,
      read: (tenantIds, followersOf) => readFeed(app, 'AUDIT', tenantIds, followersOf, readAgain('auditLogs')),
    }),
  };
  const follow = <E>(events: AsyncIterable<E>, handle: (event: E) => void) => {
    const iterator = events[Symbol.asyncIterator]();
    void (async () => {
      for (let next = await iterator.next(); !next.done; next = await iterator.next()) handle(next.value);
    })();
    return iterator;
  };
  const alertFailed = (err: unknown) => logger.warn({ err }, 'live read failed');
  // Challenges pushed here without a read, until their own event comes back (bounded: events can be lost).
  const pushedHere = new Set<string>();
  // Attempts begun here, until final: their latest view, from the events every change publishes.
  const begun = new Map<string, { secretHash: string; view: AttemptView }>();
  const knownAttempt = (attemptId: string, attemptSecret: string) => {
    const known = begun.get(attemptId);
    if (!known || !bus.connected() || known.view.expiresAt <= app.clock.now()) return undefined;
    if (!constantTimeEqual(known.secretHash, sha256(attemptSecret))) return null;
    // Once: a later subscription (a reloaded page) reads, since an event another node failed to
    // publish would leave this view behind without this node's transport ever being away.
    begun.delete(attemptId);
    return known.view;
  };
  const pushHere = (userId: string, view: ChallengeView, deviceIds: string[]) => {
    forgetOldestBeyond(pushedHere, REMEMBERED_MAX);
    pushedHere.add(view.id);
    const eligible = new Set(deviceIds);
    const forDevice = new Map<DeviceAuth, ChallengeView[]>(hub.challenges.subscribersOf(userId).map((auth) => [auth, eligible.has(auth.deviceId) ? [view] : []]));
    hub.challenges.deliver(new Map([[userId, forDevice]]));
  };
  const subscriptions = [
    follow(app.events.subscribe('userChallenge'), ({ userId, challengeId }) => {
      if (!pushedHere.delete(challengeId)) hub.challenges.changed(userId);
    }),
    // The event carries the attempt's view: its browsers are told without a read.
    follow(app.events.subscribe('signInAttemptChanged'), ({ attemptId, status, kind, failureReason, expiresAt }) => {
      const view = { id: attemptId, status, kind, failureReason, expiresAt: new Date(expiresAt) } as AttemptView;
      // Statuses only move forward and a final one ends the entry, so a late event cannot undo a newer one.
      const known = begun.get(attemptId);
      if (known && isFinal(view.status)) begun.delete(attemptId);
      else if (known) known.view = view;
      hub.attempts.changedTo(attemptId, view);
    }),
    follow(app.events.subscribe('securityAlert'), ({ tenantId, alertId }) => {
      if (hub.alerts.has(tenantId)) raisedAlert(app, tenantId, alertId, hub.alerts.subscribersOf(tenantId)).then((found) => hub.alerts.deliver(found), alertFailed);
    }),
    follow(app.events.subscribe('logWritten'), ({ tenantId, log }) => (log === 'SIGN_IN' ? hub.signInLogs : hub.auditLogs).changed(tenantId)),
  ];
  const catchUp = () => {
    logger.info('live event transport is back: reading every local subscription once');
    begun.clear();
    void Promise.all([hub.challenges.catchUp(), hub.attempts.catchUp(), hub.signInLogs.catchUp(), hub.auditLogs.catchUp()]);
  };
  const stopResumes = bus.onResume(catchUp);
  // A safety net beside onResume, one timer per node: after a long outage ioredis may come back
  // without the resume signal (seen with connections reset for 30 s). When the transport is seen
  // up again after being down, the node catches up once, after its re-subscriptions took effect.
  let wasUp = bus.connected();
  const watch = setInterval(() => {
    const up = bus.connected();
    if (up && !wasUp) setTimeout(catchUp, RESUBSCRIBE_SETTLE_MS).unref();
    // What was learnt from events goes as soon as events may be missed, not only once they are back.
    if (!up && wasUp) begun.clear();
    wasUp = up;
  }, TRANSPORT_CHECK_MS);
  watch.unref();
  return {
    ...hub,
    pushedHere: pushHere,
    begunHere: (view, secretHash) => {
      forgetOldestBeyond(begun, REMEMBERED_MAX);
      begun.set(view.id, { secretHash, view });
    },
    knownAttempt,
    close: async () => {
      clearInterval(watch);
      stopResumes();
      await Promise.all(subscriptions.map((s) => s.return?.()));
    },
  };
}
