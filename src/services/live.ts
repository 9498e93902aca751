import { Repeater } from 'graphql-yoga';

/**
 * A subscription that replays state from the database and then follows live events: it starts
 * listening before it reads, so nothing published in between is lost (at-least-once; clients
 * de-duplicate by id). `follow` re-reads what an event points at (events carry ids only); the
 * stream ends after an item `isLast` accepts, or when the client unsubscribes.
 */
export function replayThenFollow<E, T>(o: {
  live: AsyncIterable<E>;
  replay: () => Promise<T[]>;
  follow: (event: E) => Promise<T[]>;
  isLast?: (item: T) => boolean;
}): AsyncIterable<T> {
  return new Repeater<T>(async (push, stop) => {
    const events = o.live[Symbol.asyncIterator]();
    let nextEvent = events.next();
    const stopped = stop.then(() => null);
    const emit = async (items: T[]) => {
      for (const item of items) {
        await push(item);
        if (o.isLast?.(item)) return true;
      }
      return false;
    };
    try {
      if (await emit(await o.replay())) return;
      for (;;) {
        const event = await Promise.race([nextEvent, stopped]);
        if (!event || event.done) return;
        nextEvent = events.next();
        if (await emit(await o.follow(event.value))) return;
      }
    } catch (error) {
      stop(error);
    } finally {
      stop();
      await events.return?.();
    }
  });
}
