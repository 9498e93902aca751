import type { Logger } from 'pino';

/** Who waits for a stream's next item: a promise's settle functions, or an object that is called back. */
export interface LiveReader<T> {
  resolve(result: IteratorResult<T>): void;
  reject(error: unknown): void;
}

/** Makes room for one more key in a memory that keeps at most `max`: the oldest key goes. */
export function forgetOldestBeyond(memory: Set<unknown> | Map<unknown, unknown>, max: number) {
  if (memory.size >= max) memory.delete(memory.keys().next().value);
}

/**
 * Keys a stream remembers having sent: far more than the challenges one phone can have pending
 * (a user has one sign-in at a time, and pushes are rate-limited), so a key forgotten is of an item
 * long over; bounded, so a phone connected for weeks does not grow its stream.
 */
export const SENT_KEYS_MAX = 64;

/**
 * One live subscription: a small async iterator the node's hub pushes into. It holds a queue, one
 * waiting reader and the keys it has sent lately (an item goes out once per key: a challenge once
 * per id, an attempt once per status), and nothing else: no timer, no promise chain of its own.
 */
export class LiveStream<T, S = unknown> implements AsyncIterableIterator<T> {
  private readonly queue: T[] = [];
  private readonly sent = new Set<string>();
  private waiting: LiveReader<T> | undefined;
  private failure: unknown;
  private ended = false;
  private last = false;

  constructor(
    /** Absent for streams whose reader never hands an item twice (the log feeds keep a position instead). */
    private readonly key: ((item: T) => string) | undefined,
    private readonly isLast: ((item: T) => boolean) | undefined,
    /** Called once when the stream ends, however it ends: the hub forgets it (one function for all of a topic's streams). */
    private readonly onEnd: (stream: LiveStream<T, S>) => void,
    /** Whom it delivers to, and under which key of its topic (LiveTopic): no entry object or closure of its own. */
    readonly subscriber?: S,
    readonly topicKey?: string,
  ) {}

  /** Queues the items not sent before; the stream ends after one `isLast` accepts. */
  push(items: T[]) {
    for (const item of items) {
      if (this.ended || this.last) break;
      const key = this.key?.(item);
      if (key !== undefined) {
        if (this.sent.has(key)) continue;
        forgetOldestBeyond(this.sent, SENT_KEYS_MAX);
        this.sent.add(key);
      }
      if (this.isLast?.(item)) this.last = true;
      if (this.waiting) {
        // Called as a method: a reader may be an object (LiveReader), not a promise's functions.
        const reader = this.waiting;
        this.waiting = undefined;
        reader.resolve({ value: item, done: false });
      } else this.queue.push(item);
    }
    if (this.last) this.end();
  }

  /** Ends the stream with an error (its subscriber sees it after what is queued). */
  fail(error: unknown) {
    if (this.ended) return;
    this.failure = error;
    this.end();
  }

  next(): Promise<IteratorResult<T>> {
    return new Promise((resolve, reject) => this.nextTo({ resolve, reject }));
  }

  /**
   * next() without a promise: `reader` is called with the next item (at once if one is queued, or
   * when one comes), the end, or the failure. One reader at a time, as for next(). The lean
   * subscription path (http/leanSubscription.ts) reads this way, so a phone waiting for its next
   * challenge holds no promise and no async frame.
   */
  nextTo(reader: LiveReader<T>): void {
    if (this.queue.length > 0) return reader.resolve({ value: this.queue.shift()!, done: false });
    if (this.failure !== undefined) {
      const error = this.failure;
      this.failure = undefined;
      return reader.reject(error);
    }
    if (this.ended) return reader.resolve({ value: undefined, done: true });
    this.waiting = reader;
  }

  return(): Promise<IteratorResult<T>> {
    this.queue.length = 0;
    this.failure = undefined;
    this.end();
    return Promise.resolve({ value: undefined, done: true });
  }

  [Symbol.asyncIterator]() {
    return this;
  }

  private end() {
    if (this.ended) return;
    this.ended = true;
    this.onEnd(this);
    if (this.waiting && this.queue.length === 0) {
      const reader = this.waiting;
      this.waiting = undefined;
      if (this.failure === undefined) reader.resolve({ value: undefined, done: true });
      else {
        reader.reject(this.failure);
        this.failure = undefined;
      }
    }
  }
}

/** How many keys one catch-up read asks for (`= ANY($1)` with this many ids). */
const CATCH_UP_CHUNK = 1000;
/** A read that failed (the database away) is tried again this often, this many times; then its streams end with the error. */
const READ_RETRY_MS = 1000;
const READ_RETRIES = 5;

/**
 * The local subscribers of one kind of live item on this node, by key (a user, an attempt, a
 * tenant). `read` reads the database once for several keys and delivers to every local
 * subscriber of each: a new subscriber, an event or a catch-up costs one read per node, never one
 * per subscriber. Reads of one key never overlap: events that arrive during a read ask for one more
 * read after it, so a burst of events costs two reads at most and none is missed.
 */
export class LiveTopic<S, T> {
  private readonly subscribers = new Map<string, Set<LiveStream<T, S>>>();
  private readonly reading = new Map<string, { again: boolean }>();

