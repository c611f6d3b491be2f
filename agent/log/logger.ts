import pino from 'pino';
import type { Logger } from 'pino';

/** Settings that hold secrets, wherever they appear in a log line. */
export const SECRET_PATHS = [
  'password',
  'eslPassword',
  'ariPassword',
  'token',
  '*.password',
  '*.eslPassword',
  '*.ariPassword',
  '*.token',
  'config.*.password',
  'config.*.eslPassword',
  'config.*.token',
  'config.pbxes[*].password',
  'config.pbxes[*].eslPassword',
  'config.store.url', // may hold the PostgreSQL password
];

/** pino JSON lines on stderr, secrets redacted. */
export function createLogger(level = process.env.CALLGUARD_LOG_LEVEL ?? 'info', destination = pino.destination(2)): Logger {
  return pino({ name: 'callguard', level, redact: { paths: SECRET_PATHS, censor: '[redacted]' } }, destination);
}

export type { Logger };
