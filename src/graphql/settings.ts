import { z } from 'zod';
import type { tenantDomains } from '../db/schema.js';
import { domainSchema } from '../domain/names.js';
import { DEFAULT_TENANT_SETTINGS, type TenantSettings, tenantSettingsSchema } from '../domain/settings.js';
import {
  addFederatedDomain,
  getTenant,
  getTenantSettings,
  listFederatedDomains,
  removeFederatedDomain,
  updateTenantSettings,
} from '../services/settings.js';
import { builder } from './builder.js';
import { callerOf, REFUSED_ELSEWHERE } from './common.js';
import { describeMutation } from './errorCodes.js';
import { COMMON_ERRORS } from './errors.js';
import { RiskDetectionSettingsInput, RiskDetectionSettingsRef } from './risk.js';
import { TenantRef } from './tenants.js';

const S = tenantSettingsSchema.shape;
const D = DEFAULT_TENANT_SETTINGS;

/** "Default 120; 30 to 600.", read from the schema so the documentation cannot drift from the rule. */
const range = (schema: z.ZodNumber, defaultValue: number, unit = '') =>
  `Default ${defaultValue}${unit}; from ${schema.minValue} to ${schema.maxValue}${unit}.`;

export const NumberMatchingStyleEnum = builder.enumType('NumberMatchingStyle', {
  description: 'How the user proves they see the sign-in screen.',
  values: {
    TYPED: { description: 'The browser shows a number; the user types it into the app (the device never sees it).' },
    CHOICE: { description: 'The browser shows a number; the app offers several and the user picks the one shown.' },
  } as const,
});

type NumberMatching = TenantSettings['numberMatching'];
const NM = S.numberMatching.unwrap().shape;
const NumberMatchingRef = builder.objectRef<NumberMatching>('NumberMatchingSettings').implement({
  description: 'Number matching, which stops a user approving a sign-in they did not start.',
  fields: (t) => ({
    style: t.field({ type: NumberMatchingStyleEnum, description: `TYPED or CHOICE. Default ${D.numberMatching.style}.`, resolve: (s) => s.style }),
    digits: t.exposeInt('digits', { description: `Digits in the number. ${range(NM.digits.unwrap(), D.numberMatching.digits)}` }),
    choices: t.exposeInt('choices', { description: `Numbers the app offers with CHOICE. ${range(NM.choices.unwrap(), D.numberMatching.choices)}` }),
  }),
});

const OS = S.minimumOsVersion.unwrap().shape;
const MinimumOsVersionRef = builder.objectRef<TenantSettings['minimumOsVersion']>('MinimumOsVersion').implement({
  description: 'Oldest operating system on which an authenticator may activate ("major.minor", up to four numbers).',
  fields: (t) => ({
    ios: t.exposeString('ios', { description: `iOS. Default ${D.minimumOsVersion.ios}.` }),
    android: t.exposeString('android', { description: `Android. Default ${D.minimumOsVersion.android}.` }),
  }),
});

const PR = S.pushRateLimit.unwrap().shape;
const PushRateLimitRef = builder.objectRef<TenantSettings['pushRateLimit']>('PushRateLimit').implement({
  description: 'At most maxPushes sign-in requests per user in any windowMinutes, against push fatigue.',
  fields: (t) => ({
    maxPushes: t.exposeInt('maxPushes', { description: `Requests allowed per window. ${range(PR.maxPushes.unwrap(), D.pushRateLimit.maxPushes)}` }),
    windowMinutes: t.exposeInt('windowMinutes', { description: `Window length. ${range(PR.windowMinutes.unwrap(), D.pushRateLimit.windowMinutes, ' minutes')}` }),
  }),
});

