import { Repeater } from 'graphql-yoga';
import { describe, expect, it, vi } from 'vitest';
import { type Ticker, replayThenFollow } from './live.js';

/** Re-read ticks fired by the test, and whether the stream let go of its timer. */
function handTicker() {
  const waiting: Array<() => void> = [];
  let aborted = false;
  const ticker: Ticker = (signal) =>
    new Promise<void>((resolve, reject) => {
      waiting.push(resolve);
      signal.addEventListener('abort', () => {
        aborted = true;
        reject(signal.reason);
      });
    });
  return { ticker, fire: () => waiting.shift()?.(), waiting: () => waiting.length, aborted: () => aborted };
}

/** A live event source the test publishes to by hand. */
function handEvents() {
  let publish: (event: string) => Promise<unknown> = async () => {};
  const live = new Repeater<string>(async (push, stop) => {
    publish = push;
    await stop;
  });
  return { live, publish: (event: string) => publish(event) };
}

describe('replayThenFollow', () => {
  it('re-reads on every tick, sends a status only when it changes, and ends on the last one', async () => {
    const state = { status: 'PENDING' };
    let reads = 0;
    const read = async () => {
      reads++;
      return [{ ...state }];
    };
    const ticks = handTicker();
    const events = handEvents();
    const stream = replayThenFollow({
      live: events.live,
      replay: read,
      follow: read,
      key: (item) => item.status,
      isLast: (item) => item.status === 'COMPLETED',
      resync: ticks.ticker,
    })[Symbol.asyncIterator]();

    expect(await stream.next()).toEqual({ done: false, value: { status: 'PENDING' } });
    // The client waits for the next item (the stream reads only while someone is listening).
    const next = stream.next();
    await vi.waitFor(() => expect(ticks.waiting()).toBe(1));
    ticks.fire();
    await vi.waitFor(() => expect(reads).toBe(2));
    await vi.waitFor(() => expect(ticks.waiting()).toBe(1));
    ticks.fire();
    await vi.waitFor(() => expect(reads).toBe(3));
    // Nothing was published: the change is found by the next re-read, and it is the next item.
    state.status = 'APPROVED';
    await vi.waitFor(() => expect(ticks.waiting()).toBe(1));
    ticks.fire();
    expect(await next).toEqual({ done: false, value: { status: 'APPROVED' } });
    state.status = 'COMPLETED';
    void events.publish('changed');
    expect(await stream.next()).toEqual({ done: false, value: { status: 'COMPLETED' } });
    expect(await stream.next()).toEqual({ done: true, value: undefined });
    expect(ticks.aborted()).toBe(true);
  });

  it('never re-reads without a ticker, and lets go of its timer when the client leaves', async () => {
    let reads = 0;
    const events = handEvents();
    const ticks = handTicker();
    const stream = replayThenFollow({
      live: events.live,
      replay: async () => [`read ${++reads}`],
      follow: async (event: string) => [event],
      key: (item) => item,
      resync: ticks.ticker,
    })[Symbol.asyncIterator]();
    expect((await stream.next()).value).toBe('read 1');
    void events.publish('event');
    expect((await stream.next()).value).toBe('event');
    await stream.return?.();
    expect(ticks.aborted()).toBe(true);
  });
});
