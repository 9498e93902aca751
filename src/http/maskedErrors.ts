import { GraphQLError } from 'graphql';
import { maskError } from 'graphql-yoga';
import { isDatabaseUnavailable } from '../db/faults.js';

export const SERVICE_UNAVAILABLE_MESSAGE = 'The service cannot reach its database; try again in a few seconds.';

/**
 * Yoga's error masking, except that a database that is away or too slow is said so: a client may
 * try again, which it may not after an INTERNAL_SERVER_ERROR. 503 marks the whole HTTP response.
 */
export function maskUnexpectedError(error: unknown, message: string, isDev?: boolean): Error {
  const original = error instanceof GraphQLError && error.originalError ? error.originalError : error;
  if (isDatabaseUnavailable(original)) {
    return new GraphQLError(SERVICE_UNAVAILABLE_MESSAGE, {
      ...(error instanceof GraphQLError ? { nodes: error.nodes, positions: error.positions, path: error.path } : {}),
      extensions: { code: 'SERVICE_UNAVAILABLE', http: { status: 503 } },
    });
  }
  return maskError(error, message, isDev);
}
