// Sliding one-minute windows per key (at most `limit` calls in any 60 s), shared by every
// instance: in Redis when REDIS_URL is set, otherwise in the database. Never a per-process map.
import type { Redis } from 'ioredis';
import type { PrismaClient } from '../db/client.js';
import type { RateLimiter, RateLimitResult } from '../services.js';

export type { RateLimiter, RateLimitResult };

const WINDOW_SECONDS = 60;

export function databaseRateLimiter(db: PrismaClient): RateLimiter {
  return {
    async hit(key, limit) {
      // One statement on a locked row: drop calls older than the window, count the rest, and
      // record this call only if it fits. The database's clock is every instance's clock.
      const rows = await db.$queryRaw<{ allowed: boolean; retry_after: number | null }[]>`
        INSERT INTO "RateLimit" AS r (key, hits, allowed) VALUES (${key}, ARRAY[now()], true)
        ON CONFLICT (key) DO UPDATE SET
          hits = CASE
            WHEN (SELECT count(*) FROM unnest(r.hits) h WHERE h > now() - make_interval(secs => ${WINDOW_SECONDS})) < ${limit}
            THEN ARRAY(SELECT h FROM unnest(r.hits) h WHERE h > now() - make_interval(secs => ${WINDOW_SECONDS}) ORDER BY h) || now()
            ELSE ARRAY(SELECT h FROM unnest(r.hits) h WHERE h > now() - make_interval(secs => ${WINDOW_SECONDS}) ORDER BY h)
          END,
          allowed = (SELECT count(*) FROM unnest(r.hits) h WHERE h > now() - make_interval(secs => ${WINDOW_SECONDS})) < ${limit}
        RETURNING allowed,
          ceil(extract(epoch FROM (hits[1] + make_interval(secs => ${WINDOW_SECONDS}) - now())))::int AS retry_after`;
      const row = rows[0]!;
      return { allowed: row.allowed, retryAfterSeconds: Math.max(1, row.retry_after ?? 1) };
    },
  };
}

// Atomic in Redis: trim the log to the window, count, add this call if it fits. Redis's own clock.
const SLIDING_LOG = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local window = tonumber(ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
if redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[2]) then
  redis.call('ZADD', KEYS[1], now, now .. ':' .. ARGV[3])
  redis.call('PEXPIRE', KEYS[1], window)
  return {1, 0}
end
local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
return {0, tonumber(oldest[2]) + window - now}`;

export function redisRateLimiter(redis: Redis): RateLimiter {
  return {
    async hit(key, limit) {
      const [allowed, retryMs] = (await redis.eval(
        SLIDING_LOG,
        1,
        `hookyard:rl:${key}`,
        WINDOW_SECONDS * 1000,
        limit,
        Math.random().toString(36).slice(2),
      )) as [number, number];
      return { allowed: allowed === 1, retryAfterSeconds: Math.max(1, Math.ceil(retryMs / 1000)) };
    },
  };
}
