import { GraphQLError } from 'graphql';
import { parseInstant } from '../domain/dateTime.js';
import { builder } from './builder.js';

builder.scalarType('DateTime', {
  description: 'A point in time as an RFC 3339 (ISO 8601) string, e.g. "2026-11-25T15:00:00.000Z" or "2026-11-25T16:00+01:00"; on input a date alone ("2026-11-25") means its midnight in UTC.',
  serialize: (value) => (value as Date).toISOString(),
  parseValue: (value) => {
    const date = typeof value === 'string' ? parseInstant(value) : undefined;
    if (!date) {
      throw new GraphQLError('DateTime must be an ISO 8601 date such as "2026-11-25", or a date and time with its offset such as "2026-11-25T15:00:00Z", in the years 0001 to 9999.', {
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
