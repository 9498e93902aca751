import { InputValidationError } from '@pothos/plugin-validation';
import { DomainError, ERROR_CODES } from '../domain/errors.js';
import { builder } from './builder.js';

export const ErrorCodeEnum = builder.enumType('ErrorCode', {
  description: 'Stable codes of expected failures: branch on these, show the message to people.',
  values: Object.fromEntries(ERROR_CODES.map((code) => [code, { value: code }])) as Record<
    (typeof ERROR_CODES)[number],
    { value: (typeof ERROR_CODES)[number] }
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
