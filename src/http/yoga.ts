import { EnvelopArmorPlugin } from '@escape.tech/graphql-armor';
import type { IncomingMessage } from 'node:http';
import { GraphQLError } from 'graphql';
import { createYoga } from 'graphql-yoga';
import { clientIp } from '../domain/clientIp.js';
import type { Context } from '../graphql/builder.js';
import { schema } from '../graphql/schema.js';
import type { App } from '../services/app.js';
import { type Auth, AuthenticationError, resolveAuth } from '../services/auth.js';
import { maskUnexpectedError } from './maskedErrors.js';

export const GRAPHQL_PATH = '/graphql';
// Query shape limits against resource-exhaustion documents; introspection (GraphiQL) stays within them.
const ARMOR = { maxDepth: { n: 12 }, maxAliases: { n: 20 }, maxTokens: { n: 2000 }, costLimit: { maxCost: 5000 } };

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

/** The GraphQL endpoint: one yoga, and so one set of plugins and one context, for HTTP and graphql-ws. */
export function createGraphQLYoga(app: App) {
  const { logger, config } = app;
  return createYoga<ServerContext, Context>({
    schema,
    plugins: [EnvelopArmorPlugin(ARMOR)],
    graphqlEndpoint: GRAPHQL_PATH,
    graphiql: { subscriptionsProtocol: 'WS', title: 'Phone sign-in' },
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
      try {
        const auth = await resolveAuth(app, request.headers.get('authorization'));
        return { app, auth, clientIp: requestClientIp(req, config.trustedProxies) };
      } catch (error) {
        if (error instanceof AuthenticationError) throw unauthenticated(error);
        throw error;
      }
    },
  });
}

export type GraphQLYoga = ReturnType<typeof createGraphQLYoga>;
