import { type Client, createClient } from 'graphql-ws';

/** The service's GraphQL endpoint, on the page's own origin. */
export const GRAPHQL_PATH = '/graphql';

/** An error the page can show as it is: the service's own sentence and stable code. */
export class ApiError extends Error {
  constructor(
    message: string,
    readonly code: string,
  ) {
    super(message);
  }
}

interface GraphQLResult<T> {
  data?: T;
  errors?: Array<{ message: string; extensions?: { code?: string } }>;
}

/**
 * One GraphQL operation over HTTP. Errors of the request itself (network, rate limit,
 * authentication) become an ApiError with the service's sentence; typed results are the caller's.
 */
export async function gql<T>(query: string, variables: Record<string, unknown> = {}, token?: string): Promise<T> {
  let response: Response;
  try {
    response = await fetch(GRAPHQL_PATH, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
      body: JSON.stringify({ query, variables }),
    });
  } catch {
    throw new ApiError('The service cannot be reached. Check your connection and try again.', 'NETWORK');
  }
  const body = (await response.json().catch(() => ({}))) as GraphQLResult<T>;
  const error = body.errors?.[0];
  if (error) throw new ApiError(error.message, error.extensions?.code ?? 'ERROR');
  if (!body.data) throw new ApiError(`The service answered ${response.status} without data. Try again.`, 'ERROR');
  return body.data;
}

let socket: Client | undefined;

/** The page's one graphql-ws connection (same origin, same path), opened on first use. */
export function liveClient(): Client {
  const url = new URL(GRAPHQL_PATH, location.href);
  url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
  socket ??= createClient({ url: url.href, lazy: true, retryAttempts: 2 });
  return socket;
}
