import { setMaxListeners } from 'node:events';
import { createRedisEventTarget } from '@graphql-yoga/redis-event-target';
import { createPubSub } from 'graphql-yoga';
import { Redis } from 'ioredis';
import type { Logger } from 'pino';

/**
 * Every live topic, with its payload. Each topic is one channel with the key in the payload: a
 * node subscribes once per topic (services/liveHub.ts), not once per subscriber. Payloads carry ids and statuses only: never tokens,
 * attempt secrets, numbers or keys, because with REDIS_URL they cross the network.
 */
export type Topics = {
  /**
   * A sign-in attempt changed status, with what its browser may see of it (kind, failure reason,
   * expiry: no secret), so the browser is told without a read of the attempt.
   */
  signInAttemptChanged: [payload: { attemptId: string; status: string; kind: string; failureReason: string | null; expiresAt: string }];
  /** A challenge is pending for this user; their authenticators re-read it from the database. */
  userChallenge: [payload: { userId: string; challengeId: string }];
  /** A device was removed or revoked; its open subscriptions are closed. */
  deviceRevoked: [payload: { deviceId: string }];
  /** A security alert for a tenant's admins (fraud reported, lockout). */
  securityAlert: [payload: { tenantId: string; alertId: string }];
  /** A session ended (signed out): every node closes the sockets signed in with it. */
  sessionRevoked: [payload: { userId: string; sessionId: string }];
  /** Sign-in or audit log rows of a tenant were written (committed): nodes with admins following that log read past their cursor. */
  logWritten: [payload: { tenantId: string; log: LogKind }];
  /** A user was disabled or deleted, or lost the admin role: every node closes their sockets (on demotion, those signed in as admin). */
  userAccessChanged: [payload: { userId: string; change: UserAccessChange }];
};

/** Which of a tenant's logs a write went to. */
export type LogKind = 'SIGN_IN' | 'AUDIT';

export type UserAccessChange = 'DISABLED' | 'DELETED' | 'DEMOTED';

export type Events = ReturnType<typeof createPubSub<Topics>>;

export interface EventBus {
  events: Events;
  /** False while Redis is unreachable: live events are lost meanwhile (metrics read this). */
  connected(): boolean;
  /**
   * Calls `listener` each time the transport is (re)connected and subscribed again, after which no
   * event is lost until it drops: whoever follows events re-reads what it may have missed.
   * Returns the function that stops the calls.
   */
  onResume(listener: () => void): () => void;
  close(): Promise<void>;
}

/** In-process events by default; Redis pub/sub when several API nodes share the live events. */
export function createEventBus(redisUrl: string | undefined, logger: Logger): EventBus {
  if (!redisUrl) {
    // One listener per open subscription: a busy topic legitimately has many, so no leak warning.
    const eventTarget = new EventTarget();
    setMaxListeners(0, eventTarget);
    return { events: createPubSub<Topics>({ eventTarget }), connected: () => true, onResume: () => () => {}, close: async () => {} };
  }
  const publishClient = new Redis(redisUrl, { maxRetriesPerRequest: 3 });
  // No ready check on the subscriber: after a reconnect it is in subscriber mode, where INFO is refused.
  const subscribeClient = new Redis(redisUrl, { maxRetriesPerRequest: 3, enableReadyCheck: false });
  // ioredis reconnects by itself; say so in the logs rather than as an unhandled error event.
  for (const client of [publishClient, subscribeClient]) client.on('error', (err: Error) => logger.warn({ err: err.message }, 'redis connection problem'));
  // The event target fires publish, subscribe and unsubscribe without awaiting them: while Redis
  // is away each would reject unhandled and end the process. Events are hints (Postgres is the
  // record), so a lost one is logged; ioredis re-subscribes by itself once it reconnects.
  const logged = (what: string) => (err: Error) => logger.warn({ err: err.message }, `redis ${what} failed`);
  const eventTarget = createRedisEventTarget<any>({
    publishClient: { publish: (topic: string, message: string) => publishClient.publish(topic, message).catch(logged('publish')) } as unknown as Redis,
    subscribeClient: {
      on: (event: string, listener: (...args: any[]) => void) => subscribeClient.on(event, listener),
      subscribe: (topic: string) => subscribeClient.subscribe(topic).catch(logged('subscribe')),
      unsubscribe: (topic: string) => subscribeClient.unsubscribe(topic).catch(logged('unsubscribe')),
    } as unknown as Redis,
  });
  const resumeListeners = new Set<() => void>();
  // ioredis says 'ready' just before it re-sends SUBSCRIBE; a PING sent after it is answered after
  // the subscriptions took effect (one connection answers in order), so from then on nothing is lost.
  subscribeClient.on('ready', () =>
    setImmediate(() =>
      subscribeClient.ping().then(() => {
        for (const listener of resumeListeners) listener();
      }, logged('ping')),
    ),
  );
  return {
    events: createPubSub<Topics>({ eventTarget }),
    onResume: (listener) => {
      resumeListeners.add(listener);
      return () => resumeListeners.delete(listener);
    },
    connected: () => publishClient.status === 'ready' && subscribeClient.status === 'ready',
    close: async () => {
      publishClient.disconnect();
      subscribeClient.disconnect();
    },
  };
}
