import { pino, type Logger } from 'pino';

export type { Logger };

// Secrets never reach a log line: these paths are censored wherever they appear.
const REDACT = [
  'authorization',
  '*.authorization',
  'headers.authorization',
  'req.headers.authorization',
  'secret',
  '*.secret',
  'apiKey',
  '*.apiKey',
  'connectionParams',
];

export function createLogger(level: string): Logger {
  return pino({ level, redact: { paths: REDACT, censor: '[redacted]' }, base: { service: 'hookyard' } });
}
