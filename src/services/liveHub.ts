import type { Logger } from 'pino';
import { isFinal } from '../domain/signInAttempt.js';
import type { EventBus } from '../realtime/events.js';
import type { App } from './app.js';
import type { AttemptView } from './attempts.js';
import { type ChallengeView, pendingForDevices } from './challenges.js';
import type { DeviceAuth } from './devices.js';
import { LiveTopic } from './live.js';
import { type SecurityAlertView, raisedAlert } from './securityAlerts.js';
import { watchedAttempts } from './signIn.js';

/** A browser following an attempt, or an admin following alerts: nothing to tell them apart by. */
type Watcher = object;

/** This node's live subscribers, fed by one subscription per topic to the event transport. */
export interface LiveHub {
  /** Authenticators, by user id. */
  challenges: LiveTopic<DeviceAuth, ChallengeView>;
  /** Browsers, by attempt id. */
  attempts: LiveTopic<Watcher, AttemptView>;
  /** Admins, by tenant id. */
  alerts: LiveTopic<Watcher, SecurityAlertView>;
  close(): Promise<void>;
}

/**
 * Subscribes this node to each live topic once, before any client can subscribe, so a client that
 * registers and then reads misses nothing. Postgres is the record and events are hints: an event
 * makes the node read its key once for all local subscribers, and when the transport comes back
 * after being away (events lost meanwhile) every local key is read again, in batches.
 */
export function startLiveHub(app: App, bus: EventBus, logger: Logger): LiveHub {
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
  };
  const follow = <E>(events: AsyncIterable<E>, handle: (event: E) => void) => {
    const iterator = events[Symbol.asyncIterator]();
    void (async () => {
      for (let next = await iterator.next(); !next.done; next = await iterator.next()) handle(next.value);
    })();
    return iterator;
  };
  const alertFailed = (err: unknown) => logger.warn({ err }, 'live read failed');
  const subscriptions = [
    follow(app.events.subscribe('userChallenge'), ({ userId }) => hub.challenges.changed(userId)),
    follow(app.events.subscribe('signInAttemptChanged'), ({ attemptId }) => hub.attempts.changed(attemptId)),
    follow(app.events.subscribe('securityAlert'), ({ tenantId, alertId }) => {
      if (hub.alerts.has(tenantId)) raisedAlert(app, tenantId, alertId, hub.alerts.subscribersOf(tenantId)).then((found) => hub.alerts.deliver(found), alertFailed);
    }),
  ];
  const stopResumes = bus.onResume(() => {
    logger.info('live event transport is back: reading every local subscription once');
    void Promise.all([hub.challenges.catchUp(), hub.attempts.catchUp()]);
  });
  return {
    ...hub,
    close: async () => {
      stopResumes();
      await Promise.all(subscriptions.map((s) => s.return?.()));
    },
  };
}
