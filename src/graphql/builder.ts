import SchemaBuilder from '@pothos/core';
import ErrorsPlugin from '@pothos/plugin-errors';
import RelayPlugin from '@pothos/plugin-relay';
import ScopeAuthPlugin from '@pothos/plugin-scope-auth';
import ValidationPlugin from '@pothos/plugin-validation';
import { GraphQLError } from 'graphql';
import type { Auth } from '../services/auth.js';
import type { App } from '../services/app.js';

export interface Context {
  app: App;
  auth: Auth;
  /** The caller's address: the socket's, or X-Forwarded-For's when the socket is a trusted proxy. */
  clientIp: string | null;
}

export interface PothosTypes {
  Context: Context;
  AuthScopes: {
    operator: boolean;
    user: boolean;
    admin: boolean;
    device: boolean;
  };
  Scalars: {
    DateTime: { Input: Date; Output: Date };
    JSON: { Input: unknown; Output: unknown };
  };
  DefaultFieldNullability: false;
  DefaultInputFieldRequiredness: true;
}

export const builder = new SchemaBuilder<PothosTypes>({
  plugins: [ScopeAuthPlugin, ErrorsPlugin, ValidationPlugin, RelayPlugin],
  defaultFieldNullability: false,
  defaultInputFieldRequiredness: true,
  scopeAuth: {
    authScopes: ({ auth }) => ({
      operator: auth.kind === 'operator',
      user: auth.kind === 'user',
      admin: auth.kind === 'user' && auth.isAdmin,
      device: auth.kind === 'device',
    }),
    unauthorizedError: (_parent, context) =>
      context.auth.kind === 'anonymous'
        ? new GraphQLError('Sign in first: this operation needs an Authorization header.', {
            extensions: { code: 'UNAUTHENTICATED' },
          })
        : new GraphQLError('You are signed in, but not allowed to do this.', { extensions: { code: 'FORBIDDEN' } }),
  },
  errors: {
    unsafelyHandleInputErrors: true,
  },
  relay: {
    clientMutationId: 'omit',
    cursorType: 'String',
  },
});

builder.queryType({ description: 'Reads.' });
builder.mutationType({ description: 'Changes.' });
