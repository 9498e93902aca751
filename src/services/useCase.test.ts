import { describe, expect, it } from 'vitest';
import type { App } from './app.js';
import type { Attempt } from './attempts.js';
import { runUseCase } from './useCase.js';

/** A database whose transactions log when they commit, and events that log when they go out. */
function fakeApp() {
  const log: string[] = [];
  const app = {
    db: {
      transaction: async (work: (tx: unknown) => Promise<unknown>) => {
        const result = await work({});
        log.push('commit');
        return result;
      },
    },
    events: { publish: (topic: string) => log.push(`publish ${topic}`) },
  } as unknown as App;
  return { app, log };
}

describe('runUseCase', () => {
  it('publishes the outbox after the transaction commits, and returns what the use case returned', async () => {
    const { app, log } = fakeApp();
    const result = await runUseCase(app, async (_tx, outbox) => {
      outbox.attemptChanged({ id: 'a1', kind: 'PHONE_SIGN_IN', status: 'CANCELLED', failureReason: 'CANCELLED_BY_USER', expiresAt: new Date() } as Attempt);
      outbox.deviceRevoked('d1');
      log.push('work');
      return 42;
    });
    expect(result).toBe(42);
    expect(log).toEqual(['work', 'commit', 'publish signInAttemptChanged', 'publish deviceRevoked']);
  });

  it('publishes nothing when the use case throws and the transaction rolls back', async () => {
    const { app, log } = fakeApp();
    const failing = runUseCase(app, async (_tx, outbox) => {
      outbox.challenge('u1', 'c1');
      throw new Error('refused');
    });
    await expect(failing).rejects.toThrow('refused');
    expect(log).toEqual([]);
  });
});
