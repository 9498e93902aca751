import { CloseCode, type Client, createClient } from 'graphql-ws';
import { ApiError } from './graphql.js';
import type { AuthenticatorApp, PhoneSignInChallenge } from './client.js';

/** connecting: before the first socket; live: subscribed; polling: socket down, asking every pollIntervalMs; stopped. */
export type FeedState = 'connecting' | 'live' | 'polling' | 'stopped';

export interface ListenOptions {
  /** Called once per challenge id, however often the service (re)sends it. */
  onChallenge(challenge: PhoneSignInChallenge): void;
  /** Connection changes, for a status line. */
  onState?(state: FeedState): void;
  /** The service refused this device (removed, or its assertions rejected): the feed has stopped. */
  onError?(error: FeedRefusedError): void;
  /** While the socket is down, how often to ask for pending challenges. Default 10 s. */
  pollIntervalMs?: number;
  /** How often to ping the service; a socket without a pong within pongTimeoutMs is replaced. Default 15 s. */
  keepAliveMs?: number;
  /** Default 5 s. */
  pongTimeoutMs?: number;
}

export interface ChallengeFeed {
  readonly state: FeedState;
  /** Closes the socket and stops polling. */
  stop(): Promise<void>;
}

/** Why the feed gave up; `code` is the WebSocket close code or the API's error code. */
export class FeedRefusedError extends Error {
  override name = 'FeedRefusedError';
  constructor(
    message: string,
    readonly code: string | number | undefined,
  ) {
    super(message);
  }
}

const POLL_INTERVAL_MS = 10_000;
const KEEP_ALIVE_MS = 15_000;
const PONG_TIMEOUT_MS = 5_000;
/** Reconnect backoff: 1 s doubling to 30 s, each wait jittered so a restarted service is not hit by every phone at once. */
const RETRY_BASE_MS = 1_000;
const RETRY_MAX_MS = 30_000;
/** Ids are remembered this long past their challenge's expiry, so a late replay is still recognised. */
const REMEMBER_AFTER_EXPIRY_MS = 10 * 60_000;
/** Close codes after which reconnecting cannot help: the device was refused or removed. */
const REFUSED_CLOSE_CODES: number[] = [CloseCode.Unauthorized, CloseCode.Forbidden];
const REFUSED_API_CODES = ['UNAUTHENTICATED', 'FORBIDDEN'];

const CHALLENGES = 'subscription { phoneSignInChallenges { id kind nonce userPrincipalName appName location ipAddress expiresAt numberChoices } }';

const backoff = (retries: number) => Math.min(RETRY_MAX_MS, RETRY_BASE_MS * 2 ** retries) * (0.5 + Math.random() / 2);
const closeCode = (event: unknown) => (event && typeof event === 'object' && 'code' in event && typeof event.code === 'number' ? event.code : undefined);
const closeReason = (event: unknown) => (event && typeof event === 'object' && 'reason' in event && typeof event.reason === 'string' ? event.reason : '');

