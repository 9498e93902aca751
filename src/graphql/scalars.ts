import { GraphQLError } from 'graphql';
import { builder } from './builder.js';

builder.scalarType('DateTime', {
  description: 'A point in time as an ISO 8601 string in UTC, e.g. "2026-11-25T15:00:00.000Z".',
  serialize: (value) => (value as Date).toISOString(),
  parseValue: (value) => {
    const date = typeof value === 'string' ? new Date(value) : new Date(Number.NaN);
    if (Number.isNaN(date.getTime())) {
      throw new GraphQLError('DateTime must be an ISO 8601 string such as "2026-11-25T15:00:00Z".', {
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
