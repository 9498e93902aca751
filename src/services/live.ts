import { setTimeout as delay } from 'node:timers/promises';
import { Repeater } from 'graphql-yoga';

/**
 * How often a live subscription re-reads its state from the database. Pub/sub is only a hint:
 * with Redis, an event published in the instant before SUBSCRIBE takes effect is lost, and so
 * is one published while the connection to Redis is down. Re-reading bounds that loss to this
 * delay — small next to a 120 s challenge — for one indexed query per subscriber per period.
 */
export const LIVE_RESYNC_MS = 5000;

/** Resolves at the next re-read; rejects when `signal` aborts (the subscription ended). */
export type Ticker = (signal: AbortSignal) => Promise<void>;

/** A ticker that fires every `ms` milliseconds and never keeps the process alive on its own. */
export const everyMs =
  (ms: number): Ticker =>
  (signal) =>
    delay(ms, undefined, { signal, ref: false });

/**
 * A subscription that replays state from the database and then follows live events: it starts
 * listening before it reads, and re-reads on every tick of `resync`, so nothing published in
 * between or lost on the way is missed for longer than a tick (at-least-once across
 * subscriptions; clients de-duplicate by id). Within one subscription an item is sent once per
 * `key`: a challenge once per id, an attempt once per status. `follow` re-reads what an event
 * points at (events carry ids only). The stream ends after an item `isLast` accepts, or when the
 * client unsubscribes.
 */
export function replayThenFollow<E, T>(o: {
  live: AsyncIterable<E>;
  replay: () => Promise<T[]>;
  follow: (event: E) => Promise<T[]>;
  key: (item: T) => string;
  isLast?: (item: T) => boolean;
  /** When to run `replay` again; never when omitted (for streams with nothing to replay). */
  resync?: Ticker;
}): AsyncIterable<T> {
  return new Repeater<T>(async (push, stop) => {
    const events = o.live[Symbol.asyncIterator]();
    const ended = new AbortController();
    const sent = new Set<string>();
    const never = new Promise<never>(() => {});
    // One pending tick at a time, replaced only once it fires: no timer piles up under many events.
    const tick = () => (o.resync ? o.resync(ended.signal).then(() => 'tick' as const) : never);
    let nextEvent = events.next();
    let nextTick = tick();
    nextTick.catch(() => {});
    const stopped = stop.then(() => 'stopped' as const);
    const emit = async (items: T[]) => {
      for (const item of items) {
        const key = o.key(item);
        if (sent.has(key)) continue;
        sent.add(key);
        await push(item);
        if (o.isLast?.(item)) return true;
      }
      return false;
    };
    try {
      if (await emit(await o.replay())) return;
      for (;;) {
        const next = await Promise.race([nextEvent, nextTick, stopped]);
        if (next === 'stopped') return;
        if (next === 'tick') {
          nextTick = tick();
          nextTick.catch(() => {});
          if (await emit(await o.replay())) return;
          continue;
        }
        if (next.done) return;
        nextEvent = events.next();
        if (await emit(await o.follow(next.value))) return;
      }
    } catch (error) {
      stop(error);
    } finally {
      ended.abort();
      stop();
      await events.return?.();
    }
  });
}
