// Seed 002 (`POST /v1/webhooks/deliveries/{delivery_id}/replay`): the new delivery as a full
// record, FastAPI's error bodies (`422 { detail: [{ loc, msg, type }] }`, otherwise
// `{ detail: "<message>" }`), and the key in `X-API-Key` or `Authorization: Bearer`.
import { replayDelivery } from '../domain/replay.js';
import { parseId } from '../graphql/ids.js';
import { deliveryHead, iso, type Route, type Shape, statusOut } from './http.js';

const routes: Route[] = [
  {
    method: 'POST',
    path: '/v1/webhooks/deliveries/:delivery_id/replay',
    rename: { id: 'delivery_id' },
    async run({ params, auth, services }) {
      const id = await replayDelivery(services, auth.tenantId, parseId('delivery', params.delivery_id!, 'delivery_id'));
      const d = await services.db.delivery.findUniqueOrThrow({ where: { id } });
      const final = d.status === 'DELIVERED' || d.status === 'FAILED';
      return {
        status: 200,
        body: {
          ...deliveryHead(d),
          status: statusOut(d.status),
          // The number of the attempt that comes next (or, once final, the last one made).
          scheduled_attempt: final ? d.attemptCount : d.attemptCount + 1,
          next_retry_at: iso(d.nextAttemptAt),
          last_attempt_at: iso(d.lastAttemptAt),
          delivered_at: iso(d.deliveredAt),
          final_http_status: d.lastResponseStatus,
          error_message: d.lastError,
          replay_of_delivery_id: d.replayOfId,
          created_at: iso(d.createdAt),
          updated_at: iso(d.updatedAt),
        },
      };
    },
  },
];

export const fastapiDeliveriesShape: Shape = {
  name: 'webhooks_deliveries',
  apiKey(req) {
    const key = req.headers['x-api-key'];
    return typeof key === 'string' && key !== '' ? key : req.headers.authorization;
  },
  render(f, { params }) {
    if (f.status === 400 || f.status === 422) {
      const param = f.param ?? 'body';
      const loc = param in params ? ['path', param] : ['body', ...param.split('.').filter((p) => p !== 'body')];
      return { status: 422, body: { detail: [{ loc, msg: f.message, type: f.code.toLowerCase() }] } };
    }
    return { status: f.status, body: { detail: f.message, code: f.code.toLowerCase() } };
  },
  routes,
};
