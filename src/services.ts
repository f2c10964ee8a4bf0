// What resolvers and the dispatcher share, built once by buildApp(). The Prisma client is not
// here: it is imported from src/db/client.ts.
import type { Config } from './config.js';
import type { Logger } from './logger.js';
import type { Metrics } from './metrics.js';
import type { SecretBox } from './security/secretBox.js';
import type { HookyardPubSub } from './pubsub.js';
import type { OutboxRelay } from './domain/outbox.js';
import type { RateLimiter } from './domain/rateLimit.js';
import type { EndpointCache } from './domain/endpointCache.js';

export interface Services {
  config: Config;
  logger: Logger;
  metrics: Metrics;
  /** Seals endpoint signing secrets for storage and opens them to sign. */
  secretBox: SecretBox;
  pubsub: HookyardPubSub;
  rateLimiter: RateLimiter;
  /** Publishes final status changes that were written to the outbox with the change. */
  outbox: OutboxRelay;
  /** Deliveries became due now (or in `inMs`): wakes this instance's dispatcher and, on Postgres, the others'. */
  notifyWork(inMs?: number): void;
  /** Each tenant's ACTIVE endpoints, for sendEvent's fan-out. */
  endpointCache: EndpointCache;
}
