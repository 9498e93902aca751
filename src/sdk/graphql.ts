import type { Client } from 'graphql-ws';

/** POSTing one GraphQL operation, with the two tiers of errors the API has turned into one ApiError. */

export interface GraphQLResult<T = any> {
  data?: T;
  errors?: Array<{ message: string; extensions?: { code?: string } }>;
}

/** A refusal by the API: a GraphQL error (UNAUTHENTICATED, FORBIDDEN, …) or a typed `Error` result. */
export class ApiError extends Error {
  override name = 'ApiError';
  constructor(
    message: string,
    /** The stable code (`extensions.code` or the typed error's `code`); undefined for transport failures. */
    readonly code: string | undefined,
  ) {
    super(message);
  }
}

/** The `fetch` to call; a browser's or Node's global one unless injected (tests, proxies). */
export type Fetch = (input: string | URL, init?: RequestInit) => Promise<Response>;

/** POSTs one operation; throws ApiError on a GraphQL error, a typed `Error` result or a non-JSON answer. */
export async function graphqlRequest<T = any>(
  endpoint: string,
  query: string,
  variables: Record<string, unknown> = {},
  authorization?: string,
  fetchImpl: Fetch = globalThis.fetch,
): Promise<T> {
  const response = await fetchImpl(endpoint, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json', ...(authorization ? { authorization } : {}) },
    body: JSON.stringify({ query, variables }),
  });
  let result: GraphQLResult<T>;
  try {
    result = (await response.json()) as GraphQLResult<T>;
  } catch {
    throw new ApiError(`${endpoint} answered HTTP ${response.status} without a GraphQL result; is it the GraphQL endpoint?`, undefined);
  }
  return dataOf(result);
}

/** The data of a result; throws ApiError for a GraphQL error or a typed `Error` result. */
function dataOf<T>(result: GraphQLResult<T>): T {
  const error = result.errors?.[0];
  if (error) throw new ApiError(error.message, error.extensions?.code);
  const typed = Object.values(result.data ?? {}).find((value: any) => value && typeof value === 'object' && typeof value.code === 'string' && typeof value.message === 'string') as
    | { code: string; message: string }
    | undefined;
  if (typed) throw new ApiError(typed.message, typed.code);
  return result.data as T;
}

/** How long an answer on the socket may take before it is given up for HTTP. */
const SOCKET_REQUEST_TIMEOUT_MS = 10_000;

/** The socket could not carry an operation (closed, or no answer in time): not an answer of the API. */
export class SocketRequestFailed extends Error {
  override name = 'SocketRequestFailed';
}

/**
 * Runs one operation on an open graphql-ws connection (authenticated when it connected), with the
 * same errors as graphqlRequest. A connection that closes before the result, a result that never
 * comes within SOCKET_REQUEST_TIMEOUT_MS, or an end without a result rejects with
 * SocketRequestFailed (graphql-ws would otherwise resend it after reconnecting, however long that
 * takes), and the operation is dropped: the caller may send it another way.
 */
export function socketRequest<T = any>(client: Client, query: string, variables: Record<string, unknown> = {}, timeoutMs = SOCKET_REQUEST_TIMEOUT_MS): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    let result: GraphQLResult<T> | undefined;
    let settled = false;
    let unsubscribe = () => {};
    const settle = (outcome: () => T) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      stopWatching();
      unsubscribe();
      try {
        resolve(outcome());
      } catch (error) {
        reject(error);
      }
    };
    const failed = (why: string) => () => {
      throw new SocketRequestFailed(why);
    };
    const timer = setTimeout(settle, timeoutMs, failed(`No answer on the connection within ${timeoutMs} ms.`));
    const stopWatching = client.on('closed', () => settle(failed('The connection closed before the answer came.')));
    unsubscribe = client.subscribe<T>(
      { query, variables },
      {
        next: (value) => (result = value as GraphQLResult<T>),
        error: (error) => settle(failed(`The connection failed the operation: ${error instanceof Error ? error.message : String(error)}`)),
        complete: () => settle(result ? () => dataOf(result!) : failed('The connection ended the operation without a result.')),
      },
    );
  });
}
