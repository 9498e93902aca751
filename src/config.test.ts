import { availableParallelism } from 'node:os';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from './config.js';

describe('loadConfig', () => {
  it('has working defaults for a new user', () => {
    expect(loadConfig({})).toMatchObject({
      port: 4000,
      publicUrl: undefined,
      databaseUrl: undefined,
      dataDir: './data',
      redisUrl: undefined,
      operatorToken: undefined,
      logLevel: 'info',
      trustedProxies: [],
      wsMaxConnectionsPerIp: 50,
      wsMaxConnectionsPerDevice: 5,
      wsMaxSubscriptionsPerSocket: 20,
      workers: 1,
      shutdownGraceMs: 10_000,
      production: false,
      allowedOrigins: undefined,
      rateLimits: { signInPerIp: 30, signInPerAccount: 100, activationPerIp: 10, devicePerIp: 600, devicePerDevice: 120, refusedConnectsPerIp: 20 },
    });
  });

  it('runs several workers only where live events and the database reach every process', () => {
    const shared = { DATABASE_URL: 'postgres://db/x', REDIS_URL: 'redis://cache' };
    expect(loadConfig({ ...shared, WORKERS: '3' }).workers).toBe(3);
    expect(loadConfig({ ...shared, WORKERS: 'auto' }).workers).toBe(Math.min(availableParallelism(), 64));
    const problem = (env: Record<string, string>) => {
      try {
        loadConfig(env);
      } catch (error) {
        return (error as ConfigError).problems.join('\n');
      }
      return 'no problem';
    };
    expect(problem({ WORKERS: '2' })).toMatch(/WORKERS=2 needs DATABASE_URL: the embedded database lives in one process/);
    expect(problem({ WORKERS: '2', DATABASE_URL: shared.DATABASE_URL })).toMatch(/WORKERS=2 needs REDIS_URL/);
    expect(problem({ ...shared, WORKERS: 'many' })).toMatch(/WORKERS must be "auto" .* got "many"/);
    expect(problem({ ...shared, WORKERS: '0' })).toMatch(/WORKERS must be/);
    // One worker is one process: the embedded database is fine.
    expect(loadConfig({ WORKERS: '1' }).workers).toBe(1);
  });

  it('bounds the shutdown grace period', () => {
    expect(loadConfig({ SHUTDOWN_GRACE_MS: '2500' }).shutdownGraceMs).toBe(2500);
    expect(() => loadConfig({ SHUTDOWN_GRACE_MS: '-1' })).toThrow(/SHUTDOWN_GRACE_MS/);
  });

  it('reads allowed origins and rate limits, refusing origins with a path and limits out of bounds', () => {
    expect(loadConfig({ NODE_ENV: 'production', ALLOWED_ORIGINS: 'https://login.example.com, http://localhost:3000', RATE_LIMIT_SIGN_IN_PER_IP: '500' })).toMatchObject({
      production: true,
      allowedOrigins: ['https://login.example.com', 'http://localhost:3000'],
      rateLimits: { signInPerIp: 500, signInPerAccount: 100 },
    });
    expect(() => loadConfig({ ALLOWED_ORIGINS: 'https://login.example.com/,ftp://x.example,*', RATE_LIMIT_DEVICE_PER_DEVICE: '0' })).toThrow(
      expect.objectContaining({
        problems: [
          expect.stringContaining('"https://login.example.com/"'),
          expect.stringContaining('"ftp://x.example"'),
          expect.stringContaining('"*"'),
          expect.stringContaining('RATE_LIMIT_DEVICE_PER_DEVICE'),
        ],
      }),
    );
  });

  it('reads the WebSocket caps within their bounds', () => {
    expect(loadConfig({ WS_MAX_CONNECTIONS_PER_IP: '500', WS_MAX_SUBSCRIPTIONS_PER_SOCKET: '5' })).toMatchObject({ wsMaxConnectionsPerIp: 500, wsMaxSubscriptionsPerSocket: 5 });
    expect(() => loadConfig({ WS_MAX_CONNECTIONS_PER_IP: '0', WS_MAX_SUBSCRIPTIONS_PER_SOCKET: '1001' })).toThrow(
      expect.objectContaining({ problems: [expect.stringContaining('WS_MAX_CONNECTIONS_PER_IP'), expect.stringContaining('WS_MAX_SUBSCRIPTIONS_PER_SOCKET')] }),
    );
  });

  it('reports every problem at once, naming each variable', () => {
    let error: unknown;
    try {
      loadConfig({ PORT: 'eighty', DATABASE_URL: 'mysql://x', OPERATOR_TOKEN: 'short', LOG_LEVEL: 'loud', TRUSTED_PROXIES: '10.0.0.1,nope' });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const problems = (error as ConfigError).problems.join('\n');
    for (const name of ['PORT', 'DATABASE_URL', 'OPERATOR_TOKEN', 'LOG_LEVEL', 'TRUSTED_PROXIES']) expect(problems).toContain(name);
    expect((error as ConfigError).problems).toHaveLength(5);
  });

  it('trims a trailing slash from PUBLIC_URL', () => {
    expect(loadConfig({ PUBLIC_URL: 'https://id.example.com/' }).publicUrl).toBe('https://id.example.com');
  });
});
