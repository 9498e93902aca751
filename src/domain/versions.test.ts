import { describe, expect, it } from 'vitest';
import { compareVersions, isAtLeast, minimumOsVersion, versionSchema } from './versions.js';

describe('versions', () => {
  it('compares part by part as numbers, not as text', () => {
    expect(compareVersions('10.0', '9.3')).toBe(1);
    expect(compareVersions('6.2403.1234', '6.2403.999')).toBe(1);
    expect(compareVersions('5.1', '6.0')).toBe(-1);
    expect(compareVersions('6.0.1', '6.1')).toBe(-1);
  });

  it('reads missing parts as zero', () => {
    expect(compareVersions('8', '8.0')).toBe(0);
    expect(compareVersions('8.0.0.0', '8')).toBe(0);
    expect(isAtLeast('8', '8.0')).toBe(true);
    expect(isAtLeast('7.9.9', '8.0')).toBe(false);
    expect(isAtLeast('14', '6.0')).toBe(true);
  });

  it('picks the minimum of the platform', () => {
    expect(minimumOsVersion({ ios: '8.0', android: '6.0' }, 'IOS')).toBe('8.0');
    expect(minimumOsVersion({ ios: '8.0', android: '6.0' }, 'ANDROID')).toBe('6.0');
  });

  it('accepts only dotted numbers', () => {
    expect(versionSchema.parse(' 17.4.1 ')).toBe('17.4.1');
    for (const bad of ['', '17.', 'v17', '17.4.1-beta', '1.2.3.4.5', '1234567', '1..2']) {
      expect(versionSchema.safeParse(bad).success, bad).toBe(false);
    }
  });
});
