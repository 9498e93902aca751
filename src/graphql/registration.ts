import { GraphQLError } from 'graphql';
import { z } from 'zod';
import { displayNameSchema } from '../domain/names.js';
import { versionSchema } from '../domain/versions.js';
import {
  type ActivatedAuthenticator as ActivatedAuthenticatorResult,
  type AuthenticatorRegistration,
  activateAuthenticator,
  beginAuthenticatorRegistration,
} from '../services/activation.js';
import { type AuthenticationMethod, listAuthenticationMethods, removeAuthenticationMethod } from '../services/authenticationMethods.js';
import { disablePhoneSignIn, enablePhoneSignIn } from '../services/phoneSignInCredential.js';
import { builder } from './builder.js';
import { notFound, REFUSED_ELSEWHERE, selfOrTenantAdmin, uuidSchema } from './common.js';
import { describeMutation } from './errorCodes.js';
import { COMMON_ERRORS } from './errors.js';
import { groupedBy, loadByTenant, ownKey, tenantKeyOptions } from './loaders.js';
import { UserRef } from './users.js';

/** Activation codes are 43 characters today; the bound only keeps garbage out. */
const activationCodeSchema = z.string().min(1, 'Give the code from the activation link.').max(256, 'An activation code has at most 256 characters.');
/** A compact JWS with an embedded P-256 key is well under 2 KB. */
const proofSchema = z.string().min(1, 'Give the signed proof (a compact JWS).').max(8192, 'A proof has at most 8192 characters.');

const DevicePlatform = builder.enumType('DevicePlatform', {
  description: 'The operating system of a phone running the authenticator app.',
  values: {
    IOS: { value: 'IOS', description: 'Apple iOS.' },
    ANDROID: { value: 'ANDROID', description: 'Google Android.' },
  } as const,
});

const AuthenticationMethodKind = builder.enumType('AuthenticationMethodKind', {
  description: 'What kind of sign-in method this is.',
  values: {
    AUTHENTICATOR_APP: { value: 'AUTHENTICATOR_APP', description: 'The authenticator app on a phone: push approvals and, when enabled, passwordless phone sign-in.' },
  } as const,
});

const AuthenticatorRegistrationRef = builder.objectRef<AuthenticatorRegistration>('AuthenticatorRegistration').implement({
  description: 'A single-use link that adds the authenticator app on a phone. Show activationUrl as a QR code.',
  fields: (t) => ({
    activationCode: t.exposeString('activationCode', { description: 'The secret single-use code (also inside activationUrl). Show it only to the user who asked.' }),
    activationUrl: t.exposeString('activationUrl', {
      description:
        'phonesignin://activate?endpoint=<url-encoded GraphQL endpoint>&code=<activationCode>&issuer=<url-encoded issuer>; the app scans it, signs its activation proof (and later messages) with aud = issuer, and calls activateAuthenticator at the endpoint. The issuer need not be the endpoint\'s origin. A link without it (from an older server): read issuer from the .well-known/openid-configuration beside the endpoint.',
    }),
    expiresAt: t.expose('expiresAt', { type: 'DateTime', description: 'When the code stops working (10 minutes after it was issued).' }),
  }),
});

const ActivatedAuthenticator = builder.objectRef<ActivatedAuthenticatorResult>('ActivatedAuthenticator').implement({
  description: 'A device registered to the user who issued the activation code.',
  fields: (t) => ({
    deviceId: t.exposeID('deviceId', { description: 'The device id: the kid, iss and sub of every device assertion from now on.' }),
    issuer: t.exposeString('issuer', {
      description:
        "This service's issuer (its public URL, the issuer parameter of the activation link): the aud of every device assertion and credential proof this device signs. It need not be the GraphQL endpoint's origin.",
    }),
  }),
});

const PhoneSignInEnabled = builder.objectRef<{ credentialId: string }>('PhoneSignInEnabled').implement({
  description: 'Phone sign-in is on for this device.',
  fields: (t) => ({
    credentialId: t.exposeID('credentialId', { description: 'The credential id: the kid of every challenge response this device signs.' }),
  }),
});

