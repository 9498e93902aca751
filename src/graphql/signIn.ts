import { GraphQLError } from 'graphql';
import { z } from 'zod';
import { passwordSchema, userPrincipalNameSchema } from '../domain/names.js';
import { ATTEMPT_STATUSES, FAILURE_REASONS, PASSWORD_REQUIRED_REASONS } from '../domain/signInAttempt.js';
import { type AttemptView, readAttempt } from '../services/attempts.js';
import { signOut } from '../services/auth.js';
import { type PasswordSignInResult, signInWithPassword } from '../services/passwordSignIn.js';
import { type BeginSignInResult, beginSignIn, cancelSignIn, completeSignIn, watchAttempt } from '../services/signIn.js';
import type { IssuedToken } from '../services/tokens.js';
import { builder } from './builder.js';
import { describeMutation } from './errorCodes.js';
import { COMMON_ERRORS } from './errors.js';

const enumValues = <T extends string>(values: readonly T[], describe: (value: T) => string) =>
  Object.fromEntries(values.map((value) => [value, { value, description: describe(value) }])) as Record<T, { value: T; description: string }>;

const STATUS_DESCRIPTIONS: Record<(typeof ATTEMPT_STATUSES)[number], string> = {
  PENDING: 'Waiting for the phone: show the number and keep watching.',
  APPROVED: 'Approved on the phone: call completeSignIn now to get the session.',
  DENIED: 'Denied on the phone (see failureReason): offer a new sign-in or the password.',
  EXPIRED: 'Not answered, or not redeemed, in time: offer a new sign-in.',
  CANCELLED: 'Cancelled by the browser, because the user reported another sign-in as fraud, or because phone sign-in locked (failureReason says which).',
  COMPLETED: 'Redeemed by completeSignIn; nothing more will happen.',
};

export const SignInAttemptStatusEnum = builder.enumType('SignInAttemptStatus', {
  description: 'Where a number-matching sign-in stands. Final: DENIED, EXPIRED, CANCELLED, COMPLETED.',
  values: enumValues(ATTEMPT_STATUSES, (s) => STATUS_DESCRIPTIONS[s]),
});

const FAILURE_DESCRIPTIONS: Record<(typeof FAILURE_REASONS)[number], string> = {
  NUMBER_MISMATCH: 'The number entered on the phone was not the one shown; the attempt is over.',
  USER_DECLINED: 'The user chose Deny on the phone.',
  FRAUD_REPORTED: 'The user reported the sign-in as not theirs; requests to the phone are paused for a while.',
  NO_RESPONSE: 'The phone did not answer in time.',
  CANCELLED_BY_USER: 'The browser cancelled the sign-in.',
  SUPERSEDED_BY_FRAUD_REPORT: 'Cancelled because the user reported another sign-in as fraud.',
  NOT_REDEEMED: 'Approved, but completeSignIn was not called in time.',
  LOCKED_OUT: 'Phone sign-in for this user locked after repeated failures, which ends their open sign-ins: try again later, or use the password.',
  BROWSER_PHONE_APART: 'The phone that approved was far from this browser, so the approval was refused: sign in on a device near your phone, or use the password.',
  ENDED_BY_ADMIN: 'An administrator ended this sign-in. Ask your administrator before you try again.',
};

export const SignInFailureReasonEnum = builder.enumType('SignInFailureReason', {
  description: 'Why a sign-in attempt ended without a session.',
  values: enumValues(FAILURE_REASONS, (r) => FAILURE_DESCRIPTIONS[r]),
});

const PasswordRequiredReasonEnum = builder.enumType('PasswordRequiredReason', {
  description: 'Why no phone request was sent.',
  values: enumValues(PASSWORD_REQUIRED_REASONS, (r) =>
    r === 'PENDING_REQUEST'
      ? 'A request is already waiting on the phone: ask the user to answer it, or to use the password.'
      : 'Phone sign-in is not available for this name: ask for the password (the reason is deliberately not told).',
  ),
});

