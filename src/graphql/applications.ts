import { GraphQLError } from 'graphql';
import { z } from 'zod';
import { displayNameSchema } from '../domain/names.js';
import { MAX_REDIRECT_URIS, redirectUriProblem } from '../domain/oidc.js';
import { type Application, listApplications, registerApplication, removeApplication } from '../services/applications.js';
import { builder } from './builder.js';
import { callerOf } from './common.js';
import { describeMutation } from './errorCodes.js';
import { COMMON_ERRORS } from './errors.js';

const redirectUri = z.string().max(2048, 'A redirect URI has at most 2048 characters.').superRefine((uri, ctx) => {
  const problem = redirectUriProblem(uri);
  if (problem) ctx.addIssue({ code: 'custom', message: problem });
});

const SecretMethod = builder.enumType('ClientSecretMethod', {
  description: 'How a confidential application sends its client secret to the token endpoint.',
  values: {
    CLIENT_SECRET_BASIC: { value: 'client_secret_basic', description: 'HTTP Basic authentication (client_secret_basic); the default.' },
    CLIENT_SECRET_POST: { value: 'client_secret_post', description: 'In the form body (client_secret_post).' },
  } as const,
});

const ApplicationRef = builder.objectRef<Application>('Application').implement({
  description: 'An application that signs its users in through OpenID Connect (an OAuth client).',
  fields: (t) => ({
    clientId: t.exposeID('clientId', { description: 'The client_id the application sends.' }),
    name: t.exposeString('name', { description: 'The name shown to people on the consent and sign-out pages.' }),
    redirectUris: t.exposeStringList('redirectUris', { description: 'Where authorization answers may be sent; exact match.' }),
    postLogoutRedirectUris: t.exposeStringList('postLogoutRedirectUris', { description: 'Where the browser may return after RP-initiated logout.' }),
    confidential: t.exposeBoolean('confidential', { description: 'True: a server with a client secret. False: a public client (browser or native), which must use PKCE.' }),
    firstParty: t.exposeBoolean('firstParty', { description: 'True: the organisation’s own application, which skips the consent page.' }),
    tokenEndpointAuthMethod: t.exposeString('tokenEndpointAuthMethod', { description: 'client_secret_basic, client_secret_post, or none (public).' }),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When it was registered.' }),
  }),
});

const RegisteredApplicationRef = builder
  .objectRef<{ clientId: string; clientSecret: string | null; application: Application }>('RegisteredApplication')
  .implement({
    description: 'A new application. Copy the client secret now: it is never shown again.',
    fields: (t) => ({
      clientId: t.exposeID('clientId', { description: 'The client_id to configure in the application.' }),
      clientSecret: t.exposeString('clientSecret', { nullable: true, description: 'The client secret (confidential applications only; null for public ones). Only its digest is kept.' }),
      application: t.field({ type: ApplicationRef, description: 'The registration.', resolve: (r) => r.application }),
    }),
  });

const RegisterApplicationInput = builder.inputType('RegisterApplicationInput', {
  description: 'An application to register.',
  fields: (t) => ({
    name: t.string({ description: 'Name shown to people, e.g. "Contoso Mail".', validate: displayNameSchema }),
    redirectUris: t.stringList({
      description: `1 to ${MAX_REDIRECT_URIS} redirect URIs: https, or http on 127.0.0.1, [::1] or localhost for development; no fragment.`,
      validate: z.array(redirectUri).min(1, 'Give at least one redirect URI.').max(MAX_REDIRECT_URIS, `At most ${MAX_REDIRECT_URIS} redirect URIs.`),
    }),
    postLogoutRedirectUris: t.stringList({
      required: false,
      description: `Where the browser may return after signing out (same rules, at most ${MAX_REDIRECT_URIS}); none by default.`,
      validate: z.array(redirectUri).max(MAX_REDIRECT_URIS, `At most ${MAX_REDIRECT_URIS} post-logout redirect URIs.`).nullish(),
    }),
    confidential: t.boolean({ description: 'True for a server-side application that can keep a secret; false for a browser or native app.' }),
    firstParty: t.boolean({ required: false, defaultValue: false, description: 'True for your organisation’s own application: no consent page. Default false.' }),
    clientSecretMethod: t.field({ type: SecretMethod, required: false, description: 'Confidential applications: how the secret is sent. Default CLIENT_SECRET_BASIC.' }),
  }),
});

builder.queryField('applications', (t) =>
  t.withAuth({ admin: true }).field({
    type: [ApplicationRef],
    description: 'Admin: the applications registered in your tenant, oldest first.',
    resolve: (_root, _args, { app, auth }) => listApplications(app, callerOf(auth)),
  }),
);

builder.mutationFields((t) => ({
  registerApplication: t.withAuth({ admin: true }).field({
    type: RegisteredApplicationRef,
    description: describeMutation('registerApplication', 'Admin: register an application that signs its users in through OpenID Connect (audited).'),
    errors: { types: COMMON_ERRORS, directResult: true },
    args: { input: t.arg({ type: RegisterApplicationInput, required: true, description: 'The application.' }) },
    resolve: (_root, { input }, { app, auth }) =>
      registerApplication(app, callerOf(auth), {
        name: input.name,
        redirectUris: input.redirectUris,
        postLogoutRedirectUris: input.postLogoutRedirectUris ?? [],
        confidential: input.confidential,
        firstParty: input.firstParty ?? false,
        secretMethod: input.clientSecretMethod ?? undefined,
      }),
  }),
  removeApplication: t.withAuth({ admin: true }).field({
    type: 'ID',
    description: describeMutation(
      'removeApplication',
      'Admin: remove an application with every grant and token issued to it (audited), answering its client id. An unknown id is a NOT_FOUND GraphQL error.',
    ),
    args: { clientId: t.arg.id({ required: true, description: 'The client id of an application of your tenant.' }) },
    resolve: async (_root, { clientId }, { app, auth }) => {
      const removed = await removeApplication(app, callerOf(auth), String(clientId));
      if (!removed) throw new GraphQLError('No such application in your tenant. Check the client id.', { extensions: { code: 'NOT_FOUND' } });
      return removed;
    },
  }),
}));
