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

/**
 * Runs one operation on an open graphql-ws connection (authenticated when it connected), with the
 * same errors as graphqlRequest; a connection that fails meanwhile rejects with what closed it,
 * which is not an ApiError.
 */
export function socketRequest<T = any>(client: Client, query: string, variables: Record<string, unknown> = {}): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    let result: GraphQLResult<T> | undefined;
    client.subscribe<T>(
      { query, variables },
      {
        next: (value) => (result = value as GraphQLResult<T>),
        error: reject,
        complete: () => {
          try {
            resolve(dataOf(result ?? { errors: [{ message: 'The connection ended the operation without a result.' }] }));
          } catch (error) {
            reject(error);
          }
        },
      },
    );
  });
}
