import { z } from 'zod';
import { RISK_ACTIONS, RISK_LEVELS, RISK_SIGNAL_TYPES, type RiskAction, type RiskLevel, type RiskSignal, type RiskSignalType, describeSignal } from '../domain/risk.js';
import { DEFAULT_TENANT_SETTINGS, type TenantSettings, tenantSettingsSchema } from '../domain/settings.js';
import { builder } from './builder.js';

// The risk signals of a sign-in (domain/risk.ts) as admins read them in the sign-in log, and the
// tenant settings that turn each off, to a warning on the phone, or to holding the push back.

const enumValues = <T extends string>(values: readonly T[], describe: Record<T, string>) =>
  Object.fromEntries(values.map((value) => [value, { description: describe[value] }])) as Record<T, { description: string }>;

const LEVELS: Record<RiskLevel, string> = {
  NONE: 'No signal was raised.',
  LOW: 'A new address, or a new city in a country the user signs in from.',
  MEDIUM: 'A country the user has not signed in from lately, or an anonymising network.',
  HIGH: 'Impossible travel, a phone far from the browser, or two or more MEDIUM signals.',
};

export const SignInRiskLevelEnum = builder.enumType('SignInRiskLevel', {
  description: 'How unusual one sign-in looks, from the risk signals it raised.',
  values: enumValues(RISK_LEVELS, LEVELS),
});

const ACTIONS: Record<RiskAction, string> = {
  OFF: 'The signal is not evaluated.',
  WARN: 'The push goes out with a warning the phone shows above the number (PhoneSignInChallenge.riskWarning); an answer-time signal is logged.',
  BLOCK:
    'The push is held back: the browser is asked for the password like anyone without phone sign-in (never told why), the sign-in log says RISK_HELD_BACK, and the user sees it in suppressedSignInRequests. After a correct password, the push MFA is held back and the sign-in fails with MFA_UNAVAILABLE, the reason untold (logged RISK_HELD_BACK); there an unfamiliar location or new IP address only warns, since a place becomes familiar only by a successful sign-in. At the answer, an approval is refused (BROWSER_PHONE_APART).',
};

export const RiskActionEnum = builder.enumType('RiskAction', {
  description: 'What the tenant does when a risk signal is raised.',
  values: enumValues(RISK_ACTIONS, ACTIONS),
});

const TYPES: Record<RiskSignalType, string> = {
  IMPOSSIBLE_TRAVEL:
    'From the user\'s last successful sign-in to this one is faster than an airliner (1,000 km/h), after taking both places\' accuracy radii off the distance. Needs a city-level GEOIP_DATABASE (coordinates).',
  UNFAMILIAR_LOCATION: 'A country (detail COUNTRY), or a city where the data has cities (detail CITY), the user has not signed in from in the last `days` days.',
  NEW_IP_ADDRESS: 'An address the user has not signed in from in the last `days` days.',
  ANONYMOUS_NETWORK: 'The address is marked by the IP data as a hosting provider, proxy, VPN or Tor exit (detail says which). Needs data that marks them.',
  BROWSER_PHONE_APART:
    'At the answer: the phone\'s own connection was farther from the browser than the tenant allows, or in another country where the data has no coordinates. A sign-in relayed from a look-alike page looks like this.',
};

export const RiskSignalTypeEnum = builder.enumType('RiskSignalType', {
  description: 'A kind of risk signal.',
  values: enumValues(RISK_SIGNAL_TYPES, TYPES),
});

export const RiskSignalRef = builder.objectRef<RiskSignal>('RiskSignal').implement({
  description: 'One risk signal a sign-in raised, with its evidence.',
  fields: (t) => ({
    type: t.field({ type: RiskSignalTypeEnum, description: 'Which signal.', resolve: (s) => s.type }),
    action: t.field({ type: RiskActionEnum, description: 'What the tenant setting did about it: WARN or BLOCK.', resolve: (s) => s.action }),
    description: t.string({ description: 'The evidence in a sentence, as the user is told it.', resolve: (s) => describeSignal(s) }),
    place: t.exposeString('place', { nullable: true, description: 'Where the browser was ("Sydney, Australia"), if known.' }),
    comparedPlace: t.exposeString('comparedPlace', {
      nullable: true,
      description: "What it was compared with: the last sign-in's place (IMPOSSIBLE_TRAVEL) or the phone's (BROWSER_PHONE_APART).",
    }),
    distanceKm: t.exposeInt('distanceKm', { nullable: true, description: 'Great-circle distance between the two places, in km.' }),
    speedKmh: t.exposeInt('speedKmh', { nullable: true, description: 'The speed the user would have needed, in km/h (IMPOSSIBLE_TRAVEL).' }),
    minutesSince: t.exposeInt('minutesSince', { nullable: true, description: 'Minutes since the last sign-in (IMPOSSIBLE_TRAVEL).' }),
    days: t.exposeInt('days', { nullable: true, description: 'The familiarity window, in days (UNFAMILIAR_LOCATION, NEW_IP_ADDRESS).' }),
    ipAddress: t.exposeString('ipAddress', { nullable: true, description: "The address concerned: the browser's, or the phone's for BROWSER_PHONE_APART." }),
    detail: t.exposeString('detail', { nullable: true, description: 'UNFAMILIAR_LOCATION: COUNTRY or CITY. ANONYMOUS_NETWORK: the kind of network, e.g. HOSTING_PROVIDER, TOR_EXIT_NODE.' }),
  }),
});

