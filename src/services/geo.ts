import { isIP } from 'node:net';
import maxmind, { type CityResponse, type Reader } from 'maxmind';
import type { App } from './app.js';

/** What the phone shows when the sign-in cannot be placed. */
export const UNKNOWN_LOCATION = 'unknown';

// One reader per database file for the life of the process: opening parses the whole file.
const readers = new Map<string, Promise<Reader<CityResponse> | null>>();

function reader(app: App, path: string): Promise<Reader<CityResponse> | null> {
  let opened = readers.get(path);
  if (!opened) {
    opened = maxmind.open<CityResponse>(path).catch((error: unknown) => {
      app.logger.warn({ err: error, path }, 'the geo-IP database could not be opened; sign-in locations will be "unknown"');
      return null;
    });
    readers.set(path, opened);
  }
  return opened;
}

/**
 * A place for a client IP ("Seattle, Washington, United States"), from the MaxMind-format
 * database of config.geoIpDatabase (a City or a Country database); "unknown" without one, for
 * private addresses and for addresses the database does not know.
 */
export async function locate(app: App, ip: string | null): Promise<string> {
  const path = app.config.geoIpDatabase;
  if (!path || !ip || isIP(ip) === 0) return UNKNOWN_LOCATION;
  const db = await reader(app, path);
  const found = db?.get(ip);
  if (!found) return UNKNOWN_LOCATION;
  const parts = [found.city?.names.en, found.subdivisions?.[0]?.names.en, found.country?.names.en ?? found.registered_country?.names.en];
  const place = parts.filter((part): part is string => Boolean(part));
  return place.length > 0 ? [...new Set(place)].join(', ') : UNKNOWN_LOCATION;
}
