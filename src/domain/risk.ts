// Risk signals of a sign-in: where it comes from against where the user signed in before, and
// against where their phone is when it answers. Pure rules; services read the history and the
// IP-location data, and decide what WARN and BLOCK do.

/** What a tenant does about one signal: nothing, a warning on the phone, or hold the push back. */
export const RISK_ACTIONS = ['OFF', 'WARN', 'BLOCK'] as const;
export type RiskAction = (typeof RISK_ACTIONS)[number];

export const RISK_SIGNAL_TYPES = ['IMPOSSIBLE_TRAVEL', 'UNFAMILIAR_LOCATION', 'NEW_IP_ADDRESS', 'ANONYMOUS_NETWORK', 'BROWSER_PHONE_APART'] as const;
export type RiskSignalType = (typeof RISK_SIGNAL_TYPES)[number];

export const RISK_LEVELS = ['NONE', 'LOW', 'MEDIUM', 'HIGH'] as const;
export type RiskLevel = (typeof RISK_LEVELS)[number];

/** Cruising speed of an airliner: faster than this between two sign-ins, one of them was not the user. */
export const AIRLINER_KMH = 1000;
/** Mean Earth radius (IUGG), for great-circle distances. */
const EARTH_RADIUS_KM = 6371.0088;
/** Accuracy assumed for coordinates the data gives without a radius: a city's spread. */
export const DEFAULT_ACCURACY_KM = 50;
/** Two sign-ins closer in time than this are timed as this far apart, so a zero gap is not an infinite speed. */
const MIN_TRAVEL_HOURS = 1 / 60;

/** Where an IP address is, as far as the IP-location data says. */
export interface Place {
  /** ISO 3166-1 alpha-2. */
  countryCode: string | null;
  city: string | null;
  latitude: number | null;
  longitude: number | null;
  /** How far off the coordinates may be (MaxMind's accuracy_radius). */
  accuracyKm: number | null;
}

/** One address and what the data says about it. */
export interface Located {
  ipAddress: string | null;
  place: Place | null;
  /** Set where the data marks the address as a hosting provider, a proxy, a VPN or Tor: which of them. */
  anonymousNetwork: string | null;
}

/** A successful sign-in of the user, from the sign-in log. */
export interface PastSignIn extends Place {
  at: Date;
  ipAddress: string | null;
}

export interface RiskSettings {
  impossibleTravel: RiskAction;
  unfamiliarLocation: RiskAction;
  /** How far back a country, city or address counts as familiar. */
  familiarDays: number;
  newIpAddress: RiskAction;
  anonymousNetwork: RiskAction;
  browserPhoneApart: RiskAction;
  browserPhoneApartKm: number;
}

/** One raised signal with its evidence, as the sign-in log keeps it. */
export interface RiskSignal {
  type: RiskSignalType;
  action: Exclude<RiskAction, 'OFF'>;
  /** Where this sign-in's browser is ("Sydney, Australia"). */
  place: string | null;
  /** What it was compared with: the previous sign-in's place, or the phone's. */
  comparedPlace: string | null;
  distanceKm: number | null;
  speedKmh: number | null;
  /** Minutes between the previous sign-in and this one. */
  minutesSince: number | null;
  /** The familiarity window, in days. */
  days: number | null;
  /** The address concerned: the browser's, or the phone's for BROWSER_PHONE_APART. */
  ipAddress: string | null;
  /** UNFAMILIAR_LOCATION: COUNTRY or CITY; ANONYMOUS_NETWORK: which kind of network. */
  detail: string | null;
}

const regionNames = new Intl.DisplayNames(['en'], { type: 'region', fallback: 'code' });

/** "United Kingdom" for "GB"; the code itself where it names no region. */
export function countryName(code: string): string {
  try {
    return regionNames.of(code.toUpperCase()) ?? code;
  } catch {
    return code;
  }
}

/** "Sydney, Australia", "Australia", or null when nothing is known. */
export function placeLabel(place: Pick<Place, 'city' | 'countryCode'> | null): string | null {
  if (!place?.countryCode) return place?.city ?? null;
  const country = countryName(place.countryCode);
  return place.city ? `${place.city}, ${country}` : country;
}

type Point = Pick<Place, 'latitude' | 'longitude' | 'accuracyKm'>;
const hasPoint = (p: Point | null): p is Point & { latitude: number; longitude: number } =>
  p !== null && typeof p.latitude === 'number' && typeof p.longitude === 'number';

/** Great-circle (haversine) distance in km. */
export function greatCircleKm(a: { latitude: number; longitude: number }, b: { latitude: number; longitude: number }): number {
  const rad = Math.PI / 180;
  const dLat = (b.latitude - a.latitude) * rad;
  const dLon = (b.longitude - a.longitude) * rad;
  const h = Math.sin(dLat / 2) ** 2 + Math.cos(a.latitude * rad) * Math.cos(b.latitude * rad) * Math.sin(dLon / 2) ** 2;
  return 2 * EARTH_RADIUS_KM * Math.asin(Math.min(1, Math.sqrt(h)));
}

