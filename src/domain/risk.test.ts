import { describe, expect, it } from 'vitest';
import {
  AIRLINER_KMH,
  type Located,
  type PastSignIn,
  type Place,
  type RiskSettings,
  type RiskSignal,
  afterPassword,
  answerSignal,
  assessSignIn,
  countryName,
  describeSignal,
  greatCircleKm,
  holdsBack,
  placeLabel,
  riskLevel,
  riskWarning,
  roundKm,
  separation,
  signInSignals,
  travelSpeed,
} from './risk.js';

const LONDON: Place = { countryCode: 'GB', city: 'London', latitude: 51.5074, longitude: -0.1278, accuracyKm: 10 };
const MANCHESTER: Place = { countryCode: 'GB', city: 'Manchester', latitude: 53.4808, longitude: -2.2426, accuracyKm: 10 };
const PARIS: Place = { countryCode: 'FR', city: 'Paris', latitude: 48.8566, longitude: 2.3522, accuracyKm: 10 };
const SYDNEY: Place = { countryCode: 'AU', city: 'Sydney', latitude: -33.8688, longitude: 151.2093, accuracyKm: 10 };
const NEW_YORK: Place = { countryCode: 'US', city: 'New York', latitude: 40.7128, longitude: -74.006, accuracyKm: 10 };
const GB_ONLY: Place = { countryCode: 'GB', city: null, latitude: null, longitude: null, accuracyKm: null };
const AU_ONLY: Place = { ...GB_ONLY, countryCode: 'AU' };

const now = new Date('2030-06-01T12:00:00Z');
const minutesAgo = (m: number) => new Date(now.getTime() - m * 60_000);
const past = (place: Place, minutes: number, ipAddress = '81.2.69.160'): PastSignIn => ({ ...place, at: minutesAgo(minutes), ipAddress });
const at = (place: Place | null, ipAddress = '81.2.69.160', anonymousNetwork: string | null = null): Located => ({ place, ipAddress, anonymousNetwork });

const ALL_WARN: RiskSettings = {
  impossibleTravel: 'WARN',
  unfamiliarLocation: 'WARN',
  familiarDays: 30,
  newIpAddress: 'WARN',
  anonymousNetwork: 'WARN',
  browserPhoneApart: 'WARN',
  browserPhoneApartKm: 500,
};
const ALL_OFF: RiskSettings = { ...ALL_WARN, impossibleTravel: 'OFF', unfamiliarLocation: 'OFF', newIpAddress: 'OFF', anonymousNetwork: 'OFF', browserPhoneApart: 'OFF' };

describe('great-circle distance', () => {
  it.each([
    ['London–Paris', LONDON, PARIS, 344],
    ['London–New York', LONDON, NEW_YORK, 5570],
    ['London–Sydney', LONDON, SYDNEY, 16994],
    ['the same place', LONDON, LONDON, 0],
    ['half the Earth (pole to pole)', { latitude: 90, longitude: 0 }, { latitude: -90, longitude: 0 }, 20015],
  ])('%s is about %i km', (_name, a, b, km) => {
    expect(Math.abs(greatCircleKm(a as Place & { latitude: number; longitude: number }, b as Place & { latitude: number; longitude: number }) - km)).toBeLessThan(km * 0.005 + 1);
  });

  it('takes both accuracy radii off the distance, and says nothing without coordinates', () => {
    expect(separation({ ...LONDON, accuracyKm: 100 }, { ...PARIS, accuracyKm: 200 })!.leastKm).toBeCloseTo(greatCircleKm(LONDON as never, PARIS as never) - 300, 5);
    expect(separation({ ...LONDON, accuracyKm: 1000 }, PARIS)!.leastKm).toBe(0);
    // No radius in the data: a city's spread (50 km) each.
    expect(separation({ ...LONDON, accuracyKm: null }, { ...PARIS, accuracyKm: null })!.leastKm).toBeCloseTo(greatCircleKm(LONDON as never, PARIS as never) - 100, 5);
    expect(separation(GB_ONLY, PARIS)).toBeNull();
  });
});

describe('travel speed against an airliner', () => {
  it.each([
    ['London to Sydney in 2 minutes', LONDON, SYDNEY, 2, true],
    ['London to Sydney in 20 hours', LONDON, SYDNEY, 20 * 60, false],
    ['London to New York in 3 hours', LONDON, NEW_YORK, 180, true],
    ['London to New York in 8 hours', LONDON, NEW_YORK, 480, false],
    ['London to Paris in 10 minutes', LONDON, PARIS, 10, true],
    ['London to Paris in an hour', LONDON, PARIS, 60, false],
    ['London to London at once', LONDON, LONDON, 0, false],
    // Within the two accuracy radii: the data cannot tell these apart.
    ['London to Paris at once, each placed within 200 km', { ...LONDON, accuracyKm: 200 }, { ...PARIS, accuracyKm: 200 }, 0, false],
  ])('%s: impossible = %s', (_name, from, to, minutes, impossible) => {
    const travel = travelSpeed({ ...from, at: minutesAgo(minutes) }, to, now)!;
    expect(travel.speedKmh > AIRLINER_KMH).toBe(impossible);
    expect(travel.minutes).toBe(minutes);
  });
});

