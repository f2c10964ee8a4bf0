import { filter, pipe } from 'graphql-yoga';
import type { DeliveryStatusEvent, EndpointHealthEvent } from '../pubsub.js';
import { builder } from './builder.js';
import { tenantId } from './context.js';
import { DeliveryStatusEnum } from './delivery.js';
import { parseId } from './ids.js';

type Change = DeliveryStatusEvent & { tenantId: string; source: DeliveryStatusEvent };
type HealthChange = EndpointHealthEvent & { source: EndpointHealthEvent };

// Every subscriber of a tenant receives the same published object; subscribers asking for the
// same fields share one read of it instead of each querying the database.
const reads = new WeakMap<object, Map<string, Promise<unknown>>>();
function sharedRead<T>(source: object, key: string, read: () => Promise<T>): Promise<T> {
  let perEvent = reads.get(source);
  if (!perEvent) reads.set(source, (perEvent = new Map()));
  let pending = perEvent.get(key) as Promise<T> | undefined;
  if (!pending) {
    pending = read();
    perEvent.set(key, pending);
  }
  return pending;
}

const DeliveryStatusChange = builder.objectRef<Change>('DeliveryStatusChange').implement({
  description: 'One transition of one delivery. `delivery` is read when the change is pushed, so it may be further along.',
  fields: (t) => ({
    delivery: t.prismaField({
      type: 'Delivery',
      resolve: (query, change, _args, ctx) =>
        sharedRead(change.source, `delivery:${JSON.stringify(query)}`, () =>
          ctx.services.db.delivery.findFirstOrThrow({ ...query, where: { id: change.deliveryId, tenantId: change.tenantId } }),
        ),
    }),
    deliveryId: t.exposeID('deliveryId'),
    endpointId: t.exposeID('endpointId'),
    eventId: t.exposeID('eventId'),
    previousStatus: t.field({ type: DeliveryStatusEnum, nullable: true, resolve: (c) => c.previousStatus }),
    status: t.field({ type: DeliveryStatusEnum, resolve: (c) => c.status }),
    attempt: t.prismaField({
      type: 'DeliveryAttempt',
      nullable: true,
      description: 'The attempt that caused the change, if one did.',
      resolve: (query, change, _args, ctx) => {
        const attemptId = change.attemptId;
        if (!attemptId) return null;
        return sharedRead(change.source, `attempt:${JSON.stringify(query)}`, () =>
          ctx.services.db.deliveryAttempt.findFirst({ ...query, where: { id: attemptId, delivery: { tenantId: change.tenantId } } }),
        );
      },
    }),
    occurredAt: t.field({ type: 'DateTime', resolve: (c) => new Date(c.occurredAt) }),
  }),
});

const EndpointHealthChange = builder.objectRef<HealthChange>('EndpointHealthChange').implement({
  description: "One of Hookyard's operational events, as delivered to endpoints subscribed to `hookyard.*`. `endpoint` is read when it is pushed.",
  fields: (t) => ({
    type: t.exposeString('type', {
      description: 'hookyard.endpoint.failing, hookyard.endpoint.recovered, hookyard.endpoint.disabled or hookyard.delivery.failed.',
    }),
    endpointId: t.exposeID('endpointId', { description: 'The endpoint it is about (the event is never delivered to it).' }),
    endpoint: t.prismaField({
      type: 'Endpoint',
      resolve: (query, change, _args, ctx) =>
        sharedRead(change.source, `endpoint:${JSON.stringify(query)}`, () =>
          ctx.services.db.endpoint.findFirstOrThrow({ ...query, where: { id: change.endpointId, tenantId: change.tenantId } }),
        ),
    }),
    reason: t.string({ resolve: (c) => c.data.reason }),
    data: t.field({ type: 'JSON', description: "The webhook's `data`.", resolve: (c) => c.data }),
    eventId: t.id({
      nullable: true,
      description: 'The event stored in the tenant\'s stream (null if storing it failed).',
      resolve: (c) => c.eventId,
    }),
    occurredAt: t.field({ type: 'DateTime', resolve: (c) => new Date(c.occurredAt) }),
  }),
});

builder.subscriptionFields((t) => ({
  endpointHealthChanged: t.field({
    type: EndpointHealthChange,
    description: "The caller's operational events (the `hookyard.*` webhooks), narrowed by any of the arguments.",
    args: {
      endpointId: t.arg.id({ required: false }),
      types: t.arg.stringList({ required: false, description: 'Only these types, e.g. ["hookyard.endpoint.failing"].' }),
    },
    subscribe: (_root, args, ctx) => {
      const tenant = tenantId(ctx);
      const endpointId = args.endpointId ? parseId('endpoint', args.endpointId, 'endpointId') : null;
      const types = args.types && args.types.length > 0 ? new Set(args.types) : null;
      return pipe(
        ctx.services.pubsub.subscribe('endpointHealthChanged', tenant),
        filter((e: EndpointHealthEvent) => (!endpointId || e.endpointId === endpointId) && (!types || types.has(e.type))),
      );
    },
    resolve: (event, _args, ctx) => ({ ...event, tenantId: tenantId(ctx), source: event }),
  }),

  deliveryStatusChanged: t.field({
    type: DeliveryStatusChange,
    description: "Every status change of the caller's deliveries, narrowed by any of the arguments.",
    args: {
      endpointId: t.arg.id({ required: false }),
      deliveryId: t.arg.id({ required: false }),
      eventId: t.arg.id({ required: false }),
      statuses: t.arg({ type: [DeliveryStatusEnum], required: false }),
    },
    subscribe: (_root, args, ctx) => {
      const tenant = tenantId(ctx);
      const endpointId = args.endpointId ? parseId('endpoint', args.endpointId, 'endpointId') : null;
      const deliveryId = args.deliveryId ? parseId('delivery', args.deliveryId, 'deliveryId') : null;
      const eventId = args.eventId ? parseId('event', args.eventId, 'eventId') : null;
      const statuses = args.statuses && args.statuses.length > 0 ? new Set(args.statuses) : null;
      return pipe(
        ctx.services.pubsub.subscribe('deliveryStatusChanged', tenant),
        filter(
          (e: DeliveryStatusEvent) =>
            (!endpointId || e.endpointId === endpointId) &&
            (!deliveryId || e.deliveryId === deliveryId) &&
            (!eventId || e.eventId === eventId) &&
            (!statuses || statuses.has(e.status)),
        ),
      );
    },
    resolve: (event, _args, ctx) => ({ ...event, tenantId: tenantId(ctx), source: event }),
  }),
}));