export const SignInAttemptKindEnum = builder.enumType('SignInAttemptKind', {
  description: 'What the number-matching request is for, and so which key of the authenticator answers it.',
  values: {
    PHONE_SIGN_IN: {
      value: 'PHONE_SIGN_IN',
      description:
        'Passwordless sign-in: the phone is the only factor asked for. Sent only to phones with phone sign-in enabled; answer with the phone sign-in credential key (kid = credentialId).',
    },
    PUSH_MFA: {
      value: 'PUSH_MFA',
      description:
        "A second factor after a correct password (policy mode PUSH). Sent to every registered authenticator of the user; answer with the device key (kid = deviceId), or with the device's phone sign-in credential key if it has one.",
    },
  } as const,
});

export const SignInSuccessRef = builder.objectRef<IssuedToken>('SignInSuccess').implement({
  description: 'A signed-in session.',
  isTypeOf: (value) => typeof value === 'object' && value !== null && 'accessToken' in value,
  fields: (t) => ({
    accessToken: t.exposeString('accessToken', { description: 'ES256 JWT; send as "Authorization: Bearer <accessToken>".' }),
    expiresAt: t.expose('expiresAt', { type: 'DateTime', description: 'When the access token stops being accepted.' }),
    registrationRequired: t.boolean({
      description:
        'True for an admin who signed in with a password and has no authenticator: this session may only read viewer, call beginAuthenticatorRegistration and signOut; anything else is FORBIDDEN (extensions.reason MFA_REGISTRATION_REQUIRED). Register the app, then sign in again and approve on the phone.',
      resolve: (token) => token.registrationRequired ?? false,
    }),
  }),
});

type Started = Extract<BeginSignInResult, { type: 'PHONE_SIGN_IN_STARTED' }> | Extract<PasswordSignInResult, { type: 'MFA_REQUIRED' }>;
const startedFields = (what: string) =>
  builder.objectRef<Started>(what).implement({
    description:
      what === 'PhoneSignInStarted'
        ? 'A request was sent to the user\'s phone. Show the number, follow signInAttempt, then call completeSignIn.'
        : 'The password was right; the user\'s policy, or their admin role, also requires approval on the phone. Show the number, follow signInAttempt, then call completeSignIn.',
    isTypeOf: (value) =>
      (value as Started).type === (what === 'PhoneSignInStarted' ? 'PHONE_SIGN_IN_STARTED' : 'MFA_REQUIRED'),
    fields: (t) => ({
      attemptId: t.exposeID('attemptId', { description: 'Id of the attempt, for signInAttempt, completeSignIn and cancelSignIn.' }),
      attemptSecret: t.exposeString('attemptSecret', {
        description: 'Proof that this browser started the attempt; given only here. Keep it in memory, never in a URL or log.',
      }),
      number: t.exposeString('number', { description: 'Show this to the user: they enter or pick it on the phone.' }),
      expiresAt: t.expose('expiresAt', { type: 'DateTime', description: 'When the phone stops accepting an answer.' }),
    }),
  });

const PhoneSignInStartedRef = startedFields('PhoneSignInStarted');
const MfaRequiredRef = startedFields('MfaRequired');

const PasswordRequiredRef = builder.objectRef<Extract<BeginSignInResult, { type: 'PASSWORD_REQUIRED' }>>('PasswordRequired').implement({
  description: 'No phone request was sent: ask for the password ("use your password instead").',
  isTypeOf: (value) => (value as BeginSignInResult).type === 'PASSWORD_REQUIRED',
  fields: (t) => ({
    reason: t.field({ type: PasswordRequiredReasonEnum, description: 'Why; the same for every name that cannot use phone sign-in.', resolve: (r) => r.reason }),
  }),
});

const FederationRedirectRef = builder.objectRef<Extract<PasswordSignInResult, { type: 'FEDERATION_REDIRECT' }>>('FederationRedirect').implement({
  description: "The domain's passwords are checked by its own identity provider: send the browser there.",
  isTypeOf: (value) => (value as PasswordSignInResult).type === 'FEDERATION_REDIRECT',
  fields: (t) => ({
    signInUrl: t.exposeString('signInUrl', { description: 'Where to send the browser to sign in.' }),
  }),
});

