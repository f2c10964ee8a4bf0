import { deleteEndpoint } from '../domain/endpoints.js';
import * as check from '../domain/validate.js';
import { invalid } from '../errors.js';
import { EndpointStatus } from '../generated/prisma/enums.js';
import { newId } from '../ids.js';
import { validateEndpointUrl } from '../security/targets.js';
import { generateSecret } from '../signing.js';
import { builder } from './builder.js';
import { type Context, tenantId } from './context.js';
import { DeliveryConnection, DeliveryFilter, deliveryWhere, NEWEST_FIRST } from './delivery.js';
import { inTenant } from './ids.js';

export const EndpointStatusEnum = builder.enumType(EndpointStatus, { name: 'EndpointStatus' });

const FIFO_DESCRIPTION =
  'Ordered delivery: one at a time, in the order the events were created; a delivery waits until every earlier one is DELIVERED or FAILED (retries hold the line, a replay joins the back).';

const MAX_GRACE_SECONDS = 7 * 24 * 3600;

interface Stats {
  pending: number;
  sending: number;
  delivered: number;
  failed: number;
}

const EndpointStats = builder.objectRef<Stats>('EndpointDeliveryStats').implement({
  fields: (t) => ({
    pending: t.exposeInt('pending'),
    sending: t.exposeInt('sending'),
    delivered: t.exposeInt('delivered'),
    failed: t.exposeInt('failed'),
    failureRate: t.float({
      nullable: true,
      description: 'failed / (delivered + failed); null before anything settled.',
      resolve: (s) => (s.delivered + s.failed === 0 ? null : s.failed / (s.delivered + s.failed)),
    }),
  }),
});

