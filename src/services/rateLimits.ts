import { Redis } from 'ioredis';
import { setTimeout as delay } from 'node:timers/promises';
import type { Logger } from 'pino';
import { type RateLimiterAbstract, RateLimiterMemory, RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';
import type { RateLimitSettings } from '../config.js';
import { DomainError } from '../domain/errors.js';

/** Every limit counts calls in fixed windows of this length. */
export const RATE_LIMIT_WINDOW_S = 60;
/** A Redis that does not answer within this is treated as away: the node's own counts decide meanwhile. */
const REDIS_COMMAND_TIMEOUT_MS = 500;
/** How long a starting node waits for its rate-limit Redis before counting on its own. */
const REDIS_READY_WAIT_MS = 2_000;

type Scope = 'ip' | 'account';

/** What each limited operation counts, and how many calls a window allows per key. */
function limitsOf(settings: RateLimitSettings) {
  const signIn = { ip: settings.signInPerIp, account: settings.signInPerAccount };
  return {
    beginSignIn: signIn,
    passwordSignIn: signIn,
    temporaryAccessPassSignIn: signIn,
    activation: { ip: settings.activationPerIp },
    // First-run setup codes: as scarce as activations, from one network.
    setup: { ip: settings.activationPerIp },
    // The "account" of a device assertion is the device, counted once its signature verified.
    deviceAssertion: { ip: settings.devicePerIp, account: settings.devicePerDevice },
    refusedConnect: { ip: settings.refusedConnectsPerIp },
  } satisfies Record<string, Partial<Record<Scope, number>>>;
}

export type LimitedAction = keyof ReturnType<typeof limitsOf>;

const REFUSALS: Record<LimitedAction, Record<Scope, string>> = {
  beginSignIn: { ip: 'Too many sign-ins started from your network', account: 'Too many sign-ins started for this account' },
  passwordSignIn: { ip: 'Too many password sign-ins from your network', account: 'Too many password sign-ins for this account' },
  temporaryAccessPassSignIn: { ip: 'Too many Temporary Access Pass sign-ins from your network', account: 'Too many Temporary Access Pass sign-ins for this account' },
  activation: { ip: 'Too many authenticator activations from your network', account: '' },
  setup: { ip: 'Too many setup attempts from your network', account: '' },
  deviceAssertion: { ip: 'Too many authenticator requests from your network', account: 'Too many requests from this authenticator' },
  refusedConnect: { ip: 'Too many refused connections from your network', account: '' },
};

/** A call refused by a rate limit: nothing was done; the same call succeeds after retryAfterSeconds. */
export class RateLimitedError extends DomainError {
  constructor(
    message: string,
    readonly retryAfterSeconds: number,
  ) {
    super('RATE_LIMITED', `${message}. Try again in ${retryAfterSeconds} second${retryAfterSeconds === 1 ? '' : 's'}.`);
  }
}

/**
 * Rate limits per client IP and per account, counted before a call does any work (or writes any
 * row). With REDIS_URL the counts are shared by every node of the service (keys carry the
 * issuer); while Redis is away each node counts on its own with the same limits, so the gate
 * neither opens nor shuts because of the outage.
 */
export class RateLimits {
  private readonly limiters = new Map<string, { limiter: RateLimiterAbstract; points: number }>();

  private constructor(
    settings: RateLimitSettings,
    issuer: string,
    private readonly logger: Logger,
    private readonly redis: Redis | undefined,
  ) {
    for (const [action, scopes] of Object.entries(limitsOf(settings))) {
      for (const [scope, points] of Object.entries(scopes)) {
        const options = { points, duration: RATE_LIMIT_WINDOW_S };
        const insuranceLimiter = new RateLimiterMemory(options);
        const limiter = redis
          ? new RateLimiterRedis({ ...options, storeClient: redis, keyPrefix: `rl:${issuer}:${action}:${scope}`, rejectIfRedisNotReady: true, insuranceLimiter })
          : insuranceLimiter;
        this.limiters.set(`${action}:${scope}`, { limiter, points });
      }
    }
  }

  /**
   * Waits (at most REDIS_READY_WAIT_MS) for Redis to be ready before the first call is counted:
   * calls counted by the node alone while the connection opens would not be seen by Redis's
   * window, letting a fresh node allow more than the limit.
   */
  static async create(settings: RateLimitSettings, issuer: string, redisUrl: string | undefined, logger: Logger): Promise<RateLimits> {
    // A client of its own: no offline queue, so a call never waits for a Redis that is away.
    const redis = redisUrl ? new Redis(redisUrl, { enableOfflineQueue: false, maxRetriesPerRequest: 1, commandTimeout: REDIS_COMMAND_TIMEOUT_MS }) : undefined;
    redis?.on('error', (err: Error) => logger.warn({ err: err.message }, 'rate-limit redis connection problem; counting on this node meanwhile'));
    if (redis && redis.status !== 'ready') {
      const ready = new Promise<void>((resolve) => redis.once('ready', () => resolve()));
      const waited = await Promise.race([ready.then(() => true), delay(REDIS_READY_WAIT_MS, undefined, { ref: false }).then(() => false)]);
      if (!waited) logger.warn('rate-limit redis not ready at start; counting on this node until it is');
    }
    return new RateLimits(settings, issuer, logger, redis);
  }

  /**
   * Counts one call of `action` against the caller's IP (when given; null is an unknown address)
   * and the account (a user name or a device id, when given); throws RateLimitedError when either
   * is spent. The IP is counted first, so a refused address never spends an account's allowance.
   */
  async consume(action: LimitedAction, keys: { ip?: string | null; account?: string }): Promise<void> {
    if (keys.ip !== undefined) await this.consumeOne(action, 'ip', keys.ip ?? 'unknown');
    if (keys.account !== undefined) await this.consumeOne(action, 'account', keys.account.trim().toLowerCase());
  }

  /** Seconds until a call of `action` from the IP would be allowed again (its allowance is spent); 0 when it would be now. Counts nothing. */
  async retryAfter(action: LimitedAction, ip: string | null): Promise<number> {
    const { limiter, points } = this.limiterOf(action, 'ip');
    const res = await limiter.get(ip ?? 'unknown');
    return res && res.consumedPoints >= points ? seconds(res.msBeforeNext) : 0;
  }

  async close(): Promise<void> {
    this.redis?.disconnect();
  }

  private limiterOf(action: LimitedAction, scope: Scope) {
    const entry = this.limiters.get(`${action}:${scope}`);
    if (!entry) throw new Error(`No ${scope} limit for ${action}`);
    return entry;
  }

  private async consumeOne(action: LimitedAction, scope: Scope, key: string): Promise<void> {
    const { limiter, points } = this.limiterOf(action, scope);
    try {
      await limiter.consume(key);
    } catch (error) {
      if (!(error instanceof RateLimiterRes)) throw error;
      // Logged once a window per key, not once per refused call, so a flood cannot fill the logs.
      if (error.consumedPoints === points + 1) this.logger.warn({ action, scope, key, windowSeconds: RATE_LIMIT_WINDOW_S }, 'rate limit reached');
      throw new RateLimitedError(REFUSALS[action][scope], seconds(error.msBeforeNext));
    }
  }
}

const seconds = (ms: number) => Math.max(1, Math.ceil(ms / 1000));
