import { randomBytes } from 'node:crypto';
import { createClient, type Client } from 'graphql-ws';
import { createThrowawayDatabase } from './support/throwawayDatabase.js';
import WebSocket from 'ws';
import { loadConfig } from '../src/config.js';
import type { Clock } from '../src/domain/clock.js';
import { createLogger } from '../src/logger.js';
import { type RunningServer, type ServerOptions, startServer } from '../src/server.js';

/** A clock tests move by hand, so expiry and lockout are tested without sleeping. */
export class ManualClock implements Clock {
  private current = Date.now();
  private runningSince: number | undefined;
  now = () => new Date(this.current + (this.runningSince === undefined ? 0 : Date.now() - this.runningSince));
  advance(seconds: number) {
    this.current += seconds * 1000;
  }
  /** From now on time passes as on the system clock: browser tests, where the page signs with the real time. */
  run() {
    this.current = Date.now();
    this.runningSince = this.current;
  }
}

export interface GraphQLResponse<T = any> {
  status: number;
  data?: T;
  errors?: Array<{ message: string; extensions?: { code?: string } }>;
}

export interface TestServer {
  url: string;
  /** The Postgres database of this server, when running on Postgres (shared by extra nodes). */
  databaseUrl?: string;
  server: RunningServer;
  clock: ManualClock;
  operatorToken: string;
  /** POST a GraphQL operation; `auth` is the whole Authorization value or a bearer token; `headers` are sent as well. */
  gql<T = any>(query: string, variables?: Record<string, unknown>, auth?: string, headers?: Record<string, string>): Promise<GraphQLResponse<T>>;
  /** A graphql-ws client on the same server; `authorization` goes in connection_init. */
  ws(authorization?: string): Client;
  stop(): Promise<void>;
}

/** The per-IP and per-account rate limits lifted: a test's calls all come from one address. */
export const RATE_LIMITS_OFF = Object.fromEntries(
  ['SIGN_IN_PER_IP', 'SIGN_IN_PER_ACCOUNT', 'ACTIVATION_PER_IP', 'DEVICE_PER_IP', 'DEVICE_PER_DEVICE', 'REFUSED_CONNECTS_PER_IP'].map((name) => [`RATE_LIMIT_${name}`, '1000000']),
);

const bearer = (auth?: string) => (auth === undefined ? undefined : /^(Bearer|Device) /.test(auth) ? auth : `Bearer ${auth}`);

/**
 * The real server on a free port, on a database of its own: a fresh in-memory PGlite, or a fresh
 * database on the Postgres of DATABASE_URL (dropped afterwards). REDIS_URL is used when set.
 * With `nodeOf`, another API node on the same Postgres database, clock and operator token.
 */