const TenantSettingsRef = builder.objectRef<TenantSettings>('TenantSettings').implement({
  description: 'The prerequisites and limits of push and phone sign-in in a tenant, each with its default and bounds.',
  fields: (t) => ({
    pushNotificationsAllowed: t.exposeBoolean('pushNotificationsAllowed', {
      description: `Push notifications allowed as a verification method; phone sign-in needs them. Default ${D.pushNotificationsAllowed}.`,
    }),
    combinedRegistrationEnabled: t.exposeBoolean('combinedRegistrationEnabled', {
      description: `Users may register the Authenticator app from their security info page. Default ${D.combinedRegistrationEnabled}.`,
    }),
    numberMatching: t.field({ type: NumberMatchingRef, description: 'Number matching style and sizes.', resolve: (s) => s.numberMatching }),
    challengeLifetimeSeconds: t.exposeInt('challengeLifetimeSeconds', {
      description: `How long a sign-in request waits for an answer (NIST SP 800-63B: at most 10 minutes). ${range(S.challengeLifetimeSeconds.unwrap(), D.challengeLifetimeSeconds, ' s')}`,
    }),
    showApplicationName: t.exposeBoolean('showApplicationName', {
      description: `Show the app being signed in to on the phone. Default ${D.showApplicationName}.`,
    }),
    showGeographicLocation: t.exposeBoolean('showGeographicLocation', {
      description: `Show where the sign-in comes from on the phone. Default ${D.showGeographicLocation}.`,
    }),
    maxAuthenticatorsPerUser: t.exposeInt('maxAuthenticatorsPerUser', {
      description: `Phones on which one user may have phone sign-in turned on (enablePhoneSignIn refuses one more with TOO_MANY_AUTHENTICATORS). ${range(S.maxAuthenticatorsPerUser.unwrap(), D.maxAuthenticatorsPerUser)}`,
    }),
    minimumOsVersion: t.field({ type: MinimumOsVersionRef, description: 'Oldest operating system per platform.', resolve: (s) => s.minimumOsVersion }),
    minimumAppVersion: t.exposeString('minimumAppVersion', {
      nullable: true,
      description: 'Oldest Authenticator app version allowed to activate ("major.minor…"). Default null: any version.',
    }),
    failureLockoutThreshold: t.exposeInt('failureLockoutThreshold', {
      description: `Failures in a row before the user is locked out for a while, counted apart for phone sign-in (wrong number, Deny, fraud report; not forged signatures, which prove nothing about the user) and for passwords; the lock starts at 60 s and doubles up to 1 h. ${range(S.failureLockoutThreshold.unwrap(), D.failureLockoutThreshold)}`,
    }),
    pushRateLimit: t.field({ type: PushRateLimitRef, description: 'Limit on sign-in requests per user.', resolve: (s) => s.pushRateLimit }),
    fraudMuteMinutes: t.exposeInt('fraudMuteMinutes', {
      description: `After a user reports "this wasn't me", no sign-in requests reach them for this long. ${range(S.fraudMuteMinutes.unwrap(), D.fraudMuteMinutes, ' minutes')}`,
    }),
    riskDetection: t.field({
      type: RiskDetectionSettingsRef,
      description: 'Risk signals of a phone sign-in (where it comes from, against where the user signed in before, and where the phone answers from), each OFF, WARN or BLOCK.',
      resolve: (s) => s.riskDetection,
    }),
  }),
});

const FederatedDomainRef = builder.objectRef<typeof tenantDomains.$inferSelect>('FederatedDomain').implement({
  description: "A domain whose users enter their password at their organisation's own identity provider.",
  fields: (t) => ({
    domain: t.exposeString('domain', { description: 'The domain, e.g. "fabrikam.com".' }),
    signInUrl: t.string({ description: 'Where password sign-ins for this domain are sent.', resolve: (d) => d.federationSignInUrl ?? '' }),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When the domain was added.' }),
  }),
});

builder.objectFields(TenantRef, (t) => ({
  settings: t.field({
    type: TenantSettingsRef,
    nullable: true,
    description: `Admin: the tenant settings.${REFUSED_ELSEWHERE}`,
    authScopes: { admin: true },
    resolve: (tenant, _args, { app }) => getTenantSettings(app, tenant.id),
  }),
  federatedDomains: t.field({
    type: [FederatedDomainRef],
    nullable: true,
    description: `Admin: the federated domains, with their sign-in URLs.${REFUSED_ELSEWHERE}`,
    authScopes: { admin: true },
    resolve: (tenant, _args, { app }) => listFederatedDomains(app, tenant.id),
  }),
}));

