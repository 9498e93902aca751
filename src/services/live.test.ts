import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { LiveStream, LiveTopic, SENT_KEYS_MAX } from './live.js';

const logger = pino({ level: 'silent' });

/** A read the test answers by hand, recording which keys each call asked for. */
function handRead() {
  const calls: Array<{ keys: string[]; answer: (items: Record<string, string[]>) => void }> = [];
  const read = (keys: string[], subscribersOf: (key: string) => object[]) =>
    new Promise<Map<string, Map<object, string[]>>>((resolve) => {
      calls.push({
        keys,
        answer: (items) => resolve(new Map(keys.map((key) => [key, new Map(subscribersOf(key).map((s) => [s, items[key] ?? []]))]))),
      });
    });
  return { read, calls };
}

const take = async (stream: AsyncIterator<string>, n: number) => {
  const items: string[] = [];
  for (let i = 0; i < n; i++) items.push((await stream.next()).value);
  return items;
};

describe('LiveStream', () => {
  it('sends each key once, ends after the last item, and tells its owner once', async () => {
    let ended = 0;
    const stream = new LiveStream<string>((s) => s, (s) => s === 'DONE', () => ended++);
    const first = stream.next();
    stream.push(['a', 'a', 'b']);
    stream.push(['b', 'DONE', 'c']);
    expect(await first).toEqual({ value: 'a', done: false });
    expect(await take(stream, 2)).toEqual(['b', 'DONE']);
    expect(await stream.next()).toEqual({ value: undefined, done: true });
    await stream.return();
    expect(ended).toBe(1);
  });

  it('remembers the keys it sent lately, not every key since it began', async () => {
    const stream = new LiveStream<string>((s) => s, undefined, () => {});
    const keys = Array.from({ length: SENT_KEYS_MAX + 1 }, (_, i) => `challenge-${i}`);
    stream.push(keys);
    expect(await take(stream, keys.length)).toEqual(keys);
    // The newest are still known and not sent again; the oldest was forgotten, so it goes out again.
    stream.push([keys.at(-1)!, keys[1]!, keys[0]!, 'next']);
    expect(await take(stream, 1)).toEqual([keys[0]]);
    expect(await take(stream, 1)).toEqual(['next']);
  });

  it('rejects a waiting reader with the error it fails with', async () => {
    const stream = new LiveStream<string>((s) => s, undefined, () => {});
    const waiting = stream.next();
    stream.fail(new Error('database away'));
    await expect(waiting).rejects.toThrow('database away');
    expect(await stream.next()).toEqual({ value: undefined, done: true });
  });
});

describe('LiveTopic', () => {
  it('reads once per key for all its subscribers, and once more for events during a read', async () => {
    const { read, calls } = handRead();
    const topic = new LiveTopic<object, string>({ name: 't', logger, read, key: (s) => s });
    const one = topic.subscribe('user-1', {});
    const two = topic.subscribe('user-1', {});
    // The second subscriber came during the first read: one more read follows, for both.
    expect(calls.map((c) => c.keys)).toEqual([['user-1']]);
    topic.changed('user-1');
    topic.changed('user-1');
    topic.changed('user-2');
    calls[0]!.answer({ 'user-1': ['c-1'] });
    await expect.poll(() => calls.length).toBe(2);
    calls[1]!.answer({ 'user-1': ['c-1', 'c-2'] });
    expect(await take(one, 2)).toEqual(['c-1', 'c-2']);
    expect(await take(two, 2)).toEqual(['c-1', 'c-2']);
    expect(calls).toHaveLength(2);
  });

  it('catches up every local key in one read, and forgets ended subscribers', async () => {
    const { read, calls } = handRead();
    const topic = new LiveTopic<object, string>({ name: 't', logger, read, key: (s) => s });
    const a = topic.subscribe('a', {});
    const b = topic.subscribe('b', {});
    const gone = topic.subscribe('gone', {});
    for (const call of calls.splice(0)) call.answer({});
    await gone.return();
    await expect.poll(() => topic.size()).toBe(2);
    const caughtUp = topic.catchUp();
    await expect.poll(() => calls.length).toBe(1);
    expect(calls[0]!.keys).toEqual(['a', 'b']);
    calls[0]!.answer({ a: ['x'], b: ['y'] });
    await caughtUp;
    expect(await take(a, 1)).toEqual(['x']);
    expect(await take(b, 1)).toEqual(['y']);
  });

  it('tells subscribers an event\'s item without a read, unless a read of the key is under way', async () => {
    const { read, calls } = handRead();
    const topic = new LiveTopic<object, string>({ name: 't', logger, read, key: (s) => s });
    const one = topic.subscribe('a', {});
    topic.changedTo('a', 'APPROVED');
    // A read was under way: it goes once more rather than letting its older answer come last.
    calls[0]!.answer({ a: ['PENDING'] });
    await expect.poll(() => calls.length).toBe(2);
    calls[1]!.answer({ a: ['APPROVED'] });
    expect(await take(one, 2)).toEqual(['PENDING', 'APPROVED']);
    topic.changedTo('a', 'COMPLETED');
    topic.changedTo('nobody', 'COMPLETED');
    expect(await take(one, 1)).toEqual(['COMPLETED']);
    expect(calls).toHaveLength(2);
  });

  it('subscribes after its caller\'s own read, reading again only for an event that came during it', async () => {
    const { read, calls } = handRead();
    const topic = new LiveTopic<object, string>({ name: 't', logger, read, key: (s) => s });
    const quiet = await topic.subscribeAfter('a', {}, async () => ['PENDING']);
    expect(await take(quiet!, 1)).toEqual(['PENDING']);
    expect(calls).toHaveLength(0);

    let answerFirst!: (items: string[] | null) => void;
    const subscribing = topic.subscribeAfter('b', {}, () => new Promise((resolve) => (answerFirst = resolve)));
    topic.changedTo('b', 'APPROVED');
    answerFirst(['PENDING']);
    const stream = (await subscribing)!;
    await expect.poll(() => calls.length).toBe(1);
    calls[0]!.answer({ b: ['APPROVED'] });
    expect(await take(stream, 2)).toEqual(['PENDING', 'APPROVED']);

    expect(await topic.subscribeAfter('c', {}, async () => null)).toBeNull();
    expect(topic.has('c')).toBe(false);
    await expect(topic.subscribeAfter('d', {}, async () => Promise.reject(new Error('database away')))).rejects.toThrow('database away');
    expect(topic.has('d')).toBe(false);
  });
});
