import type { Logger } from 'pino';
import type { Config } from '../config.js';
import type { Database } from '../db/client.js';
import type { Clock } from '../domain/clock.js';
import type { Metrics } from '../metrics.js';
import type { Events } from '../realtime/events.js';
import type { ImportedKeyCache } from './keyCache.js';
import type { RateLimits } from './rateLimits.js';
import type { RefusalAudit } from './refusalAudit.js';
import type { LiveHub } from './liveHub.js';
import type { TokenService } from './tokens.js';

/** What every use case may reach: built once per server and shared by all requests. */
export interface App {
  config: Config;
  /** The public base URL; the `iss` of tokens and the `aud` of signed messages. */
  issuer: string;
  db: Database;
  clock: Clock;
  events: Events;
  logger: Logger;
  /** Prometheus counters of this server; recording is an increment, never a query. */
  metrics: Metrics;
  tokens: TokenService;
  /** Registered device and credential keys, imported once and kept for later signed messages. */
  importedKeys: ImportedKeyCache;
  /** Rate limits per client IP and account, shared by every node through Redis when configured. */
  rateLimits: RateLimits;
  /** Audits repeated refusals of one source as one row a window, with a count. */
  refusalAudit: RefusalAudit;
  /** This node's live subscriptions (see liveHub.ts). */
  live: LiveHub;
  /** Waits in real time (the clock above may be a test's hand-moved one); see beginSignIn's answer floor. */
  sleep(ms: number): Promise<void>;
}
