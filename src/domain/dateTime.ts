/**
 * Instants as clients write them: RFC 3339 (the profile of ISO 8601 the web uses), a calendar date
 * ("2026-11-25", midnight UTC) or a date and time with its offset ("2026-11-25T15:00:00Z",
 * "2026-11-25T16:00+01:00"). JavaScript's own parser is no validator: it skips a NUL inside the
 * year, rolls 31 February over into March and reads a time without an offset in the server's zone.
 */

const INSTANT =
  /^(?<year>\d{4})-(?<month>\d{2})-(?<day>\d{2})(?:T(?<hour>\d{2}):(?<minute>\d{2})(?::(?<second>\d{2})(?:\.\d{1,9})?)?(?:Z|[+-](?<offsetHour>\d{2}):(?<offsetMinute>\d{2})))?$/i;

// The years the database and JavaScript's ISO strings both write with four digits.
const YEARS = { first: 1, last: 9999 } as const;

/** The instant a text names, or undefined unless it is a real date (or date, time and offset) in UTC years 0001 to 9999. */
export function parseInstant(text: string): Date | undefined {
  const groups = INSTANT.exec(text)?.groups;
  if (!groups) return undefined;
  const [year, month, day, hour, minute, second, offsetHour, offsetMinute] = [
    groups.year, groups.month, groups.day, groups.hour, groups.minute, groups.second, groups.offsetHour, groups.offsetMinute,
  ].map((part) => Number(part ?? 0)) as [number, number, number, number, number, number, number, number];
  const calendar = new Date(0);
  calendar.setUTCFullYear(year, month - 1, day); // unlike Date.UTC, keeps years 0 to 99 as written
  const realDay = calendar.getUTCMonth() === month - 1 && calendar.getUTCDate() === day;
  if (!realDay || hour > 23 || minute > 59 || second > 59 || offsetHour > 23 || offsetMinute > 59) return undefined;
  const date = new Date(groups.hour === undefined ? `${text}T00:00:00Z` : text.toUpperCase());
  const utcYear = date.getUTCFullYear();
  return Number.isNaN(date.getTime()) || utcYear < YEARS.first || utcYear > YEARS.last ? undefined : date;
}
