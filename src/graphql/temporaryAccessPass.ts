import { z } from 'zod';
import { userPrincipalNameSchema } from '../domain/names.js';
import {
  createTemporaryAccessPass,
  signInWithTemporaryAccessPass,
  TAP_LIFETIME_MINUTES,
} from '../services/temporaryAccessPass.js';
import { builder } from './builder.js';
import { callerOf, uuidSchema } from './common.js';
import { describeMutation } from './errorCodes.js';
import { COMMON_ERRORS } from './errors.js';
import { SignInSuccessRef } from './signIn.js';

const TemporaryAccessPassRef = builder
  .objectRef<{ id: string; userId: string; pass: string; expiresAt: Date; isUsableOnce: boolean }>('TemporaryAccessPass')
  .implement({
    description: 'A new Temporary Access Pass. Give the pass to the user now: it is never shown again.',
    fields: (t) => ({
      id: t.exposeID('id', { description: 'Id of the pass, as it appears in the audit log.' }),
      userId: t.exposeID('userId', { description: 'The user it signs in.' }),
      pass: t.exposeString('pass', { description: 'The secret to give the user; only its hash is kept.' }),
      expiresAt: t.expose('expiresAt', { type: 'DateTime', description: 'When it stops working.' }),
      isUsableOnce: t.exposeBoolean('isUsableOnce', { description: 'Whether the first sign-in uses it up.' }),
    }),
  });

const CreateTemporaryAccessPassInput = builder.inputType('CreateTemporaryAccessPassInput', {
  description: 'Who the pass is for and how long it lasts.',
  fields: (t) => ({
    userId: t.id({ description: 'A user of your tenant. Any pass they already had stops working.', validate: uuidSchema }),
    lifetimeMinutes: t.int({
      required: false,
      defaultValue: TAP_LIFETIME_MINUTES.default,
      description: `Minutes the pass works, ${TAP_LIFETIME_MINUTES.min} to ${TAP_LIFETIME_MINUTES.max}. Default ${TAP_LIFETIME_MINUTES.default}.`,
      validate: z
        .number()
        .int()
        .min(TAP_LIFETIME_MINUTES.min, `A pass lasts at least ${TAP_LIFETIME_MINUTES.min} minutes.`)
        .max(TAP_LIFETIME_MINUTES.max, `A pass lasts at most ${TAP_LIFETIME_MINUTES.max} minutes.`)
        .nullish(),
    }),
    isUsableOnce: t.boolean({
      required: false,
      defaultValue: true,
      description: 'True (default): the first sign-in uses it up. False: it works until it expires.',
    }),
  }),
});

const SignInWithTemporaryAccessPassInput = builder.inputType('SignInWithTemporaryAccessPassInput', {
  description: 'A user name and the Temporary Access Pass an admin gave them.',
  fields: (t) => ({
    userPrincipalName: t.string({ description: 'Sign-in name, e.g. "adele@contoso.com".', validate: userPrincipalNameSchema }),
    pass: t.string({ description: 'The pass, as given.', validate: z.string().trim().min(1, 'Give the pass.').max(256, 'A pass has at most 256 characters.') }),
  }),
});

builder.mutationFields((t) => ({
  createTemporaryAccessPass: t.withAuth({ admin: true }).field({
    type: TemporaryAccessPassRef,
    description: describeMutation(
      'createTemporaryAccessPass',
      'Admin: issue a Temporary Access Pass so a user can sign in and set up passwordless sign-in without a password.',
    ),
    errors: { types: COMMON_ERRORS, directResult: true },
    args: { input: t.arg({ type: CreateTemporaryAccessPassInput, required: true, description: 'The pass to issue.' }) },
    resolve: (_root, { input }, { app, auth }) =>
      createTemporaryAccessPass(app, callerOf(auth), {
        userId: String(input.userId),
        lifetimeMinutes: input.lifetimeMinutes ?? TAP_LIFETIME_MINUTES.default,
        isUsableOnce: input.isUsableOnce ?? true,
      }),
  }),
  signInWithTemporaryAccessPass: t.field({
    type: SignInSuccessRef,
    description: describeMutation(
      'signInWithTemporaryAccessPass',
      'Sign in with a Temporary Access Pass (amr ["otp"]). Wrong, expired, used-up and unknown passes all fail alike with TEMPORARY_ACCESS_PASS_INVALID.',
    ),
    errors: { types: COMMON_ERRORS, directResult: true },
    args: { input: t.arg({ type: SignInWithTemporaryAccessPassInput, required: true, description: 'Credentials.' }) },
    resolve: async (_root, { input }, { app, clientIp }) => {
      await app.rateLimits.consume('temporaryAccessPassSignIn', { ip: clientIp, account: input.userPrincipalName });
      return signInWithTemporaryAccessPass(app, input, { ipAddress: clientIp });
    },
  }),
}));
