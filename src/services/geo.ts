import { open } from 'node:fs/promises';
import { isIP } from 'node:net';
import maxmind, { type CityResponse, type Reader } from 'maxmind';
import { ConfigError } from '../config.js';
import type { App } from './app.js';

/** What the phone shows when the sign-in cannot be placed. */
export const UNKNOWN_LOCATION = 'unknown';

// One reader per database file for the life of the process: opening parses the whole file.
const readers = new Map<string, Promise<Reader<CityResponse>>>();
// The search tree and the data section are parted by 16 zero bytes (MaxMind DB spec 2.0).
const DATA_SECTION_SEPARATOR_BYTES = 16;

/**
 * Opens the MaxMind-format database at `path` (config.geoIpDatabase) and checks its layout, or
 * throws a ConfigError naming GEOIP_DATABASE: start-up calls this, so a missing or damaged file
 * stops the service instead of quietly placing every sign-in nowhere.
 */
export function openGeoIpDatabase(path: string): Promise<Reader<CityResponse>> {
  let opened = readers.get(path);
  if (!opened) {
    opened = checkedOpen(path);
    readers.set(path, opened);
    // A failure is not remembered: the next start-up reads the (perhaps repaired) file again.
    opened.catch(() => readers.delete(path));
  }
  return opened;
}

async function checkedOpen(path: string): Promise<Reader<CityResponse>> {
  const problem = (what: string) => new ConfigError([`GEOIP_DATABASE must name a MaxMind DB (.mmdb) file; "${path}" ${what}.`]);
  let db: Reader<CityResponse>;
  try {
    db = await maxmind.open<CityResponse>(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw problem('does not exist');
    if (code === 'EISDIR') throw problem('is a directory');
    if (code === 'EACCES') throw problem('cannot be read by this process');
    throw problem(`is not one (${(error as Error).message})`);
  }
  const { binaryFormatMajorVersion, ipVersion, nodeCount, searchTreeSize } = db.metadata;
  if (binaryFormatMajorVersion !== 2 || (ipVersion !== 4 && ipVersion !== 6) || !Number.isInteger(nodeCount) || nodeCount < 1) {
    throw problem(`has metadata of an unknown layout (format ${binaryFormatMajorVersion}, IPv${ipVersion}, ${nodeCount} nodes)`);
  }
  const file = await open(path, 'r');
  try {
    const { buffer, bytesRead } = await file.read(Buffer.alloc(DATA_SECTION_SEPARATOR_BYTES), 0, DATA_SECTION_SEPARATOR_BYTES, searchTreeSize);
    if (bytesRead !== DATA_SECTION_SEPARATOR_BYTES || buffer.some((byte) => byte !== 0)) throw problem('is damaged (no data section after the search tree)');
  } finally {
    await file.close();
  }
  return db;
}

/**
 * A place for a client IP ("Seattle, Washington, United States"), from the MaxMind-format
 * database of config.geoIpDatabase (a City or a Country database); "unknown" without one, for
 * private addresses and for addresses the database does not know.
 */
export async function locate(app: App, ip: string | null): Promise<string> {
  const path = app.config.geoIpDatabase;
  if (!path || !ip || isIP(ip) === 0) return UNKNOWN_LOCATION;
  let found: CityResponse | null;
  try {
    found = (await openGeoIpDatabase(path)).get(ip);
  } catch (error) {
    // A damaged part of the file must not stop a sign-in: the place is only shown to the user.
    app.logger.warn({ err: error, ip }, 'geo-IP lookup failed; the sign-in location is "unknown"');
    return UNKNOWN_LOCATION;
  }
  if (!found) return UNKNOWN_LOCATION;
  const parts = [found.city?.names.en, found.subdivisions?.[0]?.names.en, found.country?.names.en ?? found.registered_country?.names.en];
  const place = parts.filter((part): part is string => Boolean(part));
  return place.length > 0 ? [...new Set(place)].join(', ') : UNKNOWN_LOCATION;
}
