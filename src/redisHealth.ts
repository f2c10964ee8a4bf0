// ioredis reconnects by itself (with its own backoff) and queues commands meanwhile, but a client
// without an `error` listener turns each failed reconnect into an unhandled 'error' event. Each
// client logs what failed (never its URL, which can carry a password) and when it is back.
import type { Redis } from 'ioredis';
import type { Logger } from './logger.js';

export function watchRedis(client: Redis, name: string, logger: Logger): Redis {
  let failing = false;
  client.on('error', (err: Error & { code?: string }) => {
    // One line per failed reconnect (ioredis retries at most every 2 s): the outage stays visible.
    logger.warn({ redisClient: name, code: err.code, message: err.message }, 'redis connection error; ioredis reconnects');
    failing = true;
  });
  client.on('ready', () => {
    if (!failing) return;
    failing = false;
    logger.info({ redisClient: name }, 'redis connection restored');
  });
  return client;
}
