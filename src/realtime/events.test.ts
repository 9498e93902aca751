import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { createEventBus } from './events.js';

describe('the Redis event bus', () => {
  // Fault: Redis is unreachable. The event target publishes and subscribes without awaiting, so
  // each command that ioredis gives up on rejected unhandled and ended the whole process.
  it('logs commands that fail while Redis is away instead of rejecting unhandled', async () => {
    const lines: Array<{ msg: string }> = [];
    const logger = pino({ level: 'warn' }, { write: (line: string) => void lines.push(JSON.parse(line)) });
    // Nothing listens on port 1: every command fails once ioredis stops retrying it.
    const bus = createEventBus('redis://127.0.0.1:1', logger);
    try {
      const subscription = bus.events.subscribe('userChallenge')[Symbol.asyncIterator]();
      void subscription.next();
      bus.events.publish('userChallenge', { userId: 'user-1', challengeId: 'c-1' });
      await expect.poll(() => lines.map((l) => l.msg), { timeout: 10_000 }).toEqual(expect.arrayContaining(['redis publish failed', 'redis subscribe failed']));
      await subscription.return?.();
    } finally {
      await bus.close();
    }
  });
});
