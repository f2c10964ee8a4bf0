// Seed 003 (`/api/v1/webhooks/{endpoint_id}/...`): single replay, replay-failed (bulk replay of
// FAILED deliveries, oldest first, at most the cap) and test-fire. Errors keep GraphQL's codes as
// that document names them (REPLAY_RATE_LIMITED, TEST_FIRE_RATE_LIMITED).
import { bulkReplay, replayDelivery, testFire } from '../domain/replay.js';
import { eventType as checkEventType } from '../domain/validate.js';
import { notFound } from '../errors.js';
import { parseId } from '../graphql/ids.js';
import { bearer, onlyFields, optionalDate, readJsonBody, requiredString, type Route, type Shape } from './http.js';

const routes: Route[] = [
  {
    method: 'POST',
    path: '/api/v1/webhooks/:endpoint_id/deliveries/:delivery_id/replay',
    // Past the ownership check, replayDelivery's `id` errors are about the endpoint (disabled).
    rename: { id: 'endpoint_id' },
    async run({ params, auth, services }) {
      const endpointId = parseId('endpoint', params.endpoint_id!, 'endpoint_id');
      const original = parseId('delivery', params.delivery_id!, 'delivery_id');
      // The path names the endpoint too: a delivery of another endpoint is not found here.
      const owned = await services.db.delivery.findFirst({ where: { id: original, tenantId: auth.tenantId, endpointId }, select: { id: true } });
      if (!owned) throw notFound('delivery', original, 'delivery_id');
      const id = await replayDelivery(services, auth.tenantId, original);
      return { status: 200, body: { delivery_id: id, endpoint_id: endpointId, replayed_from: original, status: 'pending' } };
    },
  },
  {
    method: 'POST',
    path: '/api/v1/webhooks/:endpoint_id/replay-failed',
    rename: { 'input.endpointId': 'endpoint_id' },
    async run({ req, params, auth, services }) {
      const endpointId = parseId('endpoint', params.endpoint_id!, 'endpoint_id');
      const body = await readJsonBody(req);
      onlyFields(body, ['since']);
      const result = await bulkReplay(services, auth.tenantId, {
        endpointId,
        status: 'FAILED',
        createdAfter: optionalDate(body.since, 'since'),
        createdBefore: null,
        eventType: null,
        afterDeliveryId: null,
        dryRun: false,
      });
      return { status: 200, body: { queued: result.enqueued, endpoint_id: endpointId } };
    },
  },
  {
    method: 'POST',
    path: '/api/v1/webhooks/:endpoint_id/test-fire',
    rename: { id: 'endpoint_id' },
    async run({ req, params, auth, services }) {
      const endpointId = parseId('endpoint', params.endpoint_id!, 'endpoint_id');
      const body = await readJsonBody(req);
      onlyFields(body, ['event']);
      const event = checkEventType(requiredString(body.event, 'event'), 'event');
      const id = await testFire(services, auth.tenantId, endpointId, event);
      return { status: 200, body: { delivery_id: id, endpoint_id: endpointId, event, test: true, status: 'pending' } };
    },
  },
];

export const endpointWebhooksShape: Shape = {
  name: 'api_v1_webhooks',
  apiKey: bearer,
  render(f, { requestId }) {
    return {
      status: f.status,
      body: { error: { code: f.code, message: f.message, ...(f.param !== undefined ? { param: f.param } : {}) }, request_id: requestId },
    };
  },
  routes,
};