describe('signals of a new sign-in', () => {
  const types = (signals: RiskSignal[]) => signals.map((s) => s.type);

  it.each<[string, Located, PastSignIn[], RiskSettings, string[]]>([
    ['the first sign-in: nothing to compare with', at(SYDNEY, '1.2.3.4'), [], ALL_WARN, []],
    ['the first sign-in through an anonymising network', at(SYDNEY, '1.2.3.4', 'HOSTING_PROVIDER'), [], ALL_WARN, ['ANONYMOUS_NETWORK']],
    ['the usual place and address', at(LONDON), [past(LONDON, 60)], ALL_WARN, []],
    ['London, then Sydney 2 minutes later from another address', at(SYDNEY, '1.2.3.4'), [past(LONDON, 2)], ALL_WARN, ['IMPOSSIBLE_TRAVEL', 'UNFAMILIAR_LOCATION', 'NEW_IP_ADDRESS']],
    ['London, then Sydney a day later', at(SYDNEY, '1.2.3.4'), [past(LONDON, 1440)], ALL_WARN, ['UNFAMILIAR_LOCATION', 'NEW_IP_ADDRESS']],
    ['a new city in a familiar country, same address', at(MANCHESTER), [past(LONDON, 600)], ALL_WARN, ['UNFAMILIAR_LOCATION']],
    ['a familiar city, a new address', at(LONDON, '81.2.69.1'), [past(LONDON, 600)], ALL_WARN, ['NEW_IP_ADDRESS']],
    ['country-level data: a new country', at(AU_ONLY, '1.2.3.4'), [past(GB_ONLY, 600)], ALL_WARN, ['UNFAMILIAR_LOCATION', 'NEW_IP_ADDRESS']],
    ['country-level data: a familiar country cannot say more', at(GB_ONLY), [past(GB_ONLY, 1)], ALL_WARN, []],
    ['an unplaced address: only the address is judged', at(null, '1.2.3.4'), [past(LONDON, 2)], ALL_WARN, ['NEW_IP_ADDRESS']],
    ['a history of unplaced sign-ins: no place is unfamiliar', at(SYDNEY), [{ ...past(LONDON, 60), countryCode: null, city: null, latitude: null, longitude: null }], ALL_WARN, []],
    ['the newest sign-in is what travel is measured from', at(SYDNEY, '1.2.3.4'), [past(SYDNEY, 5, '1.2.3.4'), past(LONDON, 60)], ALL_WARN, []],
    ['every signal off', at(SYDNEY, '1.2.3.4', 'TOR_EXIT_NODE'), [past(LONDON, 2)], ALL_OFF, []],
  ])('%s', (_name, current, history, settings, expected) => {
    expect(types(signInSignals(now, current, history, settings))).toEqual(expected);
  });

  it('keeps the evidence: places, distance, speed, minutes, days, address', () => {
    const [travel, place, ip] = signInSignals(now, at(SYDNEY, '1.2.3.4'), [past(LONDON, 2)], { ...ALL_WARN, unfamiliarLocation: 'BLOCK', familiarDays: 14 });
    expect(travel).toMatchObject({ action: 'WARN', place: 'Sydney, Australia', comparedPlace: 'London, United Kingdom', minutesSince: 2, ipAddress: '1.2.3.4' });
    expect(travel!.distanceKm).toBeGreaterThan(16_900);
    expect(travel!.speedKmh).toBeGreaterThan(400_000);
    expect(place).toMatchObject({ type: 'UNFAMILIAR_LOCATION', action: 'BLOCK', detail: 'COUNTRY', days: 14, place: 'Sydney, Australia' });
    expect(ip).toMatchObject({ type: 'NEW_IP_ADDRESS', action: 'WARN', ipAddress: '1.2.3.4', days: 14 });
  });
});

describe('browser and phone apart', () => {
  it.each<[string, Place | null, Place | null, Partial<RiskSettings>, boolean]>([
    ['same city', LONDON, LONDON, {}, false],
    ['London and Paris, 500 km allowed', LONDON, PARIS, {}, false],
    ['London and Paris, 100 km allowed', LONDON, PARIS, { browserPhoneApartKm: 100 }, true],
    ['London and Sydney', LONDON, SYDNEY, {}, true],
    ['country-level data, different countries', GB_ONLY, AU_ONLY, {}, true],
    ['country-level data, the same country', GB_ONLY, GB_ONLY, {}, false],
    ['the phone cannot be placed', LONDON, null, {}, false],
    ['the setting is off', LONDON, SYDNEY, { browserPhoneApart: 'OFF' }, false],
  ])('%s: raised = %s', (_name, browser, phone, settings, raised) => {
    const signal = answerSignal(at(browser), at(phone, '1.2.3.4'), { ...ALL_WARN, ...settings });
    expect(signal !== null).toBe(raised);
  });

  it('names both places and the distance, or says "another country" without coordinates', () => {
    const signal = answerSignal(at(LONDON), at(SYDNEY, '1.2.3.4'), { ...ALL_WARN, browserPhoneApart: 'BLOCK' })!;
    expect(signal).toMatchObject({ type: 'BROWSER_PHONE_APART', action: 'BLOCK', place: 'London, United Kingdom', comparedPlace: 'Sydney, Australia', ipAddress: '1.2.3.4' });
    expect(describeSignal(signal)).toBe('The browser (London, United Kingdom) is 17,000 km from this phone (Sydney, Australia).');
    expect(describeSignal(answerSignal(at(GB_ONLY), at(AU_ONLY), ALL_WARN)!)).toBe('The browser (United Kingdom) is in another country than this phone (Australia).');
  });
});

