import { EnvelopArmorPlugin } from '@escape.tech/graphql-armor';
import type { IncomingMessage } from 'node:http';
import { BREAK, type DocumentNode, GraphQLError, Kind, type ExecutionResult, getOperationAST, visit } from 'graphql';
import { type Plugin, createYoga } from 'graphql-yoga';
import { clientIp } from '../domain/clientIp.js';
import type { Context } from '../graphql/builder.js';
import { schema } from '../graphql/schema.js';
import type { App } from '../services/app.js';
import { type Auth, AuthenticationError, resolveAuth } from '../services/auth.js';
import { ASSERTION_REPLAYED, AssertionReplayedError, type DeviceAuth, auditReplayedAssertion, spendAssertionAlone } from '../services/devices.js';
import { GRAPHIQL_OPTIONS, graphiqlHeaders, renderGraphiQL } from './graphiql.js';
import { leanSubscriptions } from './leanSubscription.js';
import { COST_ADVICE, MAX_QUERY_COST, armorRefusal as refusal, pageSizesCounted } from './queryCost.js';
import { maskUnexpectedError } from './maskedErrors.js';
import { RateLimitedError } from '../services/rateLimits.js';

export const GRAPHQL_PATH = '/graphql';
/**
 * Query shape limits against resource-exhaustion documents. Our deepest query (a group's members
 * through two connections) has depth 7; introspection is not counted (armor skips __schema).
 */
const MAX_QUERY_DEPTH = 8;
const ARMOR = {
  maxDepth: { n: MAX_QUERY_DEPTH, ...refusal('Ask for fewer nested levels, and read the deeper part with a query of its own.') },
  maxAliases: { n: 20, ...refusal('Send the rest of the aliased fields in another request.') },
  // Counted while parsing: refused as GRAPHQL_PARSE_FAILED by yoga.
  maxTokens: { n: 2000 },
  costLimit: { maxCost: MAX_QUERY_COST, ...refusal(COST_ADVICE) },
};

/** What reaches yoga's context factory: the Node request over HTTP, or who a graphql-ws connection already proved to be. */
export interface ServerContext {
  req?: IncomingMessage;
  ws?: { auth: Auth; clientIp: string | null };
}

/** The caller's IP for an HTTP request or a WebSocket upgrade, believing X-Forwarded-For only from TRUSTED_PROXIES. */
export function requestClientIp(req: IncomingMessage | undefined, trustedProxies: readonly string[]): string | null {
  // Node joins repeated X-Forwarded-For headers into one value, as fetch's Headers does.
  return clientIp(req?.socket.remoteAddress, req?.headers['x-forwarded-for']?.toString() ?? null, trustedProxies);
}

const unauthenticated = (error: AuthenticationError) =>
  new GraphQLError(error.message, { extensions: { code: 'UNAUTHENTICATED', http: { status: 401 } } });

/** A request refused whole by a rate limit: HTTP 429 with Retry-After. */
const rateLimited = (error: RateLimitedError) =>
  new GraphQLError(error.message, {
    extensions: { code: 'RATE_LIMITED', retryAfterSeconds: error.retryAfterSeconds, http: { status: 429, headers: { 'Retry-After': String(error.retryAfterSeconds) } } },
  });

/**
 * resolveAuth behind the device-assertion limits: an address is counted before any work (a
 * signature check and a database read), a device only once its assertion verified, so nobody
 * else can spend a device's allowance by naming it.
 */
export async function authenticate(app: App, authorization: string | null | undefined, ip: string | null, spendAssertion: 'now' | 'later' = 'now'): Promise<Auth> {
  const device = /^\s*device\s/i.test(authorization ?? '');
  if (device) await app.rateLimits.consume('deviceAssertion', { ip });
  const auth = await resolveAuth(app, authorization, spendAssertion);
  if (auth.kind === 'device') await app.rateLimits.consume('deviceAssertion', { account: auth.deviceId });
  return auth;
}

/** The allowed browser origins: ALLOWED_ORIGINS, or the public URL's own origin. */
export const allowedOrigins = (app: App): ReadonlySet<string> => new Set(app.config.allowedOrigins ?? [new URL(app.issuer).origin]);

/**
 * Refuses, with 403, requests a browser sends from a page of another origin (CSRF, and reading
 * answers cross-site). Requests without an Origin header (native apps, the authenticator,
 * server-to-server) are not from a browser page and go on.
 */
function originCheck(allowed: ReadonlySet<string>): Plugin {
  return {
    onRequest({ request, endResponse, fetchAPI }) {
      const origin = request.headers.get('origin');
      if (origin === null || allowed.has(origin)) return;
      const error = { message: `Requests from ${origin} are not allowed; the service's ALLOWED_ORIGINS do not list it.`, extensions: { code: 'FORBIDDEN_ORIGIN' } };
      endResponse(new fetchAPI.Response(JSON.stringify({ errors: [error] }), { status: 403, headers: { 'content-type': 'application/json' } }));
    },
  };
}

function introspects(document: DocumentNode): boolean {
  let found = false;
  visit(document, {
    Field(node) {
      if (node.name.value !== '__schema' && node.name.value !== '__type') return undefined;
      found = true;
      return BREAK;
    },
  });
  return found;
}