export const SignInAttemptRef = builder.objectRef<AttemptView>('SignInAttempt').implement({
  description: 'A number-matching sign-in as its browser sees it.',
  fields: (t) => ({
    id: t.exposeID('id', { description: 'The attempt id.' }),
    kind: t.field({ type: SignInAttemptKindEnum, description: 'Passwordless sign-in or push after a password.', resolve: (a) => a.kind }),
    status: t.field({ type: SignInAttemptStatusEnum, description: 'Where it stands; on APPROVED call completeSignIn.', resolve: (a) => a.status }),
    failureReason: t.field({
      type: SignInFailureReasonEnum,
      nullable: true,
      description: 'Why it ended without a session; null while it may still succeed and once completed.',
      resolve: (a) => a.failureReason,
    }),
    expiresAt: t.expose('expiresAt', { type: 'DateTime', description: 'When the phone stops accepting an answer.' }),
  }),
});

const appNameSchema = z.string().trim().min(1, 'Name the application being signed in to.').max(128, 'An application name has at most 128 characters.');
const attemptSecretSchema = z.string().min(1, 'Give the attemptSecret beginSignIn returned.').max(256, 'That is not an attemptSecret.');
const attemptIdSchema = z.string().max(64, 'That is not an attempt id.');
/** Shown on the phone when the browser does not say what it signs in to. */
const DEFAULT_APP_NAME = 'Sign-in page';

const attemptNotFound = () =>
  new GraphQLError('No sign-in attempt has this id and secret. Start a new sign-in.', { extensions: { code: 'NOT_FOUND' } });

/**
 * The query's and subscription's arguments. Not validated at the edge beyond plain text (which no
 * real id or secret fails): a malformed id or secret gets the same NOT_FOUND as a wrong one
 * (attemptForSecret), so it learns nothing more.
 */
const attemptKeyArgs = builder.args((t) => ({
  attemptId: t.id({ required: true, description: 'From PhoneSignInStarted or MfaRequired.' }),
  attemptSecret: t.string({ required: true, description: 'From PhoneSignInStarted or MfaRequired.' }),
}));

const BeginSignInInput = builder.inputType('BeginSignInInput', {
  description: 'Who is signing in, and to what.',
  fields: (t) => ({
    userPrincipalName: t.string({ description: 'Sign-in name, e.g. "adele@contoso.com".', validate: userPrincipalNameSchema }),
    appName: t.string({ description: 'The application being signed in to, shown on the phone, e.g. "Contoso Mail".', validate: appNameSchema }),
  }),
});

builder.mutationField('beginSignIn', (t) =>
  t.errorUnionField({
    types: [PhoneSignInStartedRef, PasswordRequiredRef, ...COMMON_ERRORS],
    union: { name: 'BeginSignInResult', description: 'A request sent to the phone, or a request for the password.' },
    description: describeMutation(
      'beginSignIn',
      'Start a passwordless phone sign-in. Users who cannot use it (unknown, no phone credential, not allowed, or temporarily refused) all get the same PasswordRequired.',
    ),
    args: { input: t.arg({ type: BeginSignInInput, required: true, description: 'The name and application.' }) },
    resolve: async (_root, { input }, { app, clientIp }) => {
      await app.rateLimits.consume('beginSignIn', { ip: clientIp, account: input.userPrincipalName });
      return beginSignIn(app, { ...input, ipAddress: clientIp });
    },
  }),
);

const AttemptKeyInput = builder.inputType('SignInAttemptKeyInput', {
  description: 'An attempt and the secret that proves this browser started it.',
  fields: (t) => ({
    attemptId: t.id({ description: 'From PhoneSignInStarted or MfaRequired.', validate: attemptIdSchema }),
    attemptSecret: t.string({ description: 'From PhoneSignInStarted or MfaRequired.', validate: attemptSecretSchema }),
  }),
});

builder.queryField('signInAttempt', (t) =>
  t.field({
    type: SignInAttemptRef,
    description: 'Poll a sign-in attempt. A wrong secret is NOT_FOUND, exactly like an unknown id.',
    args: {
      ...attemptKeyArgs,
    },
    resolve: async (_root, { attemptId, attemptSecret }, { app }) => {
      const attempt = await readAttempt(app, String(attemptId), attemptSecret);
      if (!attempt) throw attemptNotFound();
      return attempt;
    },
  }),
);

