/**
 * Stable codes of expected failures. Clients branch on these; the message is for people.
 * Add codes freely, never rename or reuse one.
 */
export const ERROR_CODES = [
  'INVALID_INPUT',
  'NOT_FOUND',
  'ALREADY_EXISTS',
  'INVALID_CREDENTIALS',
  'ACCOUNT_DISABLED',
  'FEDERATED_DOMAIN',
  'TEMPORARY_ACCESS_PASS_INVALID',
  'LAST_ADMIN',
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];

/** An expected failure a client can act on: a stable code, a sentence for a person, the input it concerns. */
export class DomainError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly field?: string,
  ) {
    super(message);
    this.name = 'DomainError';
  }
}
