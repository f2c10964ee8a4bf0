// deliveryStats: deliveries per time bucket by outcome, for the dashboard's charts.
import { invalid } from '../errors.js';
import { builder } from './builder.js';
import { tenantId } from './context.js';
import { parseId } from './ids.js';

interface Bucket {
  start: Date;
  delivered: number;
  failed: number;
  pending: number;
}

/** A chart has no use for more points than this; it also bounds the work of one query. */
export const MAX_BUCKETS = 1500;
const MAX_RANGE_MS = 7 * 86_400_000;

const BucketRef = builder.objectRef<Bucket>('DeliveryStatsBucket').implement({
  description: 'Deliveries created in [start, start + bucketSeconds), by where they stand now.',
  fields: (t) => ({
    start: t.expose('start', { type: 'DateTime' }),
    delivered: t.exposeInt('delivered'),
    failed: t.exposeInt('failed'),
    pending: t.exposeInt('pending', { description: 'PENDING or SENDING.' }),
  }),
});

builder.queryField('deliveryStats', (t) =>
  t.field({
    type: [BucketRef],
    description: `Deliveries per bucket since \`since\` (at most 7 days ago, at most ${MAX_BUCKETS} buckets), of one endpoint or the whole tenant. Buckets with no deliveries are left out.`,
    args: {
      endpointId: t.arg.id({ required: false }),
      since: t.arg({ type: 'DateTime', required: true }),
      bucketSeconds: t.arg.int({ required: true }),
    },
    resolve: async (_root, args, ctx) => {
      const tenant = tenantId(ctx);
      const endpointId = args.endpointId ? parseId('endpoint', args.endpointId, 'endpointId') : null;
      const range = Date.now() - args.since.getTime();
      if (range > MAX_RANGE_MS) throw invalid('since', 'since is at most 7 days ago');
      if (args.bucketSeconds < 1) throw invalid('bucketSeconds', 'bucketSeconds must be at least 1');
      if (range / 1000 / args.bucketSeconds > MAX_BUCKETS) throw invalid('bucketSeconds', `that range would make more than ${MAX_BUCKETS} buckets: use larger buckets`);
      // One statement over the (tenantId, endpointId, createdAt) indexes; date_bin aligns buckets on
      // `since`, so each chart point is one row and nothing is counted in Node.
      return ctx.services.db.$queryRawUnsafe<Bucket[]>(
        `SELECT date_bin(make_interval(secs => $3::int), "createdAt", $2::timestamptz) AS start,
                count(*) FILTER (WHERE status = 'DELIVERED')::int AS delivered,
                count(*) FILTER (WHERE status = 'FAILED')::int AS failed,
                count(*) FILTER (WHERE status IN ('PENDING', 'SENDING'))::int AS pending
           FROM "Delivery"
          WHERE "tenantId" = $1 AND "createdAt" >= $2::timestamptz AND ($4::text IS NULL OR "endpointId" = $4)
          GROUP BY 1
          ORDER BY 1`,
        tenant,
        args.since,
        args.bucketSeconds,
        endpointId,
      );
    },
  }),
);
