// What resolvers, REST handlers and domain functions share, built once per app by buildApp().
// It imports only downward (nothing from domain/, which imports it): the interfaces domain/
// implements are declared here.
import type { Config } from './config.js';
import type { PrismaClient, RawQuery } from './db/client.js';
import type { Logger } from './logger.js';
import type { Metrics } from './metrics.js';
import type { SecretBox } from './security/secretBox.js';
import type { HookyardPubSub, OutboxRow } from './pubsub.js';
// Type-only: the cache's shape; nothing of domain/ runs from here.
import type { EndpointCache } from './domain/endpointCache.js';

export interface RateLimitResult {
  allowed: boolean;
  /** Seconds until one more call would be allowed (when not allowed). */
  retryAfterSeconds: number;
}

/** Sliding one-minute windows per key, shared by every instance (domain/rateLimit.ts). */
export interface RateLimiter {
  hit(key: string, limit: number): Promise<RateLimitResult>;
}

/** Publishes committed outbox rows (domain/outbox.ts OutboxRelay). */
export interface StatusOutbox {
  publish(rows: OutboxRow[]): void;
}

export interface Services {
  config: Config;
  /** This app's database client: every read and write of the app goes through it. */
  db: PrismaClient;
  /** The same database, for a hot-path raw statement: the driver's pool on PostgreSQL (db/client.ts). */
  sql: RawQuery;
  logger: Logger;
  metrics: Metrics;
  /** Seals endpoint signing secrets for storage and opens them to sign. */
  secretBox: SecretBox;
  pubsub: HookyardPubSub;
  rateLimiter: RateLimiter;
  /** Publishes final status changes that were written to the outbox with the change. */
  outbox: StatusOutbox;
  /**
   * Deliveries became due now (or in `inMs`): wakes this instance's dispatcher and, on Postgres,
   * the others' (unless `notified`: the statement that made them sent the NOTIFY itself).
   */
  notifyWork(inMs?: number, notified?: boolean): void;
  /**
   * The channel a statement that makes work due now may NOTIFY at its own commit (pg_notify), one
   * round trip fewer than the work signal's own NOTIFY; null where no other instance listens (PGlite).
   */
  workChannel: string | null;
  /** Each tenant's ACTIVE endpoints, for sendEvent's fan-out. */
  endpointCache: EndpointCache;
}
