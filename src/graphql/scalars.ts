import { GraphQLError } from 'graphql';
import { builder } from './builder.js';

// RFC 3339 years have four digits. JavaScript dates reach far beyond (year -271821 to 275760), and
// the database refuses those before year 1 or written with six digits, which was a 500.
const YEARS = { first: 1, last: 9999 } as const;

builder.scalarType('DateTime', {
  description: 'A point in time as an ISO 8601 string in UTC, e.g. "2026-11-25T15:00:00.000Z".',
  serialize: (value) => (value as Date).toISOString(),
  parseValue: (value) => {
    const date = typeof value === 'string' ? new Date(value) : new Date(Number.NaN);
    const year = date.getUTCFullYear();
    if (Number.isNaN(date.getTime()) || year < YEARS.first || year > YEARS.last) {
      throw new GraphQLError('DateTime must be an ISO 8601 string such as "2026-11-25T15:00:00Z", in the years 0001 to 9999.', {
        extensions: { code: 'BAD_USER_INPUT' },
      });
    }
    return date;
  },
});

builder.scalarType('JSON', {
  description: 'Any JSON value; used for audit snapshots.',
  serialize: (value) => value,
  parseValue: (value) => value,
});
