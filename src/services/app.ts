import type { Logger } from 'pino';
import type { Config } from '../config.js';
import type { Database } from '../db/client.js';
import type { Clock } from '../domain/clock.js';
import type { Events } from '../realtime/events.js';
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
  tokens: TokenService;
}
