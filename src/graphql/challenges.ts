import { GraphQLError } from 'graphql';
import { z } from 'zod';
import { USER_VERIFICATION_AMR } from '../domain/signInAttempt.js';
import { respondToChallenge } from '../services/challenges.js';
import { type ChallengeView, pendingChallenges, watchChallenges } from '../services/pendingChallenges.js';
import { builder } from './builder.js';
import { describeMutation } from './errorCodes.js';
import { COMMON_ERRORS } from './errors.js';
import { SignInAttemptKindEnum, SignInAttemptRef } from './signIn.js';

/** A challenge response is a compact JWS of a few hundred characters. */
const responseSchema = z.string().min(1, 'Give the signed challenge response (a compact JWS).').max(8192, 'A challenge response has at most 8192 characters.');

const PhoneSignInChallengeRef = builder.objectRef<ChallengeView>('PhoneSignInChallenge').implement({
  description:
    'A sign-in waiting for the user on this phone. Show it, let the user enter or pick the number shown in the browser, verify them locally (PIN or biometric), then answer with respondToPhoneSignInChallenge. Delivered at least once: de-duplicate by id.',
  fields: (t) => ({
    id: t.exposeID('id', { description: 'The challenge id; the `challengeId` claim of the response.' }),
    nonce: t.exposeString('nonce', { description: 'Copy into the `nonce` claim of the response unchanged.' }),
    kind: t.field({
      type: SignInAttemptKindEnum,
      description:
        'PHONE_SIGN_IN (passwordless): sign the response with the phone sign-in credential key, kid = credentialId. PUSH_MFA (after a password): sign it with the device key, kid = deviceId (or with the credential key, if this device has one).',
      resolve: (c) => c.kind,
    }),
    userPrincipalName: t.exposeString('userPrincipalName', { description: 'The account signing in.' }),
    appName: t.exposeString('appName', { nullable: true, description: 'The application being signed in to; null where the tenant does not show it.' }),
    location: t.exposeString('location', {
      nullable: true,
      description: 'Approximate place of the browser ("unknown" when it cannot be placed); null where the tenant does not show it.',
    }),
    ipAddress: t.exposeString('ipAddress', { nullable: true, description: "The browser's IP address; null where the tenant does not show the location." }),
    expiresAt: t.expose('expiresAt', { type: 'DateTime', description: 'After this an answer is refused; drop the prompt.' }),
    numberChoices: t.exposeStringList('numberChoices', {
      nullable: true,
      description: 'With pick-one-of-N matching, the numbers to offer, in this order; null when the user types the number.',
    }),
    riskWarning: t.exposeString('riskWarning', {
      nullable: true,
      description:
        'Show this above the number when set: what about this sign-in looks unusual, in sentences for the user ("This sign-in is from Sydney, Australia, 17,000 km from your last sign-in (London, United Kingdom) 2 minutes before it."). Set when a risk signal the tenant set to WARN was raised (TenantSettings.riskDetection); null otherwise.',
    }),
  }),
});

builder.queryField('pendingPhoneSignInChallenges', (t) =>
  t.withAuth({ device: true }).field({
    type: [PhoneSignInChallengeRef],
    description: "Authenticator (polling): every unexpired challenge waiting for this device's user that this device may answer, oldest first: PUSH_MFA challenges on any registered device, PHONE_SIGN_IN ones only with a live phone sign-in credential.",
    resolve: (_root, _args, { app, auth }) => pendingChallenges(app, auth),
  }),
);

builder.subscriptionField('phoneSignInChallenges', (t) =>
  t.withAuth({ device: true }).field({
    type: PhoneSignInChallengeRef,
    description:
      "Authenticator: every pending challenge of this device's user first, then each new one (the same kinds as pendingPhoneSignInChallenges). Delivered at least once, also after a reconnect: de-duplicate by id. Each connection needs a fresh device assertion in connection_init.",
    subscribe: (_root, _args, { app, auth }) => watchChallenges(app, auth),
    // Runs as each challenge goes out on the socket: where its push latency ends.
    resolve: (challenge: ChallengeView, _args, { app }) => {
      app.metrics.challengeDelivered(challenge.createdAt, app.clock.now());
      return challenge;
    },
  }),
);

/** `pin` → "pin", …: the uv values that approve, and the amr each gives (domain/signInAttempt.ts). */
const UV_AMR = Object.entries(USER_VERIFICATION_AMR)
  .map(([uv, amr]) => `"${uv}" → "${amr}"`)
  .join(', ');

const RespondInput = builder.inputType('RespondToPhoneSignInChallengeInput', {
  description: 'A signed answer to a challenge.',
  fields: (t) => ({
    response: t.string({
      description:
        `Compact JWS, header { alg: ES256, typ: "phone-sign-in-response+jwt", kid }, claims { challengeId, nonce, decision: approve|deny|report, number, uv, iat }. For a PHONE_SIGN_IN challenge kid = credentialId and the credential key signs; for PUSH_MFA kid = deviceId and the device key signs (or the credential key, kid = credentialId). uv says how the user was verified on the phone before signing, and sets the session's RFC 8176 amr value: ${UV_AMR}; "none" (no verification) may deny or report, never approve. Send the most specific value the platform tells you: "biometric" means a biometric of unknown kind, and only asserts user presence ("user").`,
      validate: responseSchema,
    }),
  }),
});

builder.mutationField('respondToPhoneSignInChallenge', (t) =>
  t.withAuth({ device: true }).field({
    type: SignInAttemptRef,
    description: describeMutation(
      'respondToPhoneSignInChallenge',
      'Authenticator: approve, deny or report a challenge. Returns the resulting attempt; answering again returns the stored outcome. A challenge not meant for this device is NOT_FOUND.',
    ),
    errors: { types: COMMON_ERRORS, directResult: true },
    args: { input: t.arg({ type: RespondInput, required: true, description: 'The signed response.' }) },
    resolve: async (_root, { input }, { app, auth, clientIp }) => {
      const result = await respondToChallenge(app, auth, input.response, clientIp);
      if (!result) throw new GraphQLError('No such challenge for this device. It may belong to another account.', { extensions: { code: 'NOT_FOUND' } });
      return result;
    },
  }),
);
