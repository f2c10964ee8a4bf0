import { createdWindow, eventType as checkEventType } from '../domain/validate.js';
import { invalid } from '../errors.js';
import type { Prisma } from '../generated/prisma/client.js';
import { DeliveryStatus } from '../generated/prisma/enums.js';
import { builder } from './builder.js';
import { tenantId } from './context.js';
import { inTenant, parseId } from './ids.js';

export const DeliveryStatusEnum = builder.enumType(DeliveryStatus, {
  name: 'DeliveryStatus',
  description: 'PENDING: waiting for its next attempt; SENDING: claimed by a dispatcher; DELIVERED; FAILED: retries exhausted (dead letter).',
});

export const DeliveryFilter = builder.inputType('DeliveryFilter', {
  fields: (t) => ({
    endpointId: t.id({ required: false }),
    eventId: t.id({ required: false }),
    status: t.field({ type: [DeliveryStatusEnum], required: false }),
    eventType: t.string({ required: false }),
    createdAfter: t.field({ type: 'DateTime', required: false, description: 'Inclusive.' }),
    createdBefore: t.field({ type: 'DateTime', required: false, description: 'Exclusive.' }),
    superseded: t.boolean({
      required: false,
      description: 'true: only deliveries that have a newer replay (supersededBy set); false: only current ones; absent: all.',
    }),
  }),
});

type DeliveryFilterValue = typeof DeliveryFilter.$inferInput;

/** The Prisma filter for a DeliveryFilter, always inside the caller's tenant. */
export function deliveryWhere(tenant: string, filter: DeliveryFilterValue | null | undefined, param = 'filter'): Prisma.DeliveryWhereInput {
  const where: Prisma.DeliveryWhereInput = { tenantId: tenant };
  if (!filter) return where;
  if (filter.endpointId) where.endpointId = parseId('endpoint', filter.endpointId, `${param}.endpointId`);
  if (filter.eventId) where.eventId = parseId('event', filter.eventId, `${param}.eventId`);
  if (filter.status && filter.status.length > 0) where.status = { in: filter.status };
  if (filter.eventType) where.eventType = checkEventType(filter.eventType, `${param}.eventType`);
  if (filter.superseded === true) where.supersededById = { not: null };
  if (filter.superseded === false) where.supersededById = null;
  const createdAt = createdWindow(filter.createdAfter, filter.createdBefore, `${param}.createdAfter`);
  if (createdAt) where.createdAt = createdAt;
  return where;
}

/** Newest first; the id breaks ties between equal timestamps so cursors are exact. */
export const NEWEST_FIRST = [{ createdAt: 'desc' }, { id: 'desc' }] satisfies Prisma.DeliveryOrderByWithRelationInput[];

// A delivery's attempts and replays are plain lists (their existing clients select them without
// arguments) bounded like the connections: a default page, and at most the connections' maximum.
const LIST_DEFAULT = 50;
const LIST_MAX = 100;

function listSize(first: number | null | undefined): number {
  const n = first ?? LIST_DEFAULT;
  if (n < 0) throw invalid('first', 'first must not be negative');
  return Math.min(n, LIST_MAX);
}

export const DeliveryAttemptRef = builder.prismaObject('DeliveryAttempt', {
  fields: (t) => ({
    id: t.exposeID('id'),
    attemptNumber: t.exposeInt('attemptNumber'),
    trigger: t.exposeString('trigger', { description: 'event, replay or test for the first attempt; retry after that.' }),
    startedAt: t.expose('startedAt', { type: 'DateTime' }),
    durationMs: t.exposeInt('durationMs', { nullable: true }),
    responseStatus: t.exposeInt('responseStatus', { nullable: true }),
    responseBody: t.exposeString('responseBody', { nullable: true, description: 'The first 16 KiB.' }),
    error: t.exposeString('error', { nullable: true }),
  }),
});

export const DeliveryRef = builder.prismaNode('Delivery', {
  id: { field: 'id' },
  findUnique: (id, ctx) => ({ id, tenantId: tenantId(ctx) }),
  fields: (t) => ({
    endpoint: t.relation('endpoint'),
    event: t.relation('event'),
    eventType: t.exposeString('eventType'),
    status: t.expose('status', { type: DeliveryStatusEnum }),
    trigger: t.exposeString('trigger', { description: 'Why the delivery exists: event, replay or test.' }),
    attemptCount: t.exposeInt('attemptCount'),
    nextAttemptAt: t.expose('nextAttemptAt', { type: 'DateTime', nullable: true }),
    lastAttemptAt: t.expose('lastAttemptAt', { type: 'DateTime', nullable: true }),
    deliveredAt: t.expose('deliveredAt', { type: 'DateTime', nullable: true }),
    lastResponseStatus: t.exposeInt('lastResponseStatus', { nullable: true }),
    lastError: t.exposeString('lastError', { nullable: true }),
    replayOf: t.relation('replayOf', { nullable: true }),
    supersededBy: t.relation('supersededBy', {
      nullable: true,
      description: 'The newest replay of this delivery (the newest later delivery of the same event to the same endpoint); null while this one is current.',
    }),
    replays: t.relation('replays', {
      description: `The first \`first\` replays, oldest first (default ${LIST_DEFAULT}, at most ${LIST_MAX}).`,
      args: { first: t.arg.int({ required: false, defaultValue: LIST_DEFAULT }) },
      query: (args) => ({ orderBy: [{ createdAt: 'asc' }, { id: 'asc' }], take: listSize(args.first) }),
    }),
    attempts: t.relation('attempts', {
      description: `The first \`first\` attempts in order (default ${LIST_DEFAULT}, at most ${LIST_MAX}).`,
      args: { first: t.arg.int({ required: false, defaultValue: LIST_DEFAULT }) },
      query: (args) => ({ orderBy: { attemptNumber: 'asc' }, take: listSize(args.first) }),
    }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime' }),
  }),
});

export const DeliveryConnection = builder.connectionObject({ type: DeliveryRef, name: 'DeliveryConnection' }, { name: 'DeliveryEdge' });

builder.queryFields((t) => ({
  delivery: t.prismaField({
    type: 'Delivery',
    nullable: true,
    args: { id: t.arg.id({ required: true }) },
    resolve: (query, _root, args, ctx) => inTenant(ctx, 'delivery', args.id, (where) => ctx.services.db.delivery.findFirst({ ...query, where })),
  }),
  deliveries: t.prismaConnection({
    type: 'Delivery',
    cursor: 'id',
    args: { filter: t.arg({ type: DeliveryFilter, required: false }) },
    resolve: (query, _root, args, ctx) =>
      ctx.services.db.delivery.findMany({ ...query, where: deliveryWhere(tenantId(ctx), args.filter), orderBy: NEWEST_FIRST }),
  }, DeliveryConnection),
}));
