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
  const error = result.errors?.[0];
  if (error) throw new ApiError(error.message, error.extensions?.code);
  const typed = Object.values(result.data ?? {}).find((value: any) => value && typeof value === 'object' && typeof value.code === 'string' && typeof value.message === 'string') as
    | { code: string; message: string }
    | undefined;
  if (typed) throw new ApiError(typed.message, typed.code);
  return result.data as T;
}
