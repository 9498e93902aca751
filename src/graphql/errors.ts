import { PothosValidationError } from '@pothos/core';
import { InputValidationError } from '@pothos/plugin-validation';
import { GraphQLError } from 'graphql';
import type { z } from 'zod';
import { DomainError, ERROR_CODE_DESCRIPTIONS, ERROR_CODES, type ErrorCode } from '../domain/errors.js';
import { builder } from './builder.js';

export const ErrorCodeEnum = builder.enumType('ErrorCode', {
  description: 'Stable codes of expected failures: branch on these, show the message to people.',
  values: Object.fromEntries(ERROR_CODES.map((code) => [code, { value: code, description: ERROR_CODE_DESCRIPTIONS[code] }])) as Record<
    ErrorCode,
    { value: ErrorCode; description: string }
  >,
});

export const ErrorInterface = builder.interfaceRef<Error & { code?: string }>('Error').implement({
  description: 'An expected failure: a stable code and a sentence a person can act on.',
  fields: (t) => ({
    code: t.field({
      type: ErrorCodeEnum,
      description: 'Stable machine-readable code.',
      resolve: (error) => (error instanceof DomainError ? error.code : 'INVALID_INPUT'),
    }),
    message: t.exposeString('message', { description: 'What went wrong and what to do about it.' }),
  }),
});

builder.objectType(DomainError, {
  name: 'DomainError',
  description: 'A request that could not be carried out as asked; nothing was changed.',
  interfaces: [ErrorInterface],
  isTypeOf: (value) => value instanceof DomainError,
  fields: (t) => ({
    field: t.exposeString('field', { nullable: true, description: 'The input field the problem concerns, if one.' }),
    retryAfterSeconds: t.int({
      nullable: true,
      description: 'With RATE_LIMITED: seconds until the same call may succeed. Null otherwise.',
      // The errors plugin hands a proxy of the error, so the property is read rather than its class tested.
      resolve: (error) => (error as { retryAfterSeconds?: number }).retryAfterSeconds ?? null,
    }),
  }),
});

const InputIssue = builder.objectRef<{ message: string; path?: ReadonlyArray<PropertyKey | { key: PropertyKey }> }>('InputIssue').implement({
  description: 'One problem with one input value.',
  fields: (t) => ({
    message: t.exposeString('message', { description: 'What is wrong with the value.' }),
    path: t.stringList({
      description: 'Where the value is, e.g. ["input", "userPrincipalName"].',
      resolve: (issue) => issue.path?.map((part) => String(typeof part === 'object' ? part.key : part)) ?? [],
    }),
  }),
});

builder.objectType(InputValidationError, {
  name: 'InputValidationError',
  description: 'The input was malformed or out of range; nothing was changed. Code INVALID_INPUT.',
  interfaces: [ErrorInterface],
  isTypeOf: (value) => value instanceof InputValidationError,
  fields: (t) => ({
    issues: t.field({ type: [InputIssue], description: 'Every problem found.', resolve: (error) => error.issues }),
  }),
});

/** The error types every mutation with typed results returns. */
export const COMMON_ERRORS = [DomainError, InputValidationError];

/** A query's bad argument: queries answer data, not typed-error unions, so the code rides on the GraphQL error. */
export const badUserInput = (message: string) => new GraphQLError(message, { extensions: { code: 'BAD_USER_INPUT' } });

/**
 * Checks a query argument against its schema, refusing it as BAD_USER_INPUT in one sentence that
 * names the value's path and what is wrong.
 */
export function parseQueryArgument<T>(schema: z.ZodType<T>, value: unknown, name: string): T {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0]!;
  throw badUserInput(`The argument ${[name, ...issue.path.map(String)].join('.')} is not valid: ${issue.message}`);
}

/** Runs a connection's resolver, turning refused paging arguments (bad cursor, negative first) into BAD_USER_INPUT. */
export async function withPagingErrors<T>(resolve: () => Promise<T>): Promise<T> {
  try {
    return await resolve();
  } catch (error) {
    if (!(error instanceof PothosValidationError)) throw error;
    throw badUserInput(`${error.message.replace(/\.$/, '')}. Page with first or last (0 to 100) and cursors this connection returned.`);
  }
}
