import { isIP } from 'node:net';
import { availableParallelism } from 'node:os';

export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
const LOG_LEVELS: readonly LogLevel[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

export interface Config {
  port: number;
  host: string;
  /** The token issuer and the base of every URL the service hands out; `http://localhost:<port>` when unset. */
  publicUrl: string | undefined;
  /** postgres.js connection string; PGlite under dataDir when unset. */
  databaseUrl: string | undefined;
  dataDir: string;
  /** Redis for sharing live events between several API nodes; in-process when unset. */
  redisUrl: string | undefined;
  /** Bearer token of the operator API; the operator API is disabled when unset. */
  operatorToken: string | undefined;
  logLevel: LogLevel;
  /** Socket addresses whose X-Forwarded-For header is believed. */
  trustedProxies: string[];
  /** Path of a MaxMind-format (mmdb) city or country database used to place sign-ins. */
  geoIpDatabase: string | undefined;
  /** Lifetime of access tokens. */
  accessTokenTtlSeconds: number;
  /** Open WebSockets one client IP may hold on a node; raise it for offices behind one NAT address. */
  wsMaxConnectionsPerIp: number;
  /** Open WebSockets one authenticator device may hold on a node. */
  wsMaxConnectionsPerDevice: number;
  /** Operations (subscriptions, mostly) one WebSocket may run at once. */
  wsMaxSubscriptionsPerSocket: number;
  /** Bearer token that /metrics asks for; /metrics is open when unset. */
  metricsToken: string | undefined;
  /** Worker processes sharing the port (node:cluster); 1 runs the server in this process. */
  workers: number;
  /** How long a stopping node lets in-flight requests finish before it closes what is left. */
  shutdownGraceMs: number;
  /** How long Postgres may take to connect and to answer one statement before callers are told SERVICE_UNAVAILABLE. */
  databaseTimeouts: { connectTimeoutMs: number; statementTimeoutMs: number };
  /** NODE_ENV=production: introspection only for admins and the operator. */
  production: boolean;
  /** Browser origins allowed to call the API (CORS) and open WebSockets; the origin of the public URL when unset. */
  allowedOrigins: string[] | undefined;
  /** Calls a minute; see SECURITY.md for why per-IP limits are tight and per-account ones generous. */
  rateLimits: RateLimitSettings;
}

/** Calls a minute allowed per key; a call beyond is refused with RATE_LIMITED until the minute ends. */
export interface RateLimitSettings {
  signInPerIp: number;
  signInPerAccount: number;
  activationPerIp: number;
  devicePerIp: number;
  devicePerDevice: number;
  refusedConnectsPerIp: number;
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

const OPERATOR_TOKEN_MIN_LENGTH = 32; // 32 characters of a random token carry well over 128 bits
const MAX_WORKERS = 64;

/**
 * Whether live events reach other processes (other nodes, other workers): the one place to change
 * when another cross-process transport (e.g. Postgres LISTEN/NOTIFY) is added beside Redis.
 */
export function liveEventsCrossProcesses(config: Pick<Config, 'redisUrl' | 'databaseUrl'>): boolean {
  return Boolean(config.redisUrl);
}

/** WORKERS: a number, or `auto` for one worker per CPU. */
function workerCount(raw: string | undefined, problems: string[]): number {
  if (raw === undefined) return 1;
  if (raw === 'auto') return Math.min(availableParallelism(), MAX_WORKERS);
  const value = Number(raw);
  if (/^\d+$/.test(raw) && value >= 1 && value <= MAX_WORKERS) return value;
  problems.push(`WORKERS must be "auto" (one per CPU) or a whole number from 1 to ${MAX_WORKERS}, got "${raw}".`);
  return 1;
}

/** Reads the configuration from an environment, reporting every problem at once. */
export function loadConfig(env: Record<string, string | undefined>): Config {
  const problems: string[] = [];
  const text = (name: string) => {
    const value = env[name]?.trim();
    return value === '' ? undefined : value;
  };
  const integer = (name: string, fallback: number, min: number, max: number) => {
    const raw = text(name);
    if (raw === undefined) return fallback;
    const value = Number(raw);
    if (!/^\d+$/.test(raw) || value < min || value > max) {
      problems.push(`${name} must be a whole number from ${min} to ${max}, got "${raw}".`);
      return fallback;
    }
    return value;
  };
  const url = (name: string, protocols: string[]) => {
    const raw = text(name);
    if (raw === undefined) return undefined;
    try {
      const parsed = new URL(raw);
      if (!protocols.includes(parsed.protocol)) {
        problems.push(`${name} must be a ${protocols.join(' or ')} URL, got "${parsed.protocol}".`);
      }
    } catch {
      problems.push(`${name} must be a URL, got something that does not parse.`);
    }
    return raw;
  };

  const port = integer('PORT', 4000, 0, 65535);
  const host = text('HOST') ?? '0.0.0.0';
  const publicUrl = url('PUBLIC_URL', ['http:', 'https:'])?.replace(/\/+$/, '');
  const databaseUrl = url('DATABASE_URL', ['postgres:', 'postgresql:']);
  const redisUrl = url('REDIS_URL', ['redis:', 'rediss:']);
  const operatorToken = text('OPERATOR_TOKEN');
  if (operatorToken !== undefined && operatorToken.length < OPERATOR_TOKEN_MIN_LENGTH) {
    problems.push(`OPERATOR_TOKEN must be at least ${OPERATOR_TOKEN_MIN_LENGTH} characters; generate one with "openssl rand -hex 32".`);
  }
  const logLevel = (text('LOG_LEVEL') ?? 'info') as LogLevel;
  if (!LOG_LEVELS.includes(logLevel)) {
    problems.push(`LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')}, got "${logLevel}".`);
  }
  const trustedProxies = (text('TRUSTED_PROXIES') ?? '').split(',').map((s) => s.trim()).filter(Boolean);
  for (const proxy of trustedProxies) {
    if (isIP(proxy) === 0) problems.push(`TRUSTED_PROXIES must list IP addresses, got "${proxy}".`);
  }
  const accessTokenTtlSeconds = integer('ACCESS_TOKEN_TTL_SECONDS', 3600, 60, 86400);
  // A browser tab or a phone holds one socket; 50 leaves room for a household or a small office.
  const wsMaxConnectionsPerIp = integer('WS_MAX_CONNECTIONS_PER_IP', 50, 1, 100_000);
  // An authenticator keeps one socket; a few more cover reconnects that overlap the old one.
  const wsMaxConnectionsPerDevice = integer('WS_MAX_CONNECTIONS_PER_DEVICE', 5, 1, 100_000);
  // Our clients follow a handful of things at once (an attempt, the challenges, alerts).
  const wsMaxSubscriptionsPerSocket = integer('WS_MAX_SUBSCRIPTIONS_PER_SOCKET', 20, 1, 1000);
  const workers = workerCount(text('WORKERS'), problems);
  if (workers > 1 && !databaseUrl) {
    problems.push(`WORKERS=${workers} needs DATABASE_URL: the embedded database lives in one process. Set DATABASE_URL and REDIS_URL, or WORKERS=1.`);
  } else if (workers > 1 && !liveEventsCrossProcesses({ redisUrl, databaseUrl })) {
    problems.push(`WORKERS=${workers} needs REDIS_URL: live events (pushes to phones) must reach every worker. Set REDIS_URL, or WORKERS=1.`);
  }
  // Long enough for a slow sign-in request; short of the 30 s after which Docker and Kubernetes kill.
  const shutdownGraceMs = integer('SHUTDOWN_GRACE_MS', 10_000, 0, 600_000);

  // A person waiting on a sign-in page is told within seconds; no statement of ours runs for long.
  const databaseTimeouts = {
    connectTimeoutMs: integer('DB_CONNECT_TIMEOUT_MS', 5000, 100, 600_000),
    statementTimeoutMs: integer('DB_STATEMENT_TIMEOUT_MS', 5000, 100, 600_000),
  };

  const allowedOrigins = text('ALLOWED_ORIGINS')?.split(',').map((s) => s.trim()).filter(Boolean);
  for (const origin of allowedOrigins ?? []) {
    // An origin is scheme://host[:port] exactly as browsers send it: no path, no trailing slash.
    let parsed: URL | undefined;
    try {
      parsed = new URL(origin);
    } catch {}
    if (!parsed || !['http:', 'https:'].includes(parsed.protocol) || parsed.origin !== origin) {
      problems.push(`ALLOWED_ORIGINS must list origins like "https://login.example.com" (scheme, host, port; no path), got "${origin}".`);
    }
  }
  const rateLimits: RateLimitSettings = {
    // Tight per address: a person signs in a few times a minute at most; raise for offices behind one NAT address.
    signInPerIp: integer('RATE_LIMIT_SIGN_IN_PER_IP', 30, 1, 1_000_000),
    // Generous per account, so strangers spending it cannot keep the real user out (lockout counts wrong passwords).
    signInPerAccount: integer('RATE_LIMIT_SIGN_IN_PER_ACCOUNT', 100, 1, 1_000_000),
    // Activating a phone is a once-a-device event; a code is 128 bits, so this only stops floods.
    activationPerIp: integer('RATE_LIMIT_ACTIVATION_PER_IP', 10, 1, 1_000_000),
    // Every authenticator request carries a device assertion; phones behind one address share this.
    devicePerIp: integer('RATE_LIMIT_DEVICE_PER_IP', 600, 1, 1_000_000),
    devicePerDevice: integer('RATE_LIMIT_DEVICE_PER_DEVICE', 120, 1, 1_000_000),
    // Refused WebSocket connection_inits before the address's upgrades are refused with 429 for the minute.
    refusedConnectsPerIp: integer('RATE_LIMIT_REFUSED_CONNECTS_PER_IP', 20, 1, 1_000_000),
  };

  if (problems.length > 0) throw new ConfigError(problems);
  return {
    port,
    host,
    publicUrl,
    databaseUrl,
    dataDir: text('DATA_DIR') ?? './data',
    redisUrl,
    operatorToken,
    logLevel,
    trustedProxies,
    geoIpDatabase: text('GEOIP_DATABASE'),
    accessTokenTtlSeconds,
    wsMaxConnectionsPerIp,
    wsMaxConnectionsPerDevice,
    wsMaxSubscriptionsPerSocket,
    metricsToken: text('METRICS_TOKEN'),
    workers,
    shutdownGraceMs,
    databaseTimeouts,
    production: text('NODE_ENV') === 'production',
    allowedOrigins,
    rateLimits,
  };
}
