// Seeds 000/001 (`/v1/webhook_deliveries`: replay, bulk_replay, list, get) and seed 004
// (`/v1/webhook_deliveries/{id}/redeliver`), which share the path and the error envelope
// `{ error: { type, code, message, param? }, request_id }` with GraphQL's codes in lower case.
import { bulkReplay, replayDelivery } from '../domain/replay.js';
import { eventType as checkEventType, dateRange } from '../domain/validate.js';
import { invalid, notFound } from '../errors.js';
import { deliveryWhere, NEWEST_FIRST } from '../graphql/delivery.js';
import { parseId } from '../graphql/ids.js';
import type { Prisma } from '../generated/prisma/client.js';
import {
  bearer, deliveryHead, iso, onlyFields, optionalDate, optionalStatus, optionalString, readJsonBody, requiredString, type Route, type Shape, statusOut,
} from './http.js';

const DELIVERY_SELECT = {
  id: true,
  endpointId: true,
  eventId: true,
  eventType: true,
  status: true,
  trigger: true,
  attemptCount: true,
  replayOfId: true,
  nextAttemptAt: true,
  lastAttemptAt: true,
  deliveredAt: true,
  lastResponseStatus: true,
  lastError: true,
  createdAt: true,
  updatedAt: true,
} satisfies Prisma.DeliverySelect;

type DeliveryRow = Prisma.DeliveryGetPayload<{ select: typeof DELIVERY_SELECT }>;

function webhookDelivery(d: DeliveryRow) {
  return {
    id: d.id,
    object: 'webhook_delivery' as const,
    subscription_id: d.endpointId,
    event_id: d.eventId,
    event_type: d.eventType,
    status: statusOut(d.status),
    trigger: d.trigger,
    attempt_count: d.attemptCount,
    replayed_from: d.replayOfId,
    next_attempt_at: iso(d.nextAttemptAt),
    last_attempt_at: iso(d.lastAttemptAt),
    delivered_at: iso(d.deliveredAt),
    last_response_status: d.lastResponseStatus,
    last_error: d.lastError,
    created_at: iso(d.createdAt),
    updated_at: iso(d.updatedAt),
  };
}

const LIST_PARAMS = ['subscription_id', 'status', 'event_type', 'created_after', 'created_before', 'limit', 'starting_after'] as const;
const BULK_FIELDS = ['subscription_id', 'status', 'event_type', 'created_after', 'created_before'] as const;

function limitOf(value: string | null): number {
  if (value === null) return 20;
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < 1 || n > 100) throw invalid('limit', 'limit must be a whole number from 1 to 100');
  return n;
}