type RiskDetection = TenantSettings['riskDetection'];
const R = tenantSettingsSchema.shape.riskDetection.unwrap().shape;
const D = DEFAULT_TENANT_SETTINGS.riskDetection;
const bounds = (schema: z.ZodNumber, unit: string) => `${schema.minValue} to ${schema.maxValue} ${unit}`;

const SETTINGS: Record<Exclude<keyof RiskDetection, 'familiarDays' | 'browserPhoneApartKm'>, RiskSignalType> = {
  impossibleTravel: 'IMPOSSIBLE_TRAVEL',
  unfamiliarLocation: 'UNFAMILIAR_LOCATION',
  newIpAddress: 'NEW_IP_ADDRESS',
  anonymousNetwork: 'ANONYMOUS_NETWORK',
  browserPhoneApart: 'BROWSER_PHONE_APART',
};

export const RiskDetectionSettingsRef = builder.objectRef<RiskDetection>('RiskDetectionSettings').implement({
  description: 'What each risk signal does: OFF, WARN on the phone, or BLOCK (hold the push back, refuse the approval).',
  fields: (t) => ({
    ...Object.fromEntries(
      Object.entries(SETTINGS).map(([name, type]) => [
        name,
        t.field({ type: RiskActionEnum, description: `${type}: ${TYPES[type]} Default ${D[name as keyof typeof SETTINGS]}.`, resolve: (s) => s[name as keyof typeof SETTINGS] }),
      ]),
    ),
    familiarDays: t.exposeInt('familiarDays', { description: `How far back a country, city or address counts as familiar. Default ${D.familiarDays}; ${bounds(R.familiarDays.unwrap(), 'days')}.` }),
    browserPhoneApartKm: t.exposeInt('browserPhoneApartKm', {
      description: `How far apart browser and phone may be before BROWSER_PHONE_APART is raised, beyond both places' accuracy. Default ${D.browserPhoneApartKm}; ${bounds(R.browserPhoneApartKm.unwrap(), 'km')}.`,
    }),
  }),
});

export const RiskDetectionSettingsInput = builder.inputType('RiskDetectionSettingsInput', {
  description: 'Changes to the risk signals; omitted fields keep their value.',
  fields: (t) => ({
    impossibleTravel: t.field({ type: RiskActionEnum, required: false, description: 'IMPOSSIBLE_TRAVEL: OFF, WARN or BLOCK.' }),
    unfamiliarLocation: t.field({ type: RiskActionEnum, required: false, description: 'UNFAMILIAR_LOCATION: OFF, WARN or BLOCK.' }),
    newIpAddress: t.field({ type: RiskActionEnum, required: false, description: 'NEW_IP_ADDRESS: OFF, WARN or BLOCK.' }),
    anonymousNetwork: t.field({ type: RiskActionEnum, required: false, description: 'ANONYMOUS_NETWORK: OFF, WARN or BLOCK.' }),
    browserPhoneApart: t.field({ type: RiskActionEnum, required: false, description: 'BROWSER_PHONE_APART: OFF, WARN or BLOCK.' }),
    familiarDays: t.int({ required: false, description: `Familiarity window, ${bounds(R.familiarDays.unwrap(), 'days')}.`, validate: R.familiarDays.unwrap().nullish() }),
    browserPhoneApartKm: t.int({
      required: false,
      description: `Distance allowed between browser and phone, ${bounds(R.browserPhoneApartKm.unwrap(), 'km')}.`,
      validate: R.browserPhoneApartKm.unwrap().nullish(),
    }),
  }),
});