describe('risk level', () => {
  const raised = (type: RiskSignal['type'], detail: string | null = null) => ({ type, detail }) as RiskSignal;
  it.each<[string, RiskSignal[], string]>([
    ['none', [], 'NONE'],
    ['a new address', [raised('NEW_IP_ADDRESS')], 'LOW'],
    ['a new city', [raised('UNFAMILIAR_LOCATION', 'CITY')], 'LOW'],
    ['a new address and a new city', [raised('NEW_IP_ADDRESS'), raised('UNFAMILIAR_LOCATION', 'CITY')], 'LOW'],
    ['a new country', [raised('UNFAMILIAR_LOCATION', 'COUNTRY')], 'MEDIUM'],
    ['an anonymising network', [raised('ANONYMOUS_NETWORK')], 'MEDIUM'],
    ['a new country through an anonymising network', [raised('UNFAMILIAR_LOCATION', 'COUNTRY'), raised('ANONYMOUS_NETWORK')], 'HIGH'],
    ['impossible travel', [raised('IMPOSSIBLE_TRAVEL')], 'HIGH'],
    ['browser and phone apart', [raised('BROWSER_PHONE_APART')], 'HIGH'],
  ])('%s: %s', (_name, signals, level) => {
    expect(riskLevel(signals)).toBe(level);
  });

  it('assesses a sign-in: a BLOCK holds it back with no warning; WARNs make the warning', () => {
    const history = [past(LONDON, 2)];
    expect(assessSignIn(now, at(SYDNEY, '1.2.3.4'), history, { ...ALL_OFF, impossibleTravel: 'BLOCK', newIpAddress: 'WARN' })).toMatchObject({ level: 'HIGH', heldBack: true, warning: null });
    const warned = assessSignIn(now, at(SYDNEY, '81.2.69.160'), history, { ...ALL_OFF, unfamiliarLocation: 'WARN' });
    expect(warned).toMatchObject({ level: 'MEDIUM', heldBack: false, warning: 'This sign-in is from Sydney, Australia, where you have not signed in during the last 30 days.' });
    expect(assessSignIn(now, at(LONDON), history, ALL_WARN)).toEqual({ signals: [], level: 'NONE', heldBack: false, warning: null });
  });

  it('holds back when any signal says BLOCK', () => {
    expect(holdsBack([{ action: 'WARN' } as RiskSignal, { action: 'BLOCK' } as RiskSignal])).toBe(true);
    expect(holdsBack([{ action: 'WARN' } as RiskSignal])).toBe(false);
  });
});

describe('after a correct password', () => {
  it('only warns of a new place or address set to BLOCK, and keeps the other settings', () => {
    const blockAll: RiskSettings = { impossibleTravel: 'BLOCK', unfamiliarLocation: 'BLOCK', familiarDays: 30, newIpAddress: 'BLOCK', anonymousNetwork: 'BLOCK', browserPhoneApart: 'BLOCK', browserPhoneApartKm: 500 };
    expect(afterPassword(blockAll)).toEqual({ ...blockAll, unfamiliarLocation: 'WARN', newIpAddress: 'WARN' });
    const offAndWarn: RiskSettings = { ...blockAll, unfamiliarLocation: 'OFF', newIpAddress: 'WARN' };
    expect(afterPassword(offAndWarn)).toEqual(offAndWarn);
  });
});

describe('what people read', () => {
  it('names countries and places', () => {
    expect(countryName('GB')).toBe('United Kingdom');
    expect(countryName('au')).toBe('Australia');
    expect(placeLabel(SYDNEY)).toBe('Sydney, Australia');
    expect(placeLabel(AU_ONLY)).toBe('Australia');
    expect(placeLabel(null)).toBeNull();
  });

  it.each([
    [16_994, '17,000 km'],
    [5_570, '5,600 km'],
    [344, '340 km'],
  ])('rounds %i km to "%s"', (km, text) => {
    expect(roundKm(km)).toBe(text);
  });

  it('warns on the phone, the strongest signal first', () => {
    const signals = signInSignals(now, at(SYDNEY, '1.2.3.4'), [past(LONDON, 2)], { ...ALL_WARN, newIpAddress: 'OFF' });
    expect(riskWarning(signals)).toBe(
      'This sign-in is from Sydney, Australia, 17,000 km from your last sign-in (London, United Kingdom) 2 minutes before it. This sign-in is from Sydney, Australia, where you have not signed in during the last 30 days.',
    );
    expect(riskWarning([])).toBeNull();
  });
});