const routes: Route[] = [
  {
    method: 'POST',
    path: '/v1/webhook_deliveries/bulk_replay',
    rename: { 'input.endpointId': 'subscription_id' },
    async run({ req, auth, services, requestId }) {
      const body = await readJsonBody(req);
      onlyFields(body, BULK_FIELDS);
      const endpointId = parseId('endpoint', requiredString(body.subscription_id, 'subscription_id'), 'subscription_id');
      const eventType = optionalString(body.event_type, 'event_type');
      const createdAfter = optionalDate(body.created_after, 'created_after');
      const createdBefore = optionalDate(body.created_before, 'created_before');
      dateRange(createdAfter, createdBefore, 'created_after');
      const result = await bulkReplay(services, auth.tenantId, {
        endpointId,
        status: optionalStatus(body.status) ?? 'FAILED',
        eventType: eventType ? checkEventType(eventType, 'event_type') : null,
        createdAfter,
        createdBefore,
        afterDeliveryId: null,
        dryRun: false,
      });
      return { status: 200, body: { data: { enqueued: result.enqueued, capped: result.capped }, request_id: requestId } };
    },
  },
  {
    method: 'POST',
    path: '/v1/webhook_deliveries/:id/replay',
    async run({ params, auth, services, requestId }) {
      const original = parseId('delivery', params.id!, 'id');
      const id = await replayDelivery(services, auth.tenantId, original);
      // A replay is created PENDING; reading it back could already see the dispatcher's SENDING.
      return { status: 200, body: { data: { id, object: 'webhook_delivery', replayed_from: original, status: 'pending' }, request_id: requestId } };
    },
  },
  {
    method: 'POST',
    path: '/v1/webhook_deliveries/:id/redeliver',
    async run({ params, auth, services }) {
      const id = await replayDelivery(services, auth.tenantId, parseId('delivery', params.id!, 'id'));
      const d = await services.db.delivery.findUniqueOrThrow({
        where: { id },
        select: { ...DELIVERY_SELECT, endpoint: { select: { url: true } } },
      });
      // Seed 004 redelivers the same row and counts; here every replay is a new row of the same
      // event to the same endpoint, so the count is those rows.
      const manualRetries = await services.db.delivery.count({
        where: { tenantId: auth.tenantId, eventId: d.eventId, endpointId: d.endpointId, trigger: 'replay' },
      });
      return {
        status: 200,
        body: {
          ...deliveryHead(d),
          url: d.endpoint.url,
          status: statusOut(d.status),
          attempt_count: d.attemptCount,
          manual_retry_count: manualRetries,
          next_attempt_at: iso(d.nextAttemptAt),
          last_error: d.lastError,
          last_response_status: d.lastResponseStatus,
          delivered_at: iso(d.deliveredAt),
          created_at: iso(d.createdAt),
          updated_at: iso(d.updatedAt),
        },
      };
    },
  },
  {
    method: 'GET',
    path: '/v1/webhook_deliveries',
    rename: { 'query.eventType': 'event_type', 'query.createdAfter': 'created_after' },
    async run({ query, auth, services, requestId }) {
      onlyFields(query, LIST_PARAMS);
      const status = optionalStatus(query.get('status') ?? undefined);
      const endpointId = query.get('subscription_id');
      const where = deliveryWhere(
        auth.tenantId,
        {
          endpointId: endpointId ? parseId('endpoint', endpointId, 'subscription_id') : null,
          status: status ? [status] : null,
          eventType: query.get('event_type'),
          createdAfter: optionalDate(query.get('created_after'), 'created_after'),
          createdBefore: optionalDate(query.get('created_before'), 'created_before'),
        },
        'query',
      );
      const limit = limitOf(query.get('limit'));
      const after = query.get('starting_after');
      if (after !== null) {
        // Prisma pages from the cursor row's position whoever owns it; only the caller's rows may anchor a page.
        const anchor = await services.db.delivery.findFirst({ where: { id: parseId('delivery', after, 'starting_after'), tenantId: auth.tenantId }, select: { id: true } });
        if (!anchor) throw invalid('starting_after', 'starting_after is not a delivery of this account');
      }
      const rows = await services.db.delivery.findMany({
        where,
        orderBy: NEWEST_FIRST,
        take: limit + 1,
        ...(after !== null ? { cursor: { id: after }, skip: 1 } : {}),
        select: DELIVERY_SELECT,
      });
      const page = rows.slice(0, limit);
      const hasMore = rows.length > limit;
      return {
        status: 200,
        body: { object: 'list', data: page.map(webhookDelivery), has_more: hasMore, next_cursor: hasMore ? page.at(-1)!.id : null, request_id: requestId },
      };
    },
  },
  {
    method: 'GET',
    path: '/v1/webhook_deliveries/:id',
    async run({ params, auth, services, requestId }) {
      const id = parseId('delivery', params.id!, 'id');
      const d = await services.db.delivery.findFirst({ where: { id, tenantId: auth.tenantId }, select: DELIVERY_SELECT });
      if (!d) throw notFound('delivery', id);
      return { status: 200, body: { data: webhookDelivery(d), request_id: requestId } };
    },
  },
];

function errorType(status: number): string {
  if (status === 401) return 'authentication_error';
  if (status === 429) return 'rate_limit_error';
  if (status >= 500) return 'api_error';
  return 'invalid_request_error';
}

export const webhookDeliveriesShape: Shape = {
  name: 'webhook_deliveries',
  apiKey: bearer,
  render(f, { requestId }) {
    return {
      status: f.status,
      body: {
        error: {
          type: errorType(f.status),
          code: f.code.toLowerCase(),
          message: f.message,
          ...(f.param !== undefined ? { param: f.param } : {}),
        },
        request_id: requestId,
      },
    };
  },
  routes,
};
