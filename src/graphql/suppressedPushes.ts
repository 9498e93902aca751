import { SUPPRESSED_SHOWN_HOURS, SUPPRESSED_SHOWN_MAX, type SuppressedRequest, recentSuppressedRequests, suppressedRequestsForDevice } from '../services/suppressedPushes.js';
import { builder } from './builder.js';
import { SignInAttemptKindEnum } from './signIn.js';
import { UserRef } from './users.js';

const SuppressionReasonEnum = builder.enumType('SuppressedSignInReason', {
  description: 'Why a sign-in request was not sent to the phone.',
  values: {
    RATE_LIMITED: { description: "Too many requests were sent to the user's phone recently (the tenant's push rate limit)." },
    PUSH_MUTED: { description: 'Requests to the phone were paused after the user reported a sign-in as not theirs.' },
    LOCKED_OUT: { description: 'Phone sign-in was locked after repeated failures.' },
    RISK_HELD_BACK: { description: 'The request looked too unusual to push (impossible travel, a new place or address, an anonymising network, as the tenant set them to BLOCK); detail says what.' },
  } as const,
});

const SuppressedSignInRequestRef = builder.objectRef<SuppressedRequest>('SuppressedSignInRequest').implement({
  description:
    'A sign-in request for this account that was not pushed to the phone. Someone asked to sign in as the user; if it was not them, they should tell their administrator (and change their password if they have one).',
  fields: (t) => ({
    at: t.expose('at', { type: 'DateTime', description: 'When the request was made.' }),
    kind: t.expose('kind', { type: SignInAttemptKindEnum, description: 'Passwordless phone sign-in, or push MFA after a correct password.' }),
    reason: t.expose('reason', { type: SuppressionReasonEnum, description: 'Why it was not pushed.' }),
    appName: t.exposeString('appName', { nullable: true, description: 'The application the request was for; null where the tenant does not show it to the authenticator.' }),
    ipAddress: t.exposeString('ipAddress', { nullable: true, description: 'Where the request came from; null when unknown, or where the tenant does not show it to the authenticator.' }),
    location: t.exposeString('location', { nullable: true, description: 'Approximate place of that address; null where the tenant does not show it to the authenticator.' }),
    detail: t.exposeString('detail', {
      nullable: true,
      description: 'For RISK_HELD_BACK, what held the request back, in sentences for the user ("This sign-in is from Sydney, Australia, 17,000 km from your last sign-in …"); null for other reasons, and where the tenant does not show the location to the authenticator.',
    }),
  }),
});

const WHICH = `the newest ${SUPPRESSED_SHOWN_MAX} of the last ${SUPPRESSED_SHOWN_HOURS} hours, newest first`;

builder.objectField(UserRef, 'suppressedSignInRequests', (t) =>
  t.field({
    type: [SuppressedSignInRequestRef],
    nullable: true,
    description: `Security info: sign-in requests for this user that were not pushed to their phone (rate limit, muted after a fraud report, locked, held back as too risky), ${WHICH}. The browser that asked was only told to use the password. Readable by the user themself; null, with a FORBIDDEN error, for any other caller, so the rest of the answer stays.`,
    authScopes: (user, _args, { auth }) => auth.kind === 'user' && auth.userId === user.id,
    resolve: (user, _args, { app }) => recentSuppressedRequests(app.db, user, app.clock.now()),
  }),
);

builder.queryField('suppressedPhoneSignInRequests', (t) =>
  t.withAuth({ device: true }).field({
    type: [SuppressedSignInRequestRef],
    description: `Authenticator: sign-in requests for this device's user that were not pushed to any phone, ${WHICH}. Read it on connecting, and tell the user: requests they did not make mean someone is trying their account.`,
    resolve: (_root, _args, { app, auth }) => suppressedRequestsForDevice(app, auth),
  }),
);