export async function startTestServer(
  env: Record<string, string> = {},
  options: {
    nodeOf?: TestServer;
    server?: Pick<ServerOptions, 'sleep' | 'maintenanceIntervalMs' | 'heartbeatTickMs'>;
    /** Where the server reaches its database, given the real URL (e.g. through a test's TCP proxy). */
    databaseVia?: (url: string) => string;
  } = {},
): Promise<TestServer> {
  const operatorToken = options.nodeOf?.operatorToken ?? randomBytes(32).toString('hex');
  const clock = options.nodeOf?.clock ?? new ManualClock();
  let databaseUrl = options.nodeOf?.databaseUrl;
  let dropDatabase = async () => {};
  if (process.env.DATABASE_URL && !options.nodeOf) {
    const database = await createThrowawayDatabase(process.env.DATABASE_URL, 'test');
    databaseUrl = database.url;
    dropDatabase = database.drop;
  }
  const config = loadConfig({
    PORT: '0',
    HOST: '127.0.0.1',
    OPERATOR_TOKEN: operatorToken,
    DATA_DIR: 'memory://',
    LOG_LEVEL: 'silent',
    DATABASE_URL: databaseUrl && options.databaseVia ? options.databaseVia(databaseUrl) : databaseUrl,
    REDIS_URL: process.env.REDIS_URL,
    // Every test calls from 127.0.0.1 within seconds: rate limits only where a test sets them.
    ...RATE_LIMITS_OFF,
    ...env,
  });
  const server = await startServer(config, { clock, logger: createLogger((process.env.TEST_LOG_LEVEL as 'silent') ?? 'silent'), maintenanceIntervalMs: null, ...options.server }).catch(
    async (error: unknown) => {
      await dropDatabase();
      throw error;
    },
  );
  const clients: Client[] = [];
  return {
    url: server.url,
    databaseUrl,
    server,
    clock,
    operatorToken,
    async gql(query, variables, auth, headers) {
      const authorization = bearer(auth);
      const response = await fetch(`${server.url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/json', ...headers, ...(authorization ? { authorization } : {}) },
        body: JSON.stringify({ query, variables }),
      });
      return { status: response.status, ...((await response.json()) as object) };
    },
    ws(authorization) {
      const client = createClient({
        url: `${server.url.replace(/^http/, 'ws')}/graphql`,
        webSocketImpl: WebSocket,
        connectionParams: authorization ? { authorization: bearer(authorization) } : undefined,
        retryAttempts: 0,
        lazy: true,
      });
      clients.push(client);
      return client;
    },
    async stop() {
      await Promise.all(clients.map((c) => c.dispose()));
      await server.stop();
      await dropDatabase();
    },
  };
}

/**
 * Creates a tenant through the operator API and signs its first admin in. The password alone
 * gives an admin a session that may only register a second factor, so the admin's token is one
 * with a second factor, made directly (set-up, not under test: test/adminMfa.test.ts signs an
 * admin in for real).
 */
export async function createTenant(t: TestServer, domain = `t${randomBytes(4).toString('hex')}.example.com`) {
  const adminUserPrincipalName = `admin@${domain}`;
  const adminPassword = 'correct horse battery staple';
  const created = await t.gql(
    `mutation($input: CreateTenantInput!) { createTenant(input: $input) { __typename ... on CreateTenantPayload { tenant { id } admin { id } } ... on Error { code message } } }`,
    { input: { name: 'Contoso', domain, adminUserPrincipalName, adminPassword } },
    t.operatorToken,
  );
  const data = created.data?.createTenant;
  if (!data) throw new Error(`createTenant failed: ${JSON.stringify(created)}`);
  await signIn(t, adminUserPrincipalName, adminPassword);
  const adminToken = await adminSession(t, { tenantId: data.tenant.id, userId: data.admin.id });
  return { tenantId: data.tenant.id as string, adminId: data.admin.id as string, domain, adminToken, adminUserPrincipalName, adminPassword };
}

/** Signs a user in with a password and returns the access token. */
export async function signIn(t: TestServer, userPrincipalName: string, password: string): Promise<string> {
  const result = await t.gql(
    `mutation($input: SignInWithPasswordInput!) { signInWithPassword(input: $input) { __typename ... on SignInSuccess { accessToken } ... on Error { code message } } }`,
    { input: { userPrincipalName, password } },
  );
  const token = result.data?.signInWithPassword?.accessToken;
  if (!token) throw new Error(`signInWithPassword failed: ${JSON.stringify(result)}`);
  return token;
}

/** The amr of a session after the password and an approval on the phone with a PIN. */
export const SECOND_FACTOR_AMR = ['pwd', 'mfa', 'pop', 'pin'];

/** An access token of a session with a second factor, issued directly (test set-up for admins). */
export async function adminSession(t: TestServer, who: { tenantId: string; userId: string }): Promise<string> {
  const { app } = t.server;
  const issued = await app.db.transaction((tx) => app.tokens.issue(tx, { ...who, amr: SECOND_FACTOR_AMR }));
  return issued.accessToken;
}