builder.subscriptionField('signInAttempt', (t) =>
  t.field({
    type: SignInAttemptRef,
    description:
      'Follow a sign-in attempt: its state now, then every change, ending after a final status. Expiry is sent when it happens. A wrong secret is NOT_FOUND.',
    args: {
      ...attemptKeyArgs,
    },
    subscribe: async (_root, { attemptId, attemptSecret }, { app }) => {
      const stream = await watchAttempt(app, String(attemptId), attemptSecret);
      if (!stream) throw attemptNotFound();
      return stream;
    },
    resolve: (attempt: AttemptView) => attempt,
  }),
);

builder.mutationField('completeSignIn', (t) =>
  t.field({
    type: SignInSuccessRef,
    description: describeMutation('completeSignIn', 'Redeem an APPROVED attempt for a session. Succeeds once; a wrong secret is NOT_FOUND.'),
    errors: { types: COMMON_ERRORS, directResult: true },
    args: { input: t.arg({ type: AttemptKeyInput, required: true, description: 'The attempt and its secret.' }) },
    resolve: async (_root, { input }, { app }) => {
      const token = await completeSignIn(app, { attemptId: String(input.attemptId), attemptSecret: input.attemptSecret });
      if (!token) throw attemptNotFound();
      return token;
    },
  }),
);

builder.mutationField('cancelSignIn', (t) =>
  t.field({
    type: SignInAttemptRef,
    description: describeMutation(
      'cancelSignIn',
      'Give up a pending or approved attempt (it becomes CANCELLED); a final one is returned as it is. A wrong secret is NOT_FOUND.',
    ),
    errors: { types: COMMON_ERRORS, directResult: true },
    args: { input: t.arg({ type: AttemptKeyInput, required: true, description: 'The attempt and its secret.' }) },
    resolve: async (_root, { input }, { app }) => {
      const attempt = await cancelSignIn(app, { attemptId: String(input.attemptId), attemptSecret: input.attemptSecret });
      if (!attempt) throw attemptNotFound();
      return attempt;
    },
  }),
);

const SignInWithPasswordInput = builder.inputType('SignInWithPasswordInput', {
  description: 'A user name and password.',
  fields: (t) => ({
    userPrincipalName: t.string({ description: 'Sign-in name, e.g. "adele@contoso.com".', validate: userPrincipalNameSchema }),
    password: t.string({ description: 'The password.', validate: passwordSchema }),
    appName: t.string({
      required: false,
      description: `The application being signed in to, shown on the phone if a push is needed; "${DEFAULT_APP_NAME}" when omitted.`,
      validate: appNameSchema.nullish(),
    }),
  }),
});

builder.mutationField('signInWithPassword', (t) =>
  t.errorUnionField({
    types: [SignInSuccessRef, MfaRequiredRef, FederationRedirectRef, ...COMMON_ERRORS],
    union: { name: 'SignInWithPasswordResult', description: 'A session, a push still to approve, or a redirect to the identity provider.' },
    description: describeMutation(
      'signInWithPassword',
      'Sign in with a password ("use your password instead"). A wrong password and an unknown user fail alike. Users whose policy requires push get MfaRequired; federated domains get FederationRedirect.',
    ),
    args: { input: t.arg({ type: SignInWithPasswordInput, required: true, description: 'Credentials.' }) },
    resolve: async (_root, { input }, { app, clientIp }) => {
      await app.rateLimits.consume('passwordSignIn', { ip: clientIp, account: input.userPrincipalName });
      return signInWithPassword(app, {
        userPrincipalName: input.userPrincipalName,
        password: input.password,
        appName: input.appName ?? DEFAULT_APP_NAME,
        ipAddress: clientIp,
      });
    },
  }),
);

builder.mutationField('signOut', (t) =>
  t.withAuth({ securityInfo: true }).boolean({
    description: describeMutation('signOut', 'End the session of the access token used: it and every token of its session are refused from now on, and WebSockets signed in with it are closed (4401).'),
    resolve: async (_root, _args, { app, auth }) => {
      await signOut(app, auth);
      return true;
    },
  }),
);
