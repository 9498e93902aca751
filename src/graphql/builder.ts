import SchemaBuilder from '@pothos/core';
import DataloaderPlugin from '@pothos/plugin-dataloader';
import ErrorsPlugin from '@pothos/plugin-errors';
import RelayPlugin from '@pothos/plugin-relay';
import ScopeAuthPlugin from '@pothos/plugin-scope-auth';
import ValidationPlugin, { InputValidationError } from '@pothos/plugin-validation';
import { GraphQLError } from 'graphql';
import type { Auth } from '../services/auth.js';
import type { App } from '../services/app.js';
import { ErrorCodeCheckPlugin } from './errorCodeCheck.js';
import { declaredErrorCodes, reportUndeclaredErrorCode } from './errorCodes.js';
import { PlainTextInputsPlugin } from './plainTextInputs.js';

export interface Context {
  app: App;
  auth: Auth;
  /** The caller's address: the socket's, or X-Forwarded-For's when the socket is a trusted proxy. */
  clientIp: string | null;
}

type UserAuth = Extract<Auth, { kind: 'user' }>;

/** What an admin signed in with a password alone, and no authenticator, is told on anything but registration. */
export const MFA_REGISTRATION_MESSAGE =
  'Admins need a second factor: add the authenticator app under security info (beginAuthenticatorRegistration), then sign in again and approve on your phone.';

export interface PothosTypes {
  Context: Context;
  AuthScopes: {
    operator: boolean;
    user: boolean;
    admin: boolean;
    device: boolean;
    /** Any signed-in user, also an admin who must first register a second factor: security info and sign-out only. */
    securityInfo: boolean;
  };
  /** What a resolver under each scope (`t.withAuth`) holds: the caller, already narrowed. */
  AuthContexts: {
    operator: Context & { auth: Extract<Auth, { kind: 'operator' }> };
    user: Context & { auth: UserAuth };
    admin: Context & { auth: UserAuth & { isAdmin: true } };
    device: Context & { auth: Extract<Auth, { kind: 'device' }> };
    securityInfo: Context & { auth: UserAuth };
  };
  Scalars: {
    DateTime: { Input: Date; Output: Date };
    JSON: { Input: unknown; Output: unknown };
  };
  DefaultFieldNullability: false;
  DefaultInputFieldRequiredness: true;
}

export const builder = new SchemaBuilder<PothosTypes>({
  // The error-code check first: its wrapper is the outermost, so it sees each mutation's final result.
  // Plain-text inputs after validation: Pothos runs config hooks last plugin first, and validation reads what it adds.
  plugins: [ErrorCodeCheckPlugin, ScopeAuthPlugin, ErrorsPlugin, ValidationPlugin, PlainTextInputsPlugin, RelayPlugin, DataloaderPlugin],
  defaultFieldNullability: false,
  defaultInputFieldRequiredness: true,
  scopeAuth: {
    // Refuse a subscription when it is created, not only when its first event arrives.
    authorizeOnSubscribe: true,
    authScopes: ({ auth }) => ({
      operator: auth.kind === 'operator',
      user: auth.kind === 'user' && !auth.registrationRequired,
      admin: auth.kind === 'user' && auth.isAdmin && !auth.registrationRequired,
      device: auth.kind === 'device',
      securityInfo: auth.kind === 'user',
    }),
    unauthorizedError: (_parent, { auth }) => {
      if (auth.kind === 'anonymous') {
        return new GraphQLError('Sign in first: this operation needs an Authorization header.', { extensions: { code: 'UNAUTHENTICATED' } });
      }
      if (auth.kind === 'user' && auth.registrationRequired) return new GraphQLError(MFA_REGISTRATION_MESSAGE, { extensions: { code: 'FORBIDDEN', reason: 'MFA_REGISTRATION_REQUIRED' } });
      return new GraphQLError('You are signed in, but not allowed to do this.', { extensions: { code: 'FORBIDDEN' } });
    },
  },
  validation: {
    // Mutations answer it as a typed InputValidationError (INVALID_INPUT); queries and subscriptions,
    // which have no typed results, as a GraphQL error with this code.
    validationError: (failure) => {
      const error = new InputValidationError(failure);
      error.extensions.code = 'BAD_USER_INPUT';
      return error;
    },
  },
  errorCodeCheck: { declared: declaredErrorCodes, onUndeclared: reportUndeclaredErrorCode },
  errors: {
    unsafelyHandleInputErrors: true,
    defaultUnionOptions: { description: 'The result, or an expected failure (an Error with a stable code).' },
    defaultResultOptions: { description: 'The operation succeeded; its value is in data.' },
  },
  relay: {
    clientMutationId: 'omit',
    cursorType: 'String',
    // Generated connection types get these descriptions, so every type and argument is documented.
    pageInfoTypeOptions: { description: 'Where this page sits in the whole list.' },
    hasNextPageFieldOptions: { description: 'Whether more items follow: ask again with after: endCursor.' },
    hasPreviousPageFieldOptions: { description: 'Whether items precede: ask again with before: startCursor.' },
    startCursorFieldOptions: { description: 'Cursor of the first item of this page.' },
    endCursorFieldOptions: { description: 'Cursor of the last item of this page.' },
    firstArgOptions: { description: 'Page size from the start (or after `after`); at most 100, default 20.' },
    lastArgOptions: { description: 'Page size from the end (or before `before`); at most 100.' },
    afterArgOptions: { description: 'A cursor this connection returned: items after it.' },
    beforeArgOptions: { description: 'A cursor this connection returned: items before it.' },
    defaultConnectionTypeOptions: { description: 'One page of a list.' },
    defaultEdgeTypeOptions: { description: 'One item of a page, with its cursor.' },
    edgesFieldOptions: { description: 'The items of this page.' },
    pageInfoFieldOptions: { description: 'Paging information.' },
    cursorFieldOptions: { description: 'Pass as after or before to page from this item.' },
    nodeFieldOptions: { description: 'The item.' },
  },
});

builder.queryType({ description: 'Reads.' });
builder.mutationType({ description: 'Changes.' });
builder.subscriptionType({ description: 'Live updates over graphql-ws (WebSocket, same path as HTTP); authenticate in connection_init.' });