/** Mutations that spend the request's device assertion in their own use case's transaction (runUseCase's `device`). */
const SPENT_IN_USE_CASE: ReadonlySet<string> = new Set(['respondToPhoneSignInChallenge']);

/** Whether the operation is made only of such mutations (a fragment at the root is not looked into: spent before, as for any other). */
function spendsInUseCase(document: DocumentNode, operationName: string | null | undefined): boolean {
  const operation = getOperationAST(document, operationName);
  return (
    operation?.operation === 'mutation' &&
    operation.selectionSet.selections.every((selection) => selection.kind === Kind.FIELD && (SPENT_IN_USE_CASE.has(selection.name.value) || selection.name.value === '__typename'))
  );
}

/**
 * An HTTP request's device assertion is accepted once: its jti is spent before the operation runs,
 * or, for the mutations that spend it in their own transaction (one write fewer on the sign-in
 * path), by them; what they did not spend (their resolver never ran that far) is spent before the
 * answer goes out. A replay found either way is refused whole, as authentication refuses it.
 */
function deviceAssertionOnce(app: App): Plugin<Context> {
  const spend = async (auth: DeviceAuth): Promise<ExecutionResult | undefined> => {
    try {
      await spendAssertionAlone(app, auth);
      return undefined;
    } catch (error) {
      if (!(error instanceof AssertionReplayedError)) throw error;
      await auditReplayedAssertion(app, auth);
      return { errors: [unauthenticated(new AuthenticationError(`Device not authenticated: ${ASSERTION_REPLAYED}.`))] };
    }
  };
  return {
    async onSubscribe({ args, setResultAndStopExecution }) {
      const { auth } = args.contextValue;
      if (auth.kind !== 'device' || !auth.assertion) return;
      const refusal = await spend(auth);
      if (refusal) setResultAndStopExecution(refusal);
    },
    async onExecute({ args, setResultAndStopExecution }) {
      const { auth } = args.contextValue;
      if (auth.kind !== 'device' || !auth.assertion) return undefined;
      if (!spendsInUseCase(args.document, args.operationName)) {
        const refusal = await spend(auth);
        if (refusal) setResultAndStopExecution(refusal);
        return undefined;
      }
      return {
        async onExecuteDone({ setResult }) {
          const refusal = await spend(auth);
          if (refusal) setResult(refusal);
        },
      };
    },
  };
}

/** In production the schema is shown to admins and the operator only; in development to anyone. */
function introspectionForStaff(production: boolean): Plugin<Context> {
  return {
    onExecute({ args, setResultAndStopExecution }) {
      if (!production) return;
      const { auth } = args.contextValue;
      if (auth.kind === 'operator' || (auth.kind === 'user' && auth.isAdmin)) return;
      if (!introspects(args.document)) return;
      setResultAndStopExecution({
        errors: [new GraphQLError('Introspection is for signed-in admins here; the schema is schema.graphql in the source repository.', { extensions: { code: 'FORBIDDEN' } })],
      });
    },
  };
}

/** The GraphQL endpoint: one yoga, and so one set of plugins and one context, for HTTP and graphql-ws. */
export function createGraphQLYoga(app: App) {
  const { logger, config } = app;
  const origins = allowedOrigins(app);
  return createYoga<ServerContext, Context>({
    schema,
    plugins: [
      // First, so its setExecuteFn is not skipped by a plugin that ends execution early.
      leanSubscriptions(),
      originCheck(origins),
      // "Did you mean …" suggestions help while developing; in production they map the schema for anyone.
      EnvelopArmorPlugin({ ...ARMOR, blockFieldSuggestion: { enabled: config.production } }),
      // Before any plugin that may end execution early: every executed request spends its assertion.
      deviceAssertionOnce(app),
      // Armor counts only the page sizes a document writes; this counts the ones variables and defaults give.
      pageSizesCounted(schema),
      introspectionForStaff(config.production),
      graphiqlHeaders(),
    ],
    cors: (request) => {
      const origin = request.headers.get('origin');
      return origin !== null && origins.has(origin) ? { origin: [origin], credentials: true } : false;
    },
    graphqlEndpoint: GRAPHQL_PATH,
    graphiql: GRAPHIQL_OPTIONS,
    renderGraphiQL,
    landingPage: false,
    maskedErrors: { maskError: maskUnexpectedError },
    logging: {
      // Yoga's debug lines can carry request variables (passwords, passes): never logged.
      debug: () => {},
      info: (...args) => logger.info(args),
      warn: (...args) => logger.warn(args),
      error: (...args) => logger.error(args),
    },
    context: async ({ request, req, ws }): Promise<Context> => {
      if (ws) return { app, auth: ws.auth, clientIp: ws.clientIp };
      const clientIp = requestClientIp(req, config.trustedProxies);
      try {
        const auth = await authenticate(app, request.headers.get('authorization'), clientIp, 'later');
        return { app, auth, clientIp };
      } catch (error) {
        if (error instanceof AuthenticationError) throw unauthenticated(error);
        if (error instanceof RateLimitedError) throw rateLimited(error);
        throw error;
      }
    },
  });
}

export type GraphQLYoga = ReturnType<typeof createGraphQLYoga>;