/** See AuthenticatorApp.listen. */
export function listenForChallenges(app: AuthenticatorApp, options: ListenOptions): ChallengeFeed {
  const webSocketImpl = app.options.webSocketImpl ?? (globalThis as { WebSocket?: unknown }).WebSocket;
  if (!webSocketImpl) throw new Error('No WebSocket implementation here (Node 20 has none): pass webSocketImpl, e.g. the `ws` package\'s WebSocket.');
  const now = () => (app.options.now?.() ?? new Date()).getTime();
  const pollIntervalMs = options.pollIntervalMs ?? POLL_INTERVAL_MS;
  const seen = new Map<string, number>();
  let state: FeedState = 'connecting';
  let pollTimer: ReturnType<typeof setTimeout> | undefined;
  let pongTimer: ReturnType<typeof setTimeout> | undefined;
  let resubscribeTimer: ReturnType<typeof setTimeout> | undefined;
  let unsubscribe = () => {};

  const setState = (next: FeedState) => {
    if (state === next || state === 'stopped') return;
    state = next;
    options.onState?.(next);
  };

  const deliver = (challenge: PhoneSignInChallenge) => {
    if (state === 'stopped') return;
    for (const [id, forgetAt] of seen) if (forgetAt < now()) seen.delete(id);
    if (seen.has(challenge.id)) return;
    seen.set(challenge.id, Date.parse(challenge.expiresAt) + REMEMBER_AFTER_EXPIRY_MS);
    options.onChallenge(challenge);
  };

  const refuse = (error: FeedRefusedError) => {
    if (state === 'stopped') return;
    void feed.stop();
    options.onError?.(error);
  };

  const poll = async () => {
    pollTimer = undefined;
    try {
      for (const challenge of await app.pendingChallenges()) deliver(challenge);
    } catch (error) {
      if (error instanceof ApiError && error.code && REFUSED_API_CODES.includes(error.code)) return refuse(new FeedRefusedError(error.message, error.code));
      // The service is unreachable too: try again at the next tick.
    }
    if (state === 'polling') pollTimer = setTimeout(poll, pollIntervalMs);
  };

  const startPolling = () => {
    if (state === 'stopped') return;
    setState('polling');
    // The first poll jittered over one interval, so phones that lost a restarted service do not poll in step.
    pollTimer ??= setTimeout(poll, Math.random() * pollIntervalMs);
  };

  const client: Client = createClient({
    url: app.endpoint.replace(/^http/, 'ws'),
    webSocketImpl,
    // A fresh assertion for every connection: each is accepted once.
    connectionParams: async () => ({ authorization: await app.authorization() }),
    retryAttempts: Number.POSITIVE_INFINITY,
    shouldRetry: (event) => !REFUSED_CLOSE_CODES.includes(closeCode(event) ?? 0),
    retryWait: (retries) => new Promise((resolve) => setTimeout(resolve, backoff(retries))),
    keepAlive: options.keepAliveMs ?? KEEP_ALIVE_MS,
    on: {
      connected: () => {
        clearTimeout(pollTimer);
        pollTimer = undefined;
        setState('live');
        app.liveSocket = client;
      },
      closed: () => {
        clearTimeout(pongTimer);
        if (app.liveSocket === client) app.liveSocket = undefined;
        startPolling();
      },
      // A socket that stopped answering (a phone that changed networks) is replaced, not waited on.
      ping: (received) => {
        if (!received) pongTimer = setTimeout(() => client.terminate(), options.pongTimeoutMs ?? PONG_TIMEOUT_MS);
      },
      pong: (received) => {
        if (received) clearTimeout(pongTimer);
      },
    },
  });

  const subscribe = (attempt: number) => {
    unsubscribe = client.subscribe<{ phoneSignInChallenges: PhoneSignInChallenge }>(
      { query: CHALLENGES },
      {
        next: (event) => {
          if (event.data) deliver(event.data.phoneSignInChallenges);
          const refused = event.errors?.find((error) => REFUSED_API_CODES.includes(String(error.extensions?.code)));
          if (refused) refuse(new FeedRefusedError(refused.message, String(refused.extensions?.code)));
        },
        error: (error) => {
          const code = closeCode(error);
          if (code !== undefined && REFUSED_CLOSE_CODES.includes(code)) return refuse(new FeedRefusedError(closeReason(error) || `The service closed the connection (${code}).`, code));
          const refused = Array.isArray(error) ? error.find((e) => REFUSED_API_CODES.includes(String(e?.extensions?.code))) : undefined;
          if (refused) return refuse(new FeedRefusedError(refused.message, String(refused.extensions.code)));
          resubscribeLater(attempt);
        },
        complete: () => resubscribeLater(attempt),
      },
    );
  };

  // The subscription ended without a refusal (a limit, a restart that completed it): poll meanwhile, then subscribe again.
  const resubscribeLater = (attempt: number) => {
    if (state === 'stopped') return;
    startPolling();
    resubscribeTimer = setTimeout(() => subscribe(attempt + 1), backoff(attempt));
  };

  const feed: ChallengeFeed = {
    get state() {
      return state;
    },
    async stop() {
      if (state === 'stopped') return;
      setState('stopped');
      if (app.liveSocket === client) app.liveSocket = undefined;
      for (const timer of [pollTimer, pongTimer, resubscribeTimer]) clearTimeout(timer);
      unsubscribe();
      // A connection attempt abandoned by the unsubscribe rejects dispose with its close event: nothing was open.
      try {
        await client.dispose();
      } catch (error) {
        if (closeCode(error) === undefined) throw error;
      }
    },
  };
  subscribe(0);
  return feed;
}