builder.queryField('tenant', (t) =>
  t.withAuth({ admin: true }).field({
    type: TenantRef,
    description: 'Admin: your own tenant, with its settings and domains.',
    resolve: (_root, _args, { app, auth }) => getTenant(app, auth.tenantId),
  }),
);

const NumberMatchingInput = builder.inputType('NumberMatchingSettingsInput', {
  description: 'Changes to number matching; omitted fields keep their value.',
  fields: (t) => ({
    style: t.field({ type: NumberMatchingStyleEnum, required: false, description: 'TYPED or CHOICE.' }),
    digits: t.int({ required: false, description: `Digits in the number, ${NM.digits.unwrap().minValue} to ${NM.digits.unwrap().maxValue}.`, validate: NM.digits.unwrap().nullish() }),
    choices: t.int({ required: false, description: `Numbers offered with CHOICE, ${NM.choices.unwrap().minValue} to ${NM.choices.unwrap().maxValue}.`, validate: NM.choices.unwrap().nullish() }),
  }),
});

const MinimumOsVersionInput = builder.inputType('MinimumOsVersionInput', {
  description: 'Changes to the minimum OS versions; omitted fields keep their value.',
  fields: (t) => ({
    ios: t.string({ required: false, description: 'Oldest iOS, e.g. "15.0".', validate: OS.ios.unwrap().nullish() }),
    android: t.string({ required: false, description: 'Oldest Android, e.g. "10".', validate: OS.android.unwrap().nullish() }),
  }),
});

const PushRateLimitInput = builder.inputType('PushRateLimitInput', {
  description: 'Changes to the push rate limit; omitted fields keep their value.',
  fields: (t) => ({
    maxPushes: t.int({ required: false, description: `Requests per window, ${PR.maxPushes.unwrap().minValue} to ${PR.maxPushes.unwrap().maxValue}.`, validate: PR.maxPushes.unwrap().nullish() }),
    windowMinutes: t.int({
      required: false,
      description: `Window in minutes, ${PR.windowMinutes.unwrap().minValue} to ${PR.windowMinutes.unwrap().maxValue}.`,
      validate: PR.windowMinutes.unwrap().nullish(),
    }),
  }),
});

const UpdateTenantSettingsInput = builder.inputType('UpdateTenantSettingsInput', {
  description: 'Changes to tenant settings; omitted fields keep their value. Out-of-range values fail with INVALID_INPUT and change nothing.',
  fields: (t) => ({
    pushNotificationsAllowed: t.boolean({ required: false, description: 'Allow push notifications.' }),
    combinedRegistrationEnabled: t.boolean({ required: false, description: 'Allow registering the app from security info.' }),
    numberMatching: t.field({ type: NumberMatchingInput, required: false, description: 'Number matching changes.' }),
    challengeLifetimeSeconds: t.int({
      required: false,
      description: `Seconds a sign-in request waits, ${S.challengeLifetimeSeconds.unwrap().minValue} to ${S.challengeLifetimeSeconds.unwrap().maxValue}.`,
      validate: S.challengeLifetimeSeconds.unwrap().nullish(),
    }),
    showApplicationName: t.boolean({ required: false, description: 'Show the app name on the phone.' }),
    showGeographicLocation: t.boolean({ required: false, description: 'Show the location on the phone.' }),
    maxAuthenticatorsPerUser: t.int({
      required: false,
      description: `Phones with phone sign-in per user, ${S.maxAuthenticatorsPerUser.unwrap().minValue} to ${S.maxAuthenticatorsPerUser.unwrap().maxValue}.`,
      validate: S.maxAuthenticatorsPerUser.unwrap().nullish(),
    }),
    minimumOsVersion: t.field({ type: MinimumOsVersionInput, required: false, description: 'Minimum OS version changes.' }),
    minimumAppVersion: t.string({
      required: false,
      description: 'Oldest app version, e.g. "6.2"; an explicit null removes the minimum.',
      validate: S.minimumAppVersion.unwrap().optional(),
    }),
    failureLockoutThreshold: t.int({
      required: false,
      description: `Failures before lockout, ${S.failureLockoutThreshold.unwrap().minValue} to ${S.failureLockoutThreshold.unwrap().maxValue}.`,
      validate: S.failureLockoutThreshold.unwrap().nullish(),
    }),
    pushRateLimit: t.field({ type: PushRateLimitInput, required: false, description: 'Push rate limit changes.' }),
    fraudMuteMinutes: t.int({
      required: false,
      description: `Minutes of silence after a fraud report, ${S.fraudMuteMinutes.unwrap().minValue} to ${S.fraudMuteMinutes.unwrap().maxValue}.`,
      validate: S.fraudMuteMinutes.unwrap().nullish(),
    }),
    riskDetection: t.field({ type: RiskDetectionSettingsInput, required: false, description: 'Risk signal changes.' }),
  }),
});

