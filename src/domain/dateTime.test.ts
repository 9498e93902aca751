import { describe, expect, it } from 'vitest';
import { parseInstant } from './dateTime.js';

describe('parseInstant', () => {
  it('reads RFC 3339 instants and calendar dates as UTC', () => {
    expect(parseInstant('2026-11-25')?.toISOString()).toBe('2026-11-25T00:00:00.000Z');
    expect(parseInstant('2026-11-25T15:00:00Z')?.toISOString()).toBe('2026-11-25T15:00:00.000Z');
    expect(parseInstant('2026-11-25t15:00z')?.toISOString()).toBe('2026-11-25T15:00:00.000Z');
    expect(parseInstant('2026-11-25T16:00:00.123456789+01:00')?.toISOString()).toBe('2026-11-25T15:00:00.123Z');
    expect(parseInstant('0001-01-01T00:00:00Z')?.toISOString()).toBe('0001-01-01T00:00:00.000Z');
    expect(parseInstant('9999-12-31T23:59:59.999Z')?.toISOString()).toBe('9999-12-31T23:59:59.999Z');
    expect(parseInstant('2028-02-29')?.toISOString()).toBe('2028-02-29T00:00:00.000Z');
  });

  it('refuses what JavaScript would read into some other instant', () => {
    for (const text of [
      '197\u00000-01-01T00:00:00.000Z', // a NUL JavaScript skips
      '2026-02-31T00:00:00Z', // rolled over into March
      '2027-02-29',
      '2026-11-25T24:00:00Z', // the next day
      '2026-11-25T15:00:00', // no offset: the server's zone
      '2026-11-25T15:60Z',
      '2026-11-25T15:00+24:00',
      'Nov 25 2026',
      ' 2026-11-25',
      '2026-11-25\n',
      '0000-01-01T00:00:00Z',
      '+010000-01-01T00:00:00Z',
      '-271821-04-20T00:00:00.000Z',
      '0001-01-01T00:00:00+01:00', // year 0 in UTC
      '9999-12-31T23:00:00-01:00', // year 10000 in UTC
      '',
    ]) expect(parseInstant(text), JSON.stringify(text)).toBeUndefined();
  });
});
