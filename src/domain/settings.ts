import { z } from 'zod';
import { RISK_ACTIONS } from './risk.js';
import { versionSchema } from './versions.js';

const riskAction = z.enum(RISK_ACTIONS);

/** Tenant prerequisites for push and phone sign-in, with their documented defaults and bounds. */
export const tenantSettingsSchema = z.object({
  /** Push notifications allowed as a verification method (a prerequisite of phone sign-in). */
  pushNotificationsAllowed: z.boolean().default(true),
  /** Combined security-info registration, which authenticator registration relies on. */
  combinedRegistrationEnabled: z.boolean().default(true),
  numberMatching: z
    .object({
      style: z.enum(['TYPED', 'CHOICE']).default('TYPED'),
      digits: z.number().int().min(2).max(8).default(2),
      choices: z.number().int().min(3).max(10).default(3),
    })
    .prefault({}),
  /** NIST SP 800-63B: an out-of-band secret lives at most 10 minutes. */
  challengeLifetimeSeconds: z.number().int().min(30).max(600).default(120),
  showApplicationName: z.boolean().default(true),
  showGeographicLocation: z.boolean().default(true),
  maxAuthenticatorsPerUser: z.number().int().min(1).max(20).default(5),
  minimumOsVersion: z
    .object({
      ios: versionSchema.default('8.0'),
      android: versionSchema.default('6.0'),
    })
    .prefault({}),
  minimumAppVersion: versionSchema.nullable().default(null),
  failureLockoutThreshold: z.number().int().min(3).max(100).default(10),
  pushRateLimit: z
    .object({
      maxPushes: z.number().int().min(1).max(100).default(5),
      windowMinutes: z.number().int().min(1).max(1440).default(10),
    })
    .prefault({}),
  fraudMuteMinutes: z.number().int().min(1).max(10080).default(60),
  /**
   * Risk signals (domain/risk.ts), each OFF, WARN (a warning on the phone) or BLOCK (no push).
   * Travel, place and address warn by default: they cost nothing and tell the user what a relayed
   * sign-in looks like. Browser-and-phone apart is off, since phones on mobile data often come out
   * of a carrier gateway far from where they are; anonymising networks are off, since the bundled
   * country data does not mark them and hosting providers include every corporate VPN.
   */
  riskDetection: z
    .object({
      impossibleTravel: riskAction.default('WARN'),
      unfamiliarLocation: riskAction.default('WARN'),
      familiarDays: z.number().int().min(1).max(365).default(30),
      newIpAddress: riskAction.default('WARN'),
      anonymousNetwork: riskAction.default('OFF'),
      browserPhoneApart: riskAction.default('OFF'),
      browserPhoneApartKm: z.number().int().min(50).max(20000).default(500),
    })
    .prefault({}),
});

export type TenantSettings = z.infer<typeof tenantSettingsSchema>;

export const DEFAULT_TENANT_SETTINGS: TenantSettings = tenantSettingsSchema.parse({});