/** GraphQL null means "keep" for every setting except minimumAppVersion, where it means "none". */
const withoutNulls = <T extends object>(value: T | null | undefined) =>
  value ? (Object.fromEntries(Object.entries(value).filter(([, v]) => v !== null && v !== undefined)) as { [K in keyof T]?: NonNullable<T[K]> }) : undefined;

const FederatedDomainInput = builder.inputType('AddFederatedDomainInput', {
  description: 'A federated domain and where its users sign in.',
  fields: (t) => ({
    domain: t.string({ description: 'The domain, e.g. "fabrikam.com"; unique across all tenants.', validate: domainSchema }),
    signInUrl: t.string({
      description: "HTTPS URL of the domain's identity provider sign-in page (at most 2048 characters).",
      validate: z.url({ protocol: /^https$/, error: 'Give an https:// URL.' }).max(2048, 'A URL has at most 2048 characters.'),
    }),
  }),
});

builder.mutationFields((t) => ({
  updateTenantSettings: t.withAuth({ admin: true }).field({
    type: TenantSettingsRef,
    description: describeMutation('updateTenantSettings', 'Admin: change some tenant settings; the others keep their value.'),
    errors: { types: COMMON_ERRORS, directResult: true },
    args: { input: t.arg({ type: UpdateTenantSettingsInput, required: true, description: 'The changes.' }) },
    resolve: (_root, { input }, { app, auth }) => {
      const { minimumAppVersion, numberMatching, minimumOsVersion, pushRateLimit, riskDetection, ...flat } = input;
      return updateTenantSettings(app, callerOf(auth), {
        ...withoutNulls(flat),
        numberMatching: withoutNulls(numberMatching),
        minimumOsVersion: withoutNulls(minimumOsVersion),
        pushRateLimit: withoutNulls(pushRateLimit),
        riskDetection: withoutNulls(riskDetection),
        minimumAppVersion,
      });
    },
  }),
  addFederatedDomain: t.withAuth({ admin: true }).field({
    type: FederatedDomainRef,
    description: describeMutation('addFederatedDomain', 'Admin: add a federated domain. A domain any tenant already has fails with ALREADY_EXISTS.'),
    errors: { types: COMMON_ERRORS, directResult: true },
    args: { input: t.arg({ type: FederatedDomainInput, required: true, description: 'The domain and its sign-in URL.' }) },
    resolve: (_root, { input }, { app, auth }) => addFederatedDomain(app, callerOf(auth), input),
  }),
  removeFederatedDomain: t.withAuth({ admin: true }).field({
    type: 'String',
    description: describeMutation(
      'removeFederatedDomain',
      'Admin: remove a federated domain, answering its name. The primary domain cannot be removed; a domain with users fails with IN_USE.',
    ),
    errors: { types: COMMON_ERRORS, dataField: { description: 'The domain removed.' } },
    args: { domain: t.arg.string({ required: true, description: 'The domain to remove.', validate: domainSchema }) },
    resolve: (_root, { domain }, { app, auth }) => removeFederatedDomain(app, callerOf(auth), domain),
  }),
}));
