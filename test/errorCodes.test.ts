import SchemaBuilder from '@pothos/core';
import ErrorsPlugin from '@pothos/plugin-errors';
import ScopeAuthPlugin from '@pothos/plugin-scope-auth';
import ValidationPlugin, { InputValidationError } from '@pothos/plugin-validation';
import { execute, type GraphQLField, isUnionType, parse } from 'graphql';
import { describe, expect, it, vi } from 'vitest';
import { z } from 'zod';
import { DomainError, ERROR_CODES, type ErrorCode } from '../src/domain/errors.js';
import type { Context } from '../src/graphql/builder.js';
import { ErrorCodeCheckPlugin, type UndeclaredErrorCode } from '../src/graphql/errorCodeCheck.js';
import { errorsSentence, MUTATION_ERRORS, type MutationName, reportUndeclaredErrorCode, undeclaredErrorCodeListeners } from '../src/graphql/errorCodes.js';
import { schema } from '../src/graphql/schema.js';

const mutations = Object.values(schema.getMutationType()!.getFields());

/** Whether a field's result type can carry a typed error (an Error in its result union). */
const returnsTypedErrors = (field: GraphQLField<unknown, unknown>) => {
  const type = 'ofType' in field.type ? field.type.ofType : field.type;
  return isUnionType(type) && type.getTypes().some((member) => member.getInterfaces().some((i) => i.name === 'Error'));
};

describe('the error-code table', () => {
  it('has exactly one entry per mutation of the schema, each of known codes, without repeats', () => {
    expect(Object.keys(MUTATION_ERRORS).sort()).toEqual(mutations.map((m) => m.name).sort());
    for (const [mutation, codes] of Object.entries(MUTATION_ERRORS)) {
      for (const code of codes) expect(ERROR_CODES, mutation).toContain(code);
      expect(new Set(codes).size, mutation).toBe(codes.length);
    }
  });

  it("ends each mutation's description with exactly its listed codes", () => {
    for (const mutation of mutations) {
      const codes: readonly string[] = MUTATION_ERRORS[mutation.name as MutationName];
      const sentence = errorsSentence(mutation.name as MutationName);
      expect(mutation.description, mutation.name).toMatch(new RegExp(` ${sentence.replace(/[.()]/g, '\\$&')}$`));
      const listed = /Errors: ([A-Z_, ]+)\.$/.exec(mutation.description ?? '')?.[1]?.split(', ') ?? [];
      expect(listed, mutation.name).toEqual(codes);
    }
  });

  it('lists codes exactly for the mutations whose result can be a typed error', () => {
    for (const mutation of mutations) {
      expect(MUTATION_ERRORS[mutation.name as MutationName].length > 0, mutation.name).toBe(returnsTypedErrors(mutation));
    }
  });
});

describe('the error-code check', () => {
  // A schema of its own, with the same plugins in the same order as the real one, so a code can
  // be answered that no real mutation's entry lacks.
  function checkedSchema(declared: Record<string, readonly ErrorCode[]>, onUndeclared: (found: UndeclaredErrorCode) => void) {
    const builder = new SchemaBuilder<{ Context: object }>({
      plugins: [ErrorCodeCheckPlugin, ScopeAuthPlugin, ErrorsPlugin, ValidationPlugin],
      errorCodeCheck: { declared: (mutation) => declared[mutation], onUndeclared },
      scopeAuth: { authScopes: () => ({}) },
      errors: { unsafelyHandleInputErrors: true },
    });
    const ErrorRef = builder.interfaceRef<Error>('Error').implement({ fields: (t) => ({ message: t.exposeString('message') }) });
    builder.objectType(DomainError, { name: 'DomainError', interfaces: [ErrorRef], fields: (t) => ({ code: t.exposeString('code') }) });
    builder.objectType(InputValidationError, { name: 'InputValidationError', interfaces: [ErrorRef], fields: () => ({}) });
    builder.queryType({ fields: (t) => ({ ok: t.boolean({ resolve: () => true }) }) });
    builder.mutationType({
      fields: (t) => ({
        fail: t.boolean({
          errors: { types: [DomainError, InputValidationError] },
          args: { code: t.arg.string({ required: true }), name: t.arg.string({ required: false, validate: z.string().min(2).nullish() }) },
          resolve: (_root, { code }) => {
            throw new DomainError(code as ErrorCode, 'refused');
          },
        }),
      }),
    });
    return builder.toSchema();
  }

  const run = async (declared: readonly ErrorCode[], variables: Record<string, unknown>) => {
    const onUndeclared = vi.fn();
    const result = await execute({
      schema: checkedSchema({ fail: declared }, onUndeclared),
      document: parse('mutation($code: String!, $name: String) { fail(code: $code, name: $name) { __typename ... on Error { message } } }'),
      variableValues: variables,
      contextValue: {},
    });
    return { result, onUndeclared };
  };

  it('passes a declared code through unreported', async () => {
    const { result, onUndeclared } = await run(['IN_USE'], { code: 'IN_USE' });
    expect(result.data?.fail).toEqual({ __typename: 'DomainError', message: 'refused' });
    expect(onUndeclared).not.toHaveBeenCalled();
  });

  it('reports a code the mutation does not declare, and still answers it', async () => {
    const { result, onUndeclared } = await run(['NOT_FOUND'], { code: 'IN_USE' });
    expect(result.data?.fail).toEqual({ __typename: 'DomainError', message: 'refused' });
    expect(onUndeclared).toHaveBeenCalledExactlyOnceWith({ mutation: 'fail', code: 'IN_USE', declared: ['NOT_FOUND'] }, {});
  });

  it('reports a refused input as INVALID_INPUT when the mutation does not declare it', async () => {
    const { result, onUndeclared } = await run(['IN_USE'], { code: 'IN_USE', name: 'x' });
    expect(result.data?.fail).toMatchObject({ __typename: 'InputValidationError' });
    expect(onUndeclared).toHaveBeenCalledExactlyOnceWith({ mutation: 'fail', code: 'INVALID_INPUT', declared: ['IN_USE'] }, {});
  });

  it('logs an undeclared code at error level and tells the listeners', () => {
    const found: UndeclaredErrorCode = { mutation: 'createUser', code: 'IN_USE', declared: MUTATION_ERRORS.createUser };
    const error = vi.fn();
    const listener = vi.fn();
    // Alone, so the suite-wide listener (which fails the test on any report) does not hear it.
    const others = [...undeclaredErrorCodeListeners];
    undeclaredErrorCodeListeners.clear();
    undeclaredErrorCodeListeners.add(listener);
    try {
      reportUndeclaredErrorCode(found, { app: { logger: { error } } } as unknown as Context);
    } finally {
      undeclaredErrorCodeListeners.clear();
      for (const other of others) undeclaredErrorCodeListeners.add(other);
    }
    expect(error).toHaveBeenCalledWith(found, expect.stringContaining('MUTATION_ERRORS'));
    expect(listener).toHaveBeenCalledWith(found);
  });
});
