import { bulkReplay, type BulkReplayResult, replayDelivery, testFire } from '../domain/replay.js';
import { dateRange, eventType as checkEventType } from '../domain/validate.js';
import { invalid } from '../errors.js';
import { builder } from './builder.js';
import { tenantId } from './context.js';
import { DeliveryStatusEnum } from './delivery.js';
import { parseId } from './ids.js';

const BulkReplayDeliveriesInput = builder.inputType('BulkReplayDeliveriesInput', {
  fields: (t) => ({
    endpointId: t.id({ required: true }),
    status: t.field({ type: DeliveryStatusEnum, required: false, description: 'Default FAILED.' }),
    eventType: t.string({ required: false }),
    createdAfter: t.field({ type: 'DateTime', required: false, description: 'Inclusive (see afterDeliveryId).' }),
    createdBefore: t.field({ type: 'DateTime', required: false, description: 'Exclusive.' }),
    afterDeliveryId: t.id({
      required: false,
      description: 'With createdAfter: also skip deliveries created exactly at createdAfter up to this id. Pass nextAfterDeliveryId to page exactly.',
    }),
    includeSuperseded: t.boolean({
      required: false,
      description: 'Also replay deliveries that already have a newer replay (supersededBy set). Default false: only the newest delivery of each event counts.',
    }),
    dryRun: t.boolean({ required: false, description: 'Count what would be enqueued; enqueue nothing.' }),
  }),
});

const BulkReplayResultRef = builder
  .objectRef<BulkReplayResult>('BulkReplayResult')
  .implement({
    fields: (t) => ({
      enqueued: t.exposeInt('enqueued', { description: 'Replays created (with dryRun: that would be created).' }),
      capped: t.exposeBoolean('capped', { description: 'More deliveries matched than one call replays.' }),
      dryRun: t.exposeBoolean('dryRun'),
      totalMatching: t.exposeInt('totalMatching', { description: 'All deliveries matching the filter, before the cap.' }),
      nextCreatedAfter: t.expose('nextCreatedAfter', { type: 'DateTime', nullable: true, description: 'When capped: createdAfter for the next call.' }),
      nextAfterDeliveryId: t.exposeID('nextAfterDeliveryId', { nullable: true, description: 'When capped: afterDeliveryId for the next call.' }),
    }),
  });

builder.mutationFields((t) => ({
  replayDelivery: t.prismaField({
    type: 'Delivery',
    description: 'A fresh PENDING delivery of the same event to the same endpoint (new delivery id, same webhook-id); the original is unchanged.',
    args: { id: t.arg.id({ required: true }) },
    resolve: async (query, _root, args, ctx) => {
      const id = await replayDelivery(ctx.services, tenantId(ctx), parseId('delivery', args.id));
      return ctx.services.db.delivery.findUniqueOrThrow({ ...query, where: { id } });
    },
  }),
  bulkReplayDeliveries: t.field({
    type: BulkReplayResultRef,
    description: 'Replays the oldest matching deliveries of one endpoint, at most HOOKYARD_BULK_REPLAY_CAP per call.',
    args: { input: t.arg({ type: BulkReplayDeliveriesInput, required: true }) },
    resolve: (_root, { input }, ctx) => {
      dateRange(input.createdAfter, input.createdBefore, 'input.createdAfter');
      if (input.afterDeliveryId && !input.createdAfter) throw invalid('input.afterDeliveryId', 'afterDeliveryId needs createdAfter');
      return bulkReplay(ctx.services, tenantId(ctx), {
        endpointId: parseId('endpoint', input.endpointId, 'input.endpointId'),
        status: input.status ?? 'FAILED',
        eventType: input.eventType ? checkEventType(input.eventType, 'input.eventType') : null,
        createdAfter: input.createdAfter,
        createdBefore: input.createdBefore,
        afterDeliveryId: input.afterDeliveryId ? parseId('delivery', input.afterDeliveryId, 'input.afterDeliveryId') : null,
        includeSuperseded: input.includeSuperseded ?? false,
        dryRun: input.dryRun ?? false,
      });
    },
  }),
  testFireEndpoint: t.prismaField({
    type: 'Delivery',
    description: 'Sends a synthetic event (data.test = true), signed with the endpoint secret, to this endpoint only.',
    args: { id: t.arg.id({ required: true }), eventType: t.arg.string({ required: true }) },
    resolve: async (query, _root, args, ctx) => {
      const id = await testFire(ctx.services, tenantId(ctx), parseId('endpoint', args.id), checkEventType(args.eventType, 'eventType'));
      return ctx.services.db.delivery.findUniqueOrThrow({ ...query, where: { id } });
    },
  }),
}));