/**
 * The distance between two places and the least distance they are surely apart: both places may
 * be off by their accuracy radius, so that much is taken off before anyone is called a traveller.
 * Null when either has no coordinates.
 */
export function separation(a: Point | null, b: Point | null): { distanceKm: number; leastKm: number } | null {
  if (!hasPoint(a) || !hasPoint(b)) return null;
  const distanceKm = greatCircleKm(a, b);
  const leastKm = Math.max(0, distanceKm - (a.accuracyKm ?? DEFAULT_ACCURACY_KM) - (b.accuracyKm ?? DEFAULT_ACCURACY_KM));
  return { distanceKm, leastKm };
}

/** The speed the user would have needed between two sign-ins, from the least distance (see separation); null without coordinates. */
export function travelSpeed(from: Point & { at: Date }, to: Point, now: Date): { distanceKm: number; speedKmh: number; minutes: number } | null {
  const apart = separation(from, to);
  if (!apart) return null;
  const hours = Math.max(MIN_TRAVEL_HOURS, (now.getTime() - from.at.getTime()) / 3_600_000);
  return { distanceKm: apart.distanceKm, speedKmh: apart.leastKm / hours, minutes: Math.round((now.getTime() - from.at.getTime()) / 60_000) };
}

const evidence = (type: RiskSignalType, action: RiskAction, fields: Partial<Omit<RiskSignal, 'type' | 'action'>>): RiskSignal => ({
  type,
  action: action as RiskSignal['action'],
  place: null,
  comparedPlace: null,
  distanceKm: null,
  speedKmh: null,
  minutesSince: null,
  days: null,
  ipAddress: null,
  detail: null,
  ...fields,
});

/**
 * The signals of a new sign-in, against the user's successful sign-ins of the last familiarDays
 * (newest first). A signal whose setting is OFF is not evaluated. With no history there is nothing
 * to be unfamiliar with, so only the network is judged. Impossible travel compares with the newest
 * sign-in; one older than the window cannot be impossible travel, since half the Earth's
 * circumference in the shortest window (a day) is slower than an airliner.
 */
export function signInSignals(now: Date, current: Located, history: PastSignIn[], settings: RiskSettings): RiskSignal[] {
  const signals: RiskSignal[] = [];
  const here = placeLabel(current.place);
  const last = history[0];
  if (settings.impossibleTravel !== 'OFF' && last && current.place) {
    const travel = travelSpeed(last, current.place, now);
    if (travel && travel.speedKmh > AIRLINER_KMH) {
      signals.push(
        evidence('IMPOSSIBLE_TRAVEL', settings.impossibleTravel, {
          place: here,
          comparedPlace: placeLabel(last),
          distanceKm: Math.round(travel.distanceKm),
          speedKmh: Math.round(travel.speedKmh),
          minutesSince: travel.minutes,
          ipAddress: current.ipAddress,
        }),
      );
    }
  }
  const country = current.place?.countryCode ?? null;
  const knownCountries = new Set(history.map((h) => h.countryCode).filter(Boolean));
  if (settings.unfamiliarLocation !== 'OFF' && country && knownCountries.size > 0) {
    const knownCities = new Set(history.filter((h) => h.countryCode === country && h.city).map((h) => h.city));
    const scope = !knownCountries.has(country) ? 'COUNTRY' : current.place?.city && knownCities.size > 0 && !knownCities.has(current.place.city) ? 'CITY' : null;
    if (scope) {
      signals.push(evidence('UNFAMILIAR_LOCATION', settings.unfamiliarLocation, { place: here, days: settings.familiarDays, ipAddress: current.ipAddress, detail: scope }));
    }
  }
  if (settings.newIpAddress !== 'OFF' && current.ipAddress && history.length > 0 && !history.some((h) => h.ipAddress === current.ipAddress)) {
    signals.push(evidence('NEW_IP_ADDRESS', settings.newIpAddress, { place: here, days: settings.familiarDays, ipAddress: current.ipAddress }));
  }
  if (settings.anonymousNetwork !== 'OFF' && current.anonymousNetwork) {
    signals.push(evidence('ANONYMOUS_NETWORK', settings.anonymousNetwork, { place: here, ipAddress: current.ipAddress, detail: current.anonymousNetwork }));
  }
  return signals;
}

/**
 * Whether the phone answering is far from the browser it answers for, as a relayed sign-in from
 * a look-alike page would be: farther apart than browserPhoneApartKm beyond both accuracy radii,
 * or, where the data has no coordinates, in different countries.
 */
export function answerSignal(browser: Located, phone: Located, settings: Pick<RiskSettings, 'browserPhoneApart' | 'browserPhoneApartKm'>): RiskSignal | null {
  if (settings.browserPhoneApart === 'OFF' || !browser.place || !phone.place) return null;
  const apart = separation(browser.place, phone.place);
  const far = apart
    ? apart.leastKm > settings.browserPhoneApartKm
    : Boolean(browser.place.countryCode && phone.place.countryCode && browser.place.countryCode !== phone.place.countryCode);
  if (!far) return null;
  return evidence('BROWSER_PHONE_APART', settings.browserPhoneApart, {
    place: placeLabel(browser.place),
    comparedPlace: placeLabel(phone.place),
    distanceKm: apart ? Math.round(apart.distanceKm) : null,
    ipAddress: phone.ipAddress,
  });
}

