import pino from 'pino';
import type { LogLevel } from './config.js';

/** Structured JSON logs. Secrets are redacted by path as a second line of defence: none should be logged. */
export const createLogger = (level: LogLevel) =>
  pino({
    level,
    redact: {
      paths: ['*.password', '*.adminPassword', '*.pass', '*.attemptSecret', '*.accessToken', '*.authorization', 'req.headers.authorization'],
      censor: '[redacted]',
    },
  });
