import SchemaBuilder, { BasePlugin, type PothosOutputFieldConfig, type SchemaTypes } from '@pothos/core';
import { errorTypeMap } from '@pothos/plugin-errors';
import { InputValidationError } from '@pothos/plugin-validation';
import type { GraphQLFieldResolver } from 'graphql';
import { DomainError, type ErrorCode } from '../domain/errors.js';

/** A mutation answered with an error code its declared list lacks: the list or the code is wrong. */
export interface UndeclaredErrorCode {
  mutation: string;
  code: ErrorCode;
  declared: readonly ErrorCode[];
}

export interface ErrorCodeCheckOptions<Context> {
  /** The codes a mutation declares it can return (undefined: it declares none). */
  declared(mutation: string): readonly ErrorCode[] | undefined;
  onUndeclared(found: UndeclaredErrorCode, context: Context): void;
}

declare global {
  export namespace PothosSchemaTypes {
    interface Plugins<Types extends SchemaTypes> {
      errorCodeCheck: ErrorCodeCheck<Types>;
    }
    interface SchemaBuilderOptions<Types extends SchemaTypes> {
      errorCodeCheck: ErrorCodeCheckOptions<Types['Context']>;
    }
  }
}

/**
 * The code of a typed failure the errors plugin answers with, validation errors included. The
 * plugin answers a proxy of the error (instanceof no longer holds) and remembers which class it matched.
 */
function codeOf(value: unknown): ErrorCode | undefined {
  const type = typeof value === 'object' && value !== null ? errorTypeMap.get(value) : undefined;
  if (type === DomainError) return (value as DomainError).code;
  return type === InputValidationError ? 'INVALID_INPUT' : undefined;
}

/**
 * Watches every mutation's typed failures against the codes it declares, so the schema's promise
 * ("Errors: …") and the behaviour cannot drift apart unnoticed.
 */
class ErrorCodeCheck<Types extends SchemaTypes> extends BasePlugin<Types> {
  // The outermost wrapper Pothos offers (around argument validation and every other plugin), so
  // it sees what the errors plugin made of a thrown error, whichever layer threw it.
  override wrapArgMappers(
    resolver: GraphQLFieldResolver<unknown, Types['Context'], object> | undefined,
    fieldConfig: PothosOutputFieldConfig<Types>,
  ): GraphQLFieldResolver<unknown, Types['Context'], object> | undefined {
    if (!resolver || fieldConfig.kind !== 'Mutation') return resolver;
    const { declared, onUndeclared } = this.builder.options.errorCodeCheck;
    const mutation = fieldConfig.name;
    return async (parent, args, context, info) => {
      const result: unknown = await resolver(parent, args, context, info);
      const code = codeOf(result);
      const codes = declared(mutation) ?? [];
      if (code && !codes.includes(code)) onUndeclared({ mutation, code, declared: codes }, context);
      return result;
    };
  }
}

export const ErrorCodeCheckPlugin = 'errorCodeCheck' as const;
SchemaBuilder.registerPlugin(ErrorCodeCheckPlugin, ErrorCodeCheck);