const LEVEL_OF: Record<RiskSignalType, (signal: RiskSignal) => RiskLevel> = {
  IMPOSSIBLE_TRAVEL: () => 'HIGH',
  BROWSER_PHONE_APART: () => 'HIGH',
  ANONYMOUS_NETWORK: () => 'MEDIUM',
  // A new country says more than a new city in a country the user signs in from.
  UNFAMILIAR_LOCATION: (s) => (s.detail === 'COUNTRY' ? 'MEDIUM' : 'LOW'),
  NEW_IP_ADDRESS: () => 'LOW',
};

/** The risk of a sign-in: its strongest signal's level, and HIGH when two or more signals are MEDIUM or above. */
export function riskLevel(signals: RiskSignal[]): RiskLevel {
  const levels = signals.map((s) => RISK_LEVELS.indexOf(LEVEL_OF[s.type](s)));
  if (levels.filter((l) => l >= RISK_LEVELS.indexOf('MEDIUM')).length >= 2) return 'HIGH';
  return RISK_LEVELS[Math.max(0, ...levels)]!;
}

/** Whether any signal holds the sign-in back. */
export const holdsBack = (signals: RiskSignal[]) => signals.some((s) => s.action === 'BLOCK');

/**
 * The settings for the push MFA after a correct password. A new place or address set to BLOCK only
 * warns there: only successful sign-ins make a place familiar, and the password is the way in for
 * someone whose phone sign-in such a BLOCK held back, so blocking it too would lock them out until
 * the place became familiar, which it never could. Impossible travel and anonymising networks still
 * hold the push back.
 */
export function afterPassword(settings: RiskSettings): RiskSettings {
  const warnAtMost = (action: RiskAction): RiskAction => (action === 'BLOCK' ? 'WARN' : action);
  return { ...settings, unfamiliarLocation: warnAtMost(settings.unfamiliarLocation), newIpAddress: warnAtMost(settings.newIpAddress) };
}

/** A new sign-in's risk: its signals and level, whether a BLOCK holds it back, and the phone's warning otherwise. */
export function assessSignIn(now: Date, current: Located, history: PastSignIn[], settings: RiskSettings) {
  const signals = signInSignals(now, current, history, settings);
  const heldBack = holdsBack(signals);
  return { signals, level: riskLevel(signals), heldBack, warning: heldBack ? null : riskWarning(signals) };
}

/** "17,000 km": round figures, as people say distances. */
export const roundKm = (km: number) => `${(km >= 1000 ? Math.round(km / 100) * 100 : Math.round(km / 10) * 10).toLocaleString('en-US')} km`;

function elapsed(minutes: number): string {
  const unit = (n: number, name: string) => `${n} ${name}${n === 1 ? '' : 's'}`;
  if (minutes < 1) return 'less than a minute';
  if (minutes < 120) return unit(minutes, 'minute');
  if (minutes < 48 * 60) return unit(Math.round(minutes / 60), 'hour');
  return unit(Math.round(minutes / 1440), 'day');
}

/** One sentence a person reads on the phone or in their security info. */
export function describeSignal(s: RiskSignal): string {
  const from = s.place ? `from ${s.place}` : 'from an unknown place';
  switch (s.type) {
    case 'IMPOSSIBLE_TRAVEL':
      return `This sign-in is ${from}, ${roundKm(s.distanceKm ?? 0)} from your last sign-in (${s.comparedPlace ?? 'unknown place'}) ${elapsed(s.minutesSince ?? 0)} before it.`;
    case 'UNFAMILIAR_LOCATION':
      return `This sign-in is ${from}, where you have not signed in during the last ${s.days} days.`;
    case 'NEW_IP_ADDRESS':
      return `This sign-in comes from an address (${s.ipAddress}) you have not signed in from during the last ${s.days} days.`;
    case 'ANONYMOUS_NETWORK':
      return 'This sign-in comes through a network that hides where it really is (a hosting provider, proxy, VPN or Tor).';
    case 'BROWSER_PHONE_APART':
      return `The browser (${s.place ?? 'unknown place'}) is ${s.distanceKm === null ? 'in another country than' : `${roundKm(s.distanceKm)} from`} this phone (${s.comparedPlace ?? 'unknown place'}).`;
  }
}

/** The warning the phone shows above the number: the sentences of the signals, strongest first; null when none was raised. */
export function riskWarning(signals: RiskSignal[]): string | null {
  if (signals.length === 0) return null;
  const rank = (s: RiskSignal) => RISK_LEVELS.indexOf(LEVEL_OF[s.type](s));
  return [...signals]
    .sort((a, b) => rank(b) - rank(a))
    .map(describeSignal)
    .join(' ');
}
