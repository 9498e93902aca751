import { passwordSchema, userPrincipalNameSchema } from '../domain/names.js';
import { signInWithPassword } from '../services/sessions.js';
import type { IssuedToken } from '../services/tokens.js';
import { builder } from './builder.js';
import { COMMON_ERRORS } from './errors.js';

export const SignInSuccessRef = builder.objectRef<IssuedToken>('SignInSuccess').implement({
  description: 'A signed-in session.',
  fields: (t) => ({
    accessToken: t.exposeString('accessToken', { description: 'ES256 JWT; send as "Authorization: Bearer <accessToken>".' }),
    expiresAt: t.expose('expiresAt', { type: 'DateTime', description: 'When the access token stops being accepted.' }),
  }),
});

const SignInWithPasswordInput = builder.inputType('SignInWithPasswordInput', {
  description: 'A user name and password.',
  fields: (t) => ({
    userPrincipalName: t.string({ description: 'Sign-in name, e.g. "adele@contoso.com".', validate: userPrincipalNameSchema }),
    password: t.string({ description: 'The password.', validate: passwordSchema }),
  }),
});

builder.mutationField('signInWithPassword', (t) =>
  t.field({
    type: SignInSuccessRef,
    description: 'Sign in with a password ("use your password instead"). A wrong password and an unknown user fail alike.',
    errors: { types: COMMON_ERRORS, directResult: true },
    args: { input: t.arg({ type: SignInWithPasswordInput, required: true, description: 'Credentials.' }) },
    resolve: (_root, { input }, { app }) => signInWithPassword(app, input),
  }),
);

builder.mutationField('signOut', (t) =>
  t.boolean({
    description: 'End the session of the access token used: it and every token of its session are refused from now on.',
    authScopes: { user: true },
    resolve: async (_root, _args, { app, auth }) => {
      if (auth.kind === 'user') await app.tokens.revoke(auth.sessionId);
      return true;
    },
  }),
);