const EndpointRef = builder.prismaNode('Endpoint', {
  id: { field: 'id' },
  findUnique: (id, ctx) => ({ id, tenantId: tenantId(ctx), deletedAt: null }),
  fields: (t) => ({
    url: t.exposeString('url'),
    description: t.exposeString('description', { nullable: true }),
    eventTypes: t.exposeStringList('eventTypes', { description: 'Empty or "*" means every event type; "prefix.*" every type under prefix.' }),
    status: t.expose('status', { type: EndpointStatusEnum }),
    disabledReason: t.exposeString('disabledReason', { nullable: true }),
    headers: t.expose('headers', { type: 'JSON', description: 'Custom headers sent with every delivery.' }),
    rateLimitPerSecond: t.exposeInt('rateLimitPerSecond', { nullable: true }),
    fifo: t.exposeBoolean('fifo', { description: FIFO_DESCRIPTION }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime' }),
    deletedAt: t.expose('deletedAt', { type: 'DateTime', nullable: true }),
    failingSince: t.expose('failingSince', {
      type: 'DateTime',
      nullable: true,
      description: 'The first failed attempt since the last success (null while healthy); HOOKYARD_DISABLE_AFTER later disables the endpoint.',
    }),
    deliveryStats: t.field({
      type: EndpointStats,
      description: 'Deliveries by status, created since `since` (default: the last 24 hours).',
      args: { since: t.arg({ type: 'DateTime', required: false }) },
      select: { id: true },
      resolve: async (endpoint, args, ctx) => {
        const since = check.storableDate(args.since, 'since') ?? new Date(Date.now() - 86_400_000);
        const groups = await ctx.services.db.delivery.groupBy({ by: ['status'], where: { endpointId: endpoint.id, createdAt: { gte: since } }, _count: true });
        const count = (status: string) => groups.find((g) => g.status === status)?._count ?? 0;
        return { pending: count('PENDING'), sending: count('SENDING'), delivered: count('DELIVERED'), failed: count('FAILED') };
      },
    }),
    deliveries: t.relatedConnection('deliveries', {
      cursor: 'id',
      args: { filter: t.arg({ type: DeliveryFilter, required: false }) },
      query: (args, ctx) => ({ where: deliveryWhere(tenantId(ctx), args.filter), orderBy: NEWEST_FIRST }),
    }, DeliveryConnection),
  }),
});

const EndpointConnection = builder.connectionObject({ type: EndpointRef, name: 'EndpointConnection' }, { name: 'EndpointEdge' });

const CreateEndpointInput = builder.inputType('CreateEndpointInput', {
  fields: (t) => ({
    url: t.string({ required: true }),
    description: t.string({ required: false }),
    eventTypes: t.stringList({ required: false }),
    headers: t.field({ type: 'JSON', required: false }),
    rateLimitPerSecond: t.int({ required: false, description: 'Most deliveries per second to this endpoint (unset: no limit).' }),
    fifo: t.boolean({ required: false, description: `${FIFO_DESCRIPTION} Default false.` }),
  }),
});

const UpdateEndpointInput = builder.inputType('UpdateEndpointInput', {
  description: 'Fields left out are unchanged; description and rateLimitPerSecond are cleared by null.',
  fields: (t) => ({
    url: t.string({ required: false }),
    description: t.string({ required: false }),
    eventTypes: t.stringList({ required: false }),
    headers: t.field({ type: 'JSON', required: false }),
    rateLimitPerSecond: t.int({ required: false }),
    fifo: t.boolean({ required: false }),
  }),
});

interface SecretPayload {
  endpointId: string;
  secret: string;
}

function secretPayload(name: string, description: string) {
  return builder.objectRef<SecretPayload>(name).implement({
    fields: (t) => ({
      endpoint: t.prismaField({
        type: 'Endpoint',
        resolve: (query, parent, _args, ctx) => ctx.services.db.endpoint.findUniqueOrThrow({ ...query, where: { id: parent.endpointId } }),
      }),
      secret: t.exposeString('secret', { description }),
    }),
  });
}

const CreateEndpointPayload = secretPayload('CreateEndpointPayload', 'The signing secret (whsec_…). Shown only here.');
const RotateEndpointSecretPayload = secretPayload(
  'RotateEndpointSecretPayload',
  'The new signing secret (whsec_…). The previous ones keep signing until the grace period ends.',
);

/** An endpoint of the caller's tenant that is not deleted, or NOT_FOUND. */
async function ownEndpoint(ctx: Context, rawId: string) {
  const row = await inTenant(ctx, 'endpoint', rawId, (where) =>
    ctx.services.db.endpoint.findFirst({ where: { ...where, deletedAt: null }, select: { id: true } }),
  );
  return row.id;
}

builder.queryFields((t) => ({
  endpoint: t.prismaField({
    type: 'Endpoint',
    nullable: true,
    args: { id: t.arg.id({ required: true }) },
    resolve: (query, _root, args, ctx) =>
      inTenant(ctx, 'endpoint', args.id, (where) => ctx.services.db.endpoint.findFirst({ ...query, where: { ...where, deletedAt: null } })),
  }),
  endpoints: t.prismaConnection({
    type: 'Endpoint',
    cursor: 'id',
    args: { status: t.arg({ type: EndpointStatusEnum, required: false }) },
    resolve: (query, _root, args, ctx) =>
      ctx.services.db.endpoint.findMany({
        ...query,
        where: { tenantId: tenantId(ctx), deletedAt: null, ...(args.status ? { status: args.status } : {}) },
        orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
      }),
  }, EndpointConnection),
}));

builder.mutationFields((t) => ({
  createEndpoint: t.field({
    type: CreateEndpointPayload,
    args: { input: t.arg({ type: CreateEndpointInput, required: true }) },
    resolve: async (_root, { input }, ctx) => {
      const tenant = tenantId(ctx);
      const data = {
        url: validateEndpointUrl(input.url, ctx.services.config.allowPrivateTargets, 'input.url'),
        description: check.optionalText(input.description, 'input.description', 1000),
        eventTypes: check.eventTypeFilter(input.eventTypes, 'input.eventTypes'),
        headers: check.headers(input.headers, 'input.headers'),
        rateLimitPerSecond: check.intInRange(input.rateLimitPerSecond, 'input.rateLimitPerSecond', 1, 10_000),
        fifo: check.flag(input.fifo, 'input.fifo', false),
      };
      const secret = generateSecret();
      const endpointId = newId('endpoint');
      const sealed = ctx.services.secretBox.seal(secret, endpointId);
      const endpoint = await ctx.services.db.endpoint.create({
        data: { id: endpointId, tenantId: tenant, ...data, secrets: { create: { id: newId('secret'), secret: sealed } } },
        select: { id: true },
      });
      ctx.services.endpointCache.changed(tenant);
      ctx.services.logger.info({ endpointId: endpoint.id, tenantId: tenant }, 'endpoint created');
      return { endpointId: endpoint.id, secret };
    },
  }),
  updateEndpoint: t.prismaField({
    type: 'Endpoint',
    args: { id: t.arg.id({ required: true }), input: t.arg({ type: UpdateEndpointInput, required: true }) },
    resolve: async (query, _root, { id: rawId, input }, ctx) => {
      const id = await ownEndpoint(ctx, rawId);
      if (input.url === null) throw invalid('input.url', 'url cannot be null');
      if (input.eventTypes === null) throw invalid('input.eventTypes', 'eventTypes cannot be null; use [] for every type');
      const data = {
        ...(input.url !== undefined ? { url: validateEndpointUrl(input.url, ctx.services.config.allowPrivateTargets, 'input.url') } : {}),
        ...(input.description !== undefined ? { description: check.optionalText(input.description, 'input.description', 1000) } : {}),
        ...(input.eventTypes !== undefined ? { eventTypes: check.eventTypeFilter(input.eventTypes, 'input.eventTypes') } : {}),
        ...(input.headers !== undefined ? { headers: check.headers(input.headers, 'input.headers') } : {}),
        ...(input.rateLimitPerSecond !== undefined
          ? { rateLimitPerSecond: check.intInRange(input.rateLimitPerSecond, 'input.rateLimitPerSecond', 1, 10_000) }
          : {}),
        ...(input.fifo !== undefined ? { fifo: check.flag(input.fifo, 'input.fifo') } : {}),
      };
      const endpoint = await ctx.services.db.endpoint.update({ ...query, where: { id }, data });
      ctx.services.endpointCache.changed(tenantId(ctx));
      return endpoint;
    },
  }),
  deleteEndpoint: t.id({
    description: 'Deletes the endpoint. Its deliveries stay for audit; those still waiting end FAILED.',
    args: { id: t.arg.id({ required: true }) },
    resolve: async (_root, args, ctx) => {
      const id = await ownEndpoint(ctx, args.id);
      await deleteEndpoint(ctx.services, tenantId(ctx), id);
      ctx.services.endpointCache.changed(tenantId(ctx));
      return id;
    },
  }),
  disableEndpoint: t.prismaField({
    type: 'Endpoint',
    description: 'Stops deliveries to the endpoint; waiting deliveries stay PENDING until it is enabled again.',
    args: { id: t.arg.id({ required: true }), reason: t.arg.string({ required: false }) },
    resolve: async (query, _root, args, ctx) => {
      const id = await ownEndpoint(ctx, args.id);
      const reason = check.optionalText(args.reason, 'reason', 500) ?? 'disabled by an operator';
      const endpoint = await ctx.services.db.endpoint.update({ ...query, where: { id }, data: { status: 'DISABLED', disabledReason: reason } });
      ctx.services.endpointCache.changed(tenantId(ctx));
      return endpoint;
    },
  }),
  enableEndpoint: t.prismaField({
    type: 'Endpoint',
    args: { id: t.arg.id({ required: true }) },
    resolve: async (query, _root, args, ctx) => {
      const id = await ownEndpoint(ctx, args.id);
      const endpoint = await ctx.services.db.endpoint.update({ ...query, where: { id }, data: { status: 'ACTIVE', disabledReason: null, failingSince: null } });
      ctx.services.endpointCache.changed(tenantId(ctx));
      ctx.services.notifyWork();
      return endpoint;
    },
  }),
  rotateEndpointSecret: t.field({
    type: RotateEndpointSecretPayload,
    args: {
      id: t.arg.id({ required: true }),
      graceSeconds: t.arg.int({ required: false, description: 'How long the previous secrets keep signing (default 86400, at most 604800).' }),
    },
    resolve: async (_root, args, ctx) => {
      const id = await ownEndpoint(ctx, args.id);
      const grace = check.intInRange(args.graceSeconds, 'graceSeconds', 0, MAX_GRACE_SECONDS) ?? 86_400;
      const until = new Date(Date.now() + grace * 1000);
      const secret = generateSecret();
      await ctx.services.db.$transaction([
        ctx.services.db.endpointSecret.updateMany({
          where: { endpointId: id, OR: [{ expiresAt: null }, { expiresAt: { gt: until } }] },
          data: { expiresAt: until },
        }),
        ctx.services.db.endpointSecret.deleteMany({ where: { endpointId: id, expiresAt: { lte: new Date() } } }),
        ctx.services.db.endpointSecret.create({ data: { id: newId('secret'), endpointId: id, secret: ctx.services.secretBox.seal(secret, id) } }),
      ]);
      ctx.services.logger.info({ endpointId: id, graceSeconds: grace }, 'endpoint secret rotated');
      return { endpointId: id, secret };
    },
  }),
}));
