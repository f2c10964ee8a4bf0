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
  // Synchronous writes: with pino's default asynchronous stdout, the flush at process.exit could
  // overtake a write still in flight and reorder or drop the last lines (the shutdown log).
  return pino({ level, redact: { paths: REDACT, censor: '[redacted]' }, base: { service: 'hookyard' } }, pino.destination({ dest: 1, sync: true }));
}