export const AuthenticationMethodRef = builder.objectRef<AuthenticationMethod>('AuthenticationMethod').implement({
  description: 'A registered authenticator of a user, as shown on Security info.',
  fields: (t) => ({
    id: t.exposeID('id', { description: 'The method id (the device id); pass it to removeAuthenticationMethod.' }),
    kind: t.field({ type: AuthenticationMethodKind, description: 'What kind of method this is.', resolve: () => 'AUTHENTICATOR_APP' as const }),
    displayName: t.exposeString('displayName', { description: 'The device name the app reported, e.g. "Adele\'s iPhone".' }),
    platform: t.expose('platform', { type: DevicePlatform, description: 'The phone operating system.' }),
    osVersion: t.exposeString('osVersion', { description: 'Operating system version reported at activation.' }),
    appVersion: t.exposeString('appVersion', { description: 'Authenticator app version reported at activation.' }),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When the app was activated.' }),
    lastUsedAt: t.expose('lastUsedAt', { type: 'DateTime', nullable: true, description: 'When the device last authenticated (to the minute); null if never.' }),
    phoneSignInEnabled: t.exposeBoolean('phoneSignInEnabled', { description: 'Whether passwordless phone sign-in is enabled on this device.' }),
  }),
});

builder.objectField(UserRef, 'authenticationMethods', (t) =>
  // Batched: a page of users reads all their authenticators in one query.
  t.loadableList({
    type: AuthenticationMethodRef,
    nullable: true,
    description: `The user's authenticators, oldest first. Readable by the user and by admins of the user's tenant.${REFUSED_ELSEWHERE}`,
    authScopes: selfOrTenantAdmin,
    load: loadByTenant(
      async ({ app }, tenantId, userIds) => groupedBy(await listAuthenticationMethods(app, { tenantId, userIds }), (method) => method.userId),
      [],
    ),
    loaderOptions: tenantKeyOptions,
    resolve: ownKey,
  }),
);

builder.queryField('authenticatorDevice', (t) =>
  t.withAuth({ device: true }).field({
    type: AuthenticationMethodRef,
    description: 'Authenticator app (device assertion): this device as the server knows it, e.g. whether phone sign-in is on.',
    resolve: async (_root, _args, { app, auth }) => {
      const [method] = await listAuthenticationMethods(app, { deviceId: auth.deviceId });
      // Only a race with removal gets here: the assertion was accepted a moment before.
      if (!method) throw new GraphQLError('This device was removed from the account.', { extensions: { code: 'NOT_FOUND' } });
      return method;
    },
  }),
);

builder.mutationField('beginAuthenticatorRegistration', (t) =>
  t.withAuth({ securityInfo: true }).field({
    type: AuthenticatorRegistrationRef,
    description: describeMutation(
      'beginAuthenticatorRegistration',
      'Start adding the authenticator app: returns a single-use activation link, valid 10 minutes, to show as a QR code. Also open to an admin who must first register a second factor (SignInSuccess.registrationRequired).',
    ),
    errors: { types: COMMON_ERRORS, directResult: true },
    resolve: (_root, _args, { app, auth }) => beginAuthenticatorRegistration(app, auth),
  }),
);

const AuthenticatorDeviceInput = builder.inputType('AuthenticatorDeviceInput', {
  description: 'What the app reports about the phone it runs on.',
  fields: (t) => ({
    displayName: t.string({ description: 'A name the user will recognise, e.g. "Adele\'s iPhone" (1 to 256 characters).', validate: displayNameSchema }),
    platform: t.field({ type: DevicePlatform, description: 'The phone operating system.' }),
    osVersion: t.string({ description: 'Operating system version, dotted numbers, e.g. "17.4.1".', validate: versionSchema }),
    appVersion: t.string({ description: 'Authenticator app version, dotted numbers, e.g. "6.2403.1".', validate: versionSchema }),
  }),
});

