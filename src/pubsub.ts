// Typed, tenant-scoped topics. Payloads carry ids and the transition only; resolvers re-read the
// delivery through Prisma. In one process an in-memory target; with REDIS_URL, Redis, so a
// subscriber on one instance sees changes made by another.
// From graphql-yoga's own pubsub package, not graphql-yoga: a dispatcher process needs the pubsub but
// not the GraphQL server (graphql-yoga's index loads it all).
import { createPubSub, type PubSub } from '@graphql-yoga/subscription';
import type { Redis } from 'ioredis';
import type { Logger } from './logger.js';
import { watchRedis } from './redisHealth.js';
import type { DeliveryStatus } from './generated/prisma/enums.js';

export interface DeliveryStatusEvent {
  deliveryId: string;
  endpointId: string;
  eventId: string;
  previousStatus: DeliveryStatus | null;
  status: DeliveryStatus;
  attemptId: string | null;
  /** ISO time of the change. */
  occurredAt: string;
}

/** Hookyard's own event types (operational events), emitted into the tenant's stream. */
export type OperationalEventType =
  | 'hookyard.endpoint.disabled'
  | 'hookyard.endpoint.failing'
  | 'hookyard.endpoint.recovered'
  | 'hookyard.delivery.failed';

/**
 * Something that happened to an endpoint or a delivery, worth an operational event: produced by
 * the statement that recorded it (dispatcher, retirement sweep), stored by the app as an event of
 * the tenant and then published on `endpointHealthChanged`.
 */
export interface OperationalFact {
  tenantId: string;
  type: OperationalEventType;
  /** The endpoint it is about: the event is never delivered to it (no loops). */
  endpointId: string;
  /** The event's `data`; `reason` in words for people. */
  data: { endpointId: string; reason: string } & Record<string, unknown>;
  /** ISO time, on the database's clock. */
  occurredAt: string;
}

/** Published to `endpointHealthChanged:<tenant>` once the fact is stored (eventId: the stored event). */
export interface EndpointHealthEvent extends OperationalFact {
  eventId: string | null;
}

/** A committed StatusOutbox row: one tenant's status changes, published after the commit. */
export interface OutboxRow {
  id: string;
  tenantId: string;
  changes: DeliveryStatusEvent[];
}

export type Topics = {
  /** Topic id: the tenant id. */
  deliveryStatusChanged: [tenantId: string, payload: DeliveryStatusEvent];
  /** Topic id: the tenant id. Operational events (failing, recovered, disabled, delivery failed). */
  endpointHealthChanged: [tenantId: string, payload: EndpointHealthEvent];
  /** Every API instance drops its cached lookup of the key (src/auth/apiKeys.ts). */
  apiKeyRevoked: [payload: { apiKeyId: string }];
  /** Every API instance drops its cached endpoints of the tenant (src/domain/endpointCache.ts). */
  endpointsChanged: [payload: { tenantId: string }];
};

export type HookyardPubSub = PubSub<Topics>;

export interface PubSubHandle {
  pubsub: HookyardPubSub;
  close(): Promise<void>;
}

export async function createHookyardPubSub(redisUrl: string | undefined, logger: Logger): Promise<PubSubHandle> {
  if (!redisUrl) return { pubsub: createPubSub<Topics>(), close: async () => {} };
  // Loaded only when Redis is configured: alone, ioredis and the event target add 7.4 MiB of heap
  // and ~22 MiB of RSS to a bare node, which an instance without Redis never uses.
  const [{ Redis }, { createRedisEventTarget }] = await Promise.all([import('ioredis'), import('@graphql-yoga/redis-event-target')]);
  const publishClient = watchRedis(new Redis(redisUrl, { lazyConnect: false, maxRetriesPerRequest: 3 }), 'pubsub-publish', logger);
  // No ready check (an INFO command) on the subscriber: a SUBSCRIBE issued while it connects, as
  // the API key revocation watch does at start, would put the connection in subscriber mode first,
  // the INFO would then fail and the subscription be lost. ioredis re-subscribes its channels after
  // a reconnect, so subscriptions resume by themselves.
  const subscribeClient = watchRedis(new Redis(redisUrl, { lazyConnect: false, enableReadyCheck: false }), 'pubsub-subscribe', logger);
  // The event target fires PUBLISH, SUBSCRIBE and UNSUBSCRIBE without awaiting them. During an
  // outage ioredis rejects them ("Connection is closed", retries exhausted), and an unhandled
  // rejection ends a Node 20 process: these facades log instead. A lost publish costs a live push
  // (final statuses also go through the outbox); SUBSCRIBE is re-issued by ioredis on reconnect.
  const failed = (what: string) => (err: unknown) => logger.warn({ err, redisCommand: what }, 'redis pub/sub command failed');
  const publishFacade = { publish: (channel: string, message: string) => publishClient.publish(channel, message).catch(failed('publish')) };
  const subscribeFacade = {
    on: subscribeClient.on.bind(subscribeClient),
    subscribe: (channel: string) => subscribeClient.subscribe(channel).catch(failed('subscribe')),
    unsubscribe: (channel: string) => subscribeClient.unsubscribe(channel).catch(failed('unsubscribe')),
  };
  const eventTarget = createRedisEventTarget<CustomEvent>({
    publishClient: publishFacade as unknown as Redis,
    subscribeClient: subscribeFacade as unknown as Redis,
  });
  return {
    pubsub: createPubSub<Topics>({ eventTarget }),
    async close() {
      await Promise.allSettled([publishClient.quit(), subscribeClient.quit()]);
    },
  };
}

/** Publishes one status change per delivery, to its tenant's topic. Call after the commit. */
export function publishStatusChanges(pubsub: HookyardPubSub, tenantId: string, events: DeliveryStatusEvent[]): void {
  for (const e of events) pubsub.publish('deliveryStatusChanged', tenantId, e);
}
