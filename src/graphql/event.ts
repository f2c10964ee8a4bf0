import { MAX_BATCH, sendEvent, sendEvents, type StoredEvent } from '../domain/events.js';
import { createdWindow, eventType as checkEventType } from '../domain/validate.js';
import { notFound } from '../errors.js';
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
  event: StoredEvent;
  deliveriesCreated: number;
  duplicate: boolean;
}

const SendEventPayload = builder.objectRef<SendEventResult>('SendEventPayload').implement({
  fields: (t) => ({
    // The insert returned the row (or the duplicate's lookup read it): no read-back. Relations
    // asked for below it (deliveries) are loaded by the Prisma plugin on demand.
    event: t.field({ type: EventRef, resolve: (parent) => parent.event }),
    deliveriesCreated: t.exposeInt('deliveriesCreated'),
    duplicate: t.exposeBoolean('duplicate', { description: 'True when the idempotency key was seen before.' }),
  }),
});

// A plain object, not the HookyardError: graphql-js would raise an Error returned by a resolver.
interface ItemError {
  code: string;
  message: string;
  param: string | null;
}

const SendEventsItemError = builder.objectRef<ItemError>('SendEventsItemError').implement({
  description: 'Why one input of sendEvents was not stored; the same code and param sendEvent would have raised.',
  fields: (t) => ({
    code: t.exposeString('code'),
    message: t.exposeString('message'),
    param: t.exposeString('param', { nullable: true, description: 'The offending input, e.g. `inputs[3].payload`.' }),
  }),
});

interface SendEventsResult {
  index: number;
  event: StoredEvent | null;
  deliveriesCreated: number;
  duplicate: boolean;
  error: ItemError | null;
}

const SendEventsResultRef = builder.objectRef<SendEventsResult>('SendEventsResult').implement({
  description: 'The outcome of one input of sendEvents: either `event` (stored now, or the original when `duplicate`) or `error`.',
  fields: (t) => ({
    index: t.exposeInt('index', { description: 'Position of the input in `inputs`.' }),
    event: t.field({ type: EventRef, nullable: true, description: 'Null when `error` is set.', resolve: (r) => r.event }),
    deliveriesCreated: t.exposeInt('deliveriesCreated'),
    duplicate: t.exposeBoolean('duplicate', { description: 'True when the idempotency key was seen before (earlier, or earlier in this call).' }),
    error: t.field({ type: SendEventsItemError, nullable: true, description: 'Set when this input was refused; nothing was stored for it.', resolve: (r) => r.error }),
  }),
});

const SendEventsPayload = builder.objectRef<{ results: SendEventsResult[] }>('SendEventsPayload').implement({
  fields: (t) => ({
    results: t.field({ type: [SendEventsResultRef], description: 'One per input, in input order.', resolve: (p) => p.results }),
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
      return { event: sent.event, deliveriesCreated: sent.deliveryIds.length, duplicate: sent.duplicate };
    },
  }),
  sendEvents: t.field({
    type: SendEventsPayload,
    description: `Sends up to ${MAX_BATCH} events in one call, stored with their deliveries in one statement (more is refused with VALIDATION_FAILED, param \`inputs\`). Each input is checked on its own: one that fails gets its error in its result and the others are stored all the same. Each idempotency key works as in sendEvent, also between inputs of one call (a repeat answers with the first).`,
    args: { inputs: t.arg({ type: [SendEventInput], required: true }) },
    resolve: async (_root, { inputs }, ctx) => {
      const items = await sendEvents(ctx.services, tenantId(ctx), inputs.map((input) => ({ ...input, payload: input.payload })));
      return {
        results: items.map((item) =>
          item.sent
            ? { index: item.index, event: item.sent.event, deliveriesCreated: item.sent.deliveryIds.length, duplicate: item.sent.duplicate, error: null }
            : {
                index: item.index,
                event: null,
                deliveriesCreated: 0,
                duplicate: false,
                error: { code: item.error.code, message: item.error.message, param: (item.error.extensions.param as string | undefined) ?? null },
              },
        ),
      };
    },
  }),
}));
