import { sendEvent } from '../domain/events.js';
import { createdWindow, eventType as checkEventType } from '../domain/validate.js';
import type { Prisma } from '../generated/prisma/client.js';
import { builder } from './builder.js';
import { tenantId } from './context.js';
import { DeliveryConnection, NEWEST_FIRST } from './delivery.js';
import { inTenant } from './ids.js';

const EventRef = builder.prismaNode('Event', {
  id: { field: 'id' },
  findUnique: (id, ctx) => ({ id, tenantId: tenantId(ctx) }),
  fields: (t) => ({
    eventType: t.exposeString('eventType'),
    payload: t.expose('payload', { type: 'JSON', description: 'The `data` of the delivered envelope.' }),
    idempotencyKey: t.exposeString('idempotencyKey', { nullable: true }),
    test: t.exposeBoolean('test', { description: 'A synthetic event from testFireEndpoint.' }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    deliveries: t.relatedConnection('deliveries', { cursor: 'id', query: { orderBy: NEWEST_FIRST } }, DeliveryConnection),
  }),
});

const EventConnection = builder.connectionObject({ type: EventRef, name: 'EventConnection' }, { name: 'EventEdge' });

const EventFilter = builder.inputType('EventFilter', {
  fields: (t) => ({
    eventType: t.string({ required: false }),
    createdAfter: t.field({ type: 'DateTime', required: false, description: 'Inclusive.' }),
    createdBefore: t.field({ type: 'DateTime', required: false, description: 'Exclusive.' }),
    test: t.boolean({ required: false }),
  }),
});

const SendEventInput = builder.inputType('SendEventInput', {
  fields: (t) => ({
    eventType: t.string({ required: true }),
    payload: t.field({ type: 'JSON', required: true, description: 'A JSON object: the `data` of the delivered envelope.' }),
    idempotencyKey: t.string({ required: false, description: 'Unique per tenant: sending it again returns the original event and creates nothing.' }),
  }),
});

interface SendEventResult {
  eventId: string;
  deliveriesCreated: number;
  duplicate: boolean;
}

const SendEventPayload = builder.objectRef<SendEventResult>('SendEventPayload').implement({
  fields: (t) => ({
    event: t.prismaField({
      type: 'Event',
      resolve: (query, parent, _args, ctx) => ctx.services.db.event.findUniqueOrThrow({ ...query, where: { id: parent.eventId } }),
    }),
    deliveriesCreated: t.exposeInt('deliveriesCreated'),
    duplicate: t.exposeBoolean('duplicate', { description: 'True when the idempotency key was seen before.' }),
  }),
});

builder.queryFields((t) => ({
  event: t.prismaField({
    type: 'Event',
    nullable: true,
    args: { id: t.arg.id({ required: true }) },
    resolve: (query, _root, args, ctx) => inTenant(ctx, 'event', args.id, (where) => ctx.services.db.event.findFirst({ ...query, where })),
  }),
  events: t.prismaConnection({
    type: 'Event',
    cursor: 'id',
    args: { filter: t.arg({ type: EventFilter, required: false }) },
    resolve: (query, _root, { filter }, ctx) => {
      const where: Prisma.EventWhereInput = { tenantId: tenantId(ctx) };
      if (filter?.eventType) where.eventType = checkEventType(filter.eventType, 'filter.eventType');
      if (filter?.test !== undefined && filter?.test !== null) where.test = filter.test;
      const createdAt = createdWindow(filter?.createdAfter, filter?.createdBefore, 'filter.createdAfter');
      if (createdAt) where.createdAt = createdAt;
      return ctx.services.db.event.findMany({ ...query, where, orderBy: [{ createdAt: 'desc' }, { id: 'desc' }] });
    },
  }, EventConnection),
}));

builder.mutationFields((t) => ({
  sendEvent: t.field({
    type: SendEventPayload,
    args: { input: t.arg({ type: SendEventInput, required: true }) },
    resolve: async (_root, { input }, ctx) => {
      const sent = await sendEvent(ctx.services, tenantId(ctx), { ...input, payload: input.payload });
      return { eventId: sent.eventId, deliveriesCreated: sent.deliveryIds.length, duplicate: sent.duplicate };
    },
  }),
}));
