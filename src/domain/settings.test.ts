import { describe, expect, it } from 'vitest';
import { DEFAULT_TENANT_SETTINGS, tenantSettingsSchema } from './settings.js';

describe('tenant settings', () => {
  it('has the documented defaults', () => {
    expect(DEFAULT_TENANT_SETTINGS).toEqual({
      pushNotificationsAllowed: true,
      combinedRegistrationEnabled: true,
      numberMatching: { style: 'TYPED', digits: 2, choices: 3 },
      challengeLifetimeSeconds: 120,
      showApplicationName: true,
      showGeographicLocation: true,
      maxAuthenticatorsPerUser: 5,
      minimumOsVersion: { ios: '8.0', android: '6.0' },
      minimumAppVersion: null,
      failureLockoutThreshold: 10,
      pushRateLimit: { maxPushes: 5, windowMinutes: 10 },
      fraudMuteMinutes: 60,
      riskDetection: {
        impossibleTravel: 'WARN',
        unfamiliarLocation: 'WARN',
        familiarDays: 30,
        newIpAddress: 'WARN',
        anonymousNetwork: 'OFF',
        browserPhoneApart: 'OFF',
        browserPhoneApartKm: 500,
      },
    });
  });

  it('fills in settings added after a tenant saved its own', () => {
    expect(tenantSettingsSchema.parse({ challengeLifetimeSeconds: 300, numberMatching: { style: 'CHOICE' } })).toMatchObject({
      challengeLifetimeSeconds: 300,
      numberMatching: { style: 'CHOICE', digits: 2, choices: 3 },
      fraudMuteMinutes: 60,
    });
  });

  it.each([
    ['challengeLifetimeSeconds', { challengeLifetimeSeconds: 29 }],
    ['challengeLifetimeSeconds', { challengeLifetimeSeconds: 601 }],
    ['numberMatching.digits', { numberMatching: { digits: 1 } }],
    ['numberMatching.digits', { numberMatching: { digits: 9 } }],
    ['numberMatching.choices', { numberMatching: { choices: 2 } }],
    ['numberMatching.choices', { numberMatching: { choices: 11 } }],
    ['numberMatching.style', { numberMatching: { style: 'SPOKEN' } }],
    ['maxAuthenticatorsPerUser', { maxAuthenticatorsPerUser: 0 }],
    ['failureLockoutThreshold', { failureLockoutThreshold: 2 }],
    ['pushRateLimit.maxPushes', { pushRateLimit: { maxPushes: 0 } }],
    ['fraudMuteMinutes', { fraudMuteMinutes: 0 }],
    ['riskDetection.familiarDays', { riskDetection: { familiarDays: 0 } }],
    ['riskDetection.browserPhoneApartKm', { riskDetection: { browserPhoneApartKm: 20001 } }],
    ['riskDetection.newIpAddress', { riskDetection: { newIpAddress: 'LOUD' } }],
    ['minimumOsVersion.ios', { minimumOsVersion: { ios: 'fifteen' } }],
    ['minimumAppVersion', { minimumAppVersion: '1.2.3.4.5' }],
    // Versions are compared as numbers: a part longer than six digits would lose precision (and bloat the row).
    ['minimumOsVersion.ios', { minimumOsVersion: { ios: '1'.repeat(5000) } }],
    ['minimumOsVersion.android', { minimumOsVersion: { android: '6.1234567' } }],
    ['minimumAppVersion', { minimumAppVersion: '9'.repeat(50) }],
  ])('refuses %s out of bounds', (path, value) => {
    const result = tenantSettingsSchema.safeParse(value);
    expect(result.success).toBe(false);
    expect(result.error?.issues[0]?.path.join('.')).toBe(path);
  });

  it.each([
    { challengeLifetimeSeconds: 30 },
    { challengeLifetimeSeconds: 600 },
    { numberMatching: { digits: 8, choices: 10 } },
    { minimumAppVersion: '6.2.1' },
  ])('accepts the bounds themselves: %j', (value) => {
    expect(tenantSettingsSchema.safeParse(value).success).toBe(true);
  });
});