  constructor(
    private readonly options: {
      name: string;
      logger: Logger;
      /**
       * Reads the current items of each key and returns them for each of its subscribers; absent
       * for streams with nothing to replay, whose items come with their events (deliver).
       */
      read?: (keys: string[], subscribersOf: (key: string) => S[]) => Promise<Map<string, Map<S, T[]>>>;
      key?: (item: T) => string;
      isLast?: (item: T) => boolean;
    },
  ) {}

  /** Registers a subscriber, then reads its key: what was there before it registered is replayed, what comes later is pushed. */
  subscribe(key: string, subscriber: S): LiveStream<T, S> {
    const stream = this.register(key, subscriber);
    this.changed(key);
    return stream;
  }

  /**
   * Registers a subscriber whose first items come from `first`, a read its caller makes anyway (to
   * check a secret, say), instead of a read of the topic: one read, not two. Events meanwhile make
   * the key be read once more after it, so nothing older arrives after something newer. `first`
   * answering null drops the subscriber, and null is returned. While the key is being read already,
   * the subscriber is registered as by subscribe, after `first`.
   */
  async subscribeAfter(key: string, subscriber: S, first: () => Promise<T[] | null>): Promise<LiveStream<T, S> | null> {
    if (this.reading.has(key)) {
      const items = await first();
      return items ? this.subscribe(key, subscriber) : null;
    }
    const stream = this.register(key, subscriber);
    const state = { again: false };
    this.reading.set(key, state);
    let items: T[] | null = null;
    try {
      items = await first();
    } finally {
      // Its items go first; an event that came meanwhile then reads the key again, for every subscriber.
      if (items) stream.push(items);
      else void stream.return();
      if (state.again) void this.readLoop([key], state);
      else this.reading.delete(key);
    }
    return items ? stream : null;
  }

  private register(key: string, subscriber: S): LiveStream<T, S> {
    let set = this.subscribers.get(key);
    if (!set) this.subscribers.set(key, (set = new Set()));
    const stream = new LiveStream<T, S>(this.options.key, this.options.isLast, this.forget, subscriber, key);
    set.add(stream);
    return stream;
  }

  /** A stream ended: it leaves its key's subscribers. */
  private readonly forget = (stream: LiveStream<T, S>) => {
    const set = this.subscribers.get(stream.topicKey!);
    if (set?.delete(stream) && set.size === 0) this.subscribers.delete(stream.topicKey!);
  };

  /** Whether any local subscriber follows `key`. */
  has(key: string) {
    return this.subscribers.has(key);
  }

  subscribersOf = (key: string): S[] => [...(this.subscribers.get(key) ?? [])].map((stream) => stream.subscriber!);

  /** Hands each subscriber of each key what was read for it. */
  deliver(found: Map<string, Map<S, T[]>>) {
    for (const [key, items] of found) {
      for (const stream of [...(this.subscribers.get(key) ?? [])]) stream.push(items.get(stream.subscriber!) ?? []);
    }
  }

  /** Something about `key` changed (an event): its local subscribers, if any, get a fresh read. */
  changed(key: string) {
    if (!this.options.read || !this.subscribers.has(key)) return;
    const running = this.reading.get(key);
    if (running) {
      running.again = true;
      return;
    }
    const state = { again: false };
    this.reading.set(key, state);
    void this.readLoop([key], state);
  }

  /**
   * An event that carries the item as it now is: each local subscriber of `key` gets it without a
   * read. While a read of the key is under way (a new subscriber's), that read goes once more
   * instead, so an older read never arrives after the newer item.
   */
  changedTo(key: string, item: T) {
    if (!this.subscribers.has(key)) return;
    const running = this.reading.get(key);
    if (running) {
      running.again = true;
      return;
    }
    for (const stream of [...this.subscribers.get(key)!]) stream.push([item]);
  }

  /** Events may have been lost (the transport was away): every local key is read again, in chunks. */
  async catchUp() {
    if (!this.options.read) return;
    const keys = [...this.subscribers.keys()];
    for (let i = 0; i < keys.length; i += CATCH_UP_CHUNK) {
      const chunk: string[] = [];
      for (const key of keys.slice(i, i + CATCH_UP_CHUNK)) {
        // A read under way may have begun before the loss was noticed: it goes once more.
        const running = this.reading.get(key);
        if (running) running.again = true;
        else chunk.push(key);
      }
      if (chunk.length === 0) continue;
      const state = { again: false };
      for (const key of chunk) this.reading.set(key, state);
      await this.readLoop(chunk, state);
    }
  }

  /** Local subscribers (for tests and metrics). */
  size() {
    let count = 0;
    for (const set of this.subscribers.values()) count += set.size;
    return count;
  }

  private async readLoop(keys: string[], state: { again: boolean }) {
    try {
      do {
        state.again = false;
        await this.readWithRetries(keys);
      } while (state.again);
    } finally {
      for (const key of keys) this.reading.delete(key);
    }
  }

  private async readWithRetries(keys: string[]) {
    for (let attempt = 1; ; attempt++) {
      try {
        this.deliver(await this.options.read!(keys, this.subscribersOf));
        return;
      } catch (error) {
        this.options.logger.warn({ err: error, topic: this.options.name, keys: keys.length, attempt }, 'live read failed');
        if (attempt >= READ_RETRIES) {
          for (const key of keys) for (const stream of [...(this.subscribers.get(key) ?? [])]) stream.fail(error);
          return;
        }
        await new Promise((resolve) => setTimeout(resolve, READ_RETRY_MS).unref());
      }
    }
  }
}
