import { pino, type DestinationStream, type Logger } from 'pino';

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
  // What a client sent is never logged: request bodies, variables, payloads and header values
  // carry secrets (an endpoint's headers.authorization) and can be megabytes long.
  'body',
  '*.body',
  'variables',
  '*.variables',
  'payload',
  '*.payload',
  'headers',
  '*.headers',
];

/**
 * `destination` lets a test read what would be logged. Otherwise stdout, written synchronously:
 * with pino's default asynchronous stdout, the flush at process.exit could overtake a write still
 * in flight and reorder or drop the last lines (the shutdown log).
 */
export function createLogger(level: string, destination?: DestinationStream): Logger {
  const options = { level, redact: { paths: REDACT, censor: '[redacted]' }, base: { service: 'hookyard' } };
  return pino(options, destination ?? pino.destination({ dest: 1, sync: true }));
}