const ActivateAuthenticatorInput = builder.inputType('ActivateAuthenticatorInput', {
  description: 'An activation code, the phone, and proof of its new device key.',
  fields: (t) => ({
    activationCode: t.string({ description: 'The code parameter of the activation link.', validate: activationCodeSchema }),
    device: t.field({ type: AuthenticatorDeviceInput, description: 'The phone being activated.' }),
    proof: t.string({
      description: 'Activation proof: compact JWS, header { alg: "ES256", typ: "device-activation+jwt", jwk: <new device public key> }, claims { activationCode, aud: <issuer>, iat }.',
      validate: proofSchema,
    }),
  }),
});

builder.mutationField('activateAuthenticator', (t) =>
  t.field({
    type: ActivatedAuthenticator,
    description: describeMutation(
      'activateAuthenticator',
      'Authenticator app: register this phone with the code from the activation link (no Authorization header; the code authorises it). A refusal the user can fix on the phone (OS or app version, another work account) leaves the code usable until it expires.',
    ),
    errors: { types: COMMON_ERRORS, directResult: true },
    args: { input: t.arg({ type: ActivateAuthenticatorInput, required: true, description: 'Code, device and proof.' }) },
    resolve: async (_root, { input }, { app, clientIp }) => {
      await app.rateLimits.consume('activation', { ip: clientIp });
      return activateAuthenticator(app, input);
    },
  }),
);

const EnablePhoneSignInInput = builder.inputType('EnablePhoneSignInInput', {
  description: 'Proof of a new phone sign-in credential key.',
  fields: (t) => ({
    proof: t.string({
      description:
        'Credential proof: compact JWS, header { alg: "ES256", typ: "phone-sign-in-credential+jwt", jwk: <new credential public key> }, claims { deviceId, aud: <issuer>, iat, jti }.',
      validate: proofSchema,
    }),
  }),
});

builder.mutationField('enablePhoneSignIn', (t) =>
  t.withAuth({ device: true }).field({
    type: PhoneSignInEnabled,
    description: describeMutation(
      'enablePhoneSignIn',
      'Authenticator app (device assertion): turn on passwordless phone sign-in on this device. Enabling again replaces the credential key.',
    ),
    errors: { types: COMMON_ERRORS, directResult: true },
    args: { input: t.arg({ type: EnablePhoneSignInInput, required: true, description: 'The credential proof.' }) },
    resolve: (_root, { input }, { app, auth }) => enablePhoneSignIn(app, auth, input.proof),
  }),
);

builder.mutationField('disablePhoneSignIn', (t) =>
  t.withAuth({ device: true }).boolean({
    description: describeMutation(
      'disablePhoneSignIn',
      'Authenticator app (device assertion): turn phone sign-in off on this device. True if it was on, false if it was already off.',
    ),
    resolve: (_root, _args, { app, auth }) => disablePhoneSignIn(app, auth),
  }),
);

const RemovedAuthenticationMethod = builder.objectRef<{ id: string; userId: string }>('RemovedAuthenticationMethod').implement({
  description: 'A method that was removed: its device can no longer authenticate, and its connections were closed.',
  fields: (t) => ({
    id: t.exposeID('id', { description: 'The id of the removed method.' }),
    userId: t.exposeID('userId', { description: 'The user it belonged to.' }),
  }),
});

builder.mutationField('removeAuthenticationMethod', (t) =>
  t.withAuth({ user: true }).field({
    type: RemovedAuthenticationMethod,
    description: describeMutation(
      'removeAuthenticationMethod',
      "Remove an authenticator: your own, or (admins) any user's in your tenant. Takes effect at once. An unknown id is NOT_FOUND.",
    ),
    errors: { types: COMMON_ERRORS, directResult: true },
    args: { id: t.arg.id({ required: true, description: 'The AuthenticationMethod id.', validate: uuidSchema }) },
    resolve: async (_root, { id }, { app, auth }) => {
      const removed = await removeAuthenticationMethod(app, auth, String(id));
      if (!removed) throw notFound('authentication method');
      return removed;
    },
  }),
);
