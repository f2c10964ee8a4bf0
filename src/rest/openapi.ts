// The OpenAPI 3.1 document of the REST APIs, served at GET /openapi.json. `npm run generate`
// turns it into types (src/generated/rest-api.ts) that the REST tests' client is built from, so a
// route or field this document does not describe fails the type-check or the tests.
// Standalone on purpose: scripts/generate-openapi.ts imports it before anything else is built.

const STATUS = { type: 'string', enum: ['pending', 'sending', 'delivered', 'failed'], description: 'Lower case. A seed\'s `exhausted` is `failed`.' } as const;
const STATUS_IN = { type: 'string', enum: ['pending', 'sending', 'delivered', 'failed', 'exhausted'], description: '`exhausted` means `failed`.' } as const;
const DATE = { type: 'string', format: 'date-time' } as const;
const NULLABLE_DATE = { type: ['string', 'null'], format: 'date-time' } as const;
const NULLABLE_STRING = { type: ['string', 'null'] } as const;
const NULLABLE_INT = { type: ['integer', 'null'] } as const;

const json = (schema: object, description: string, headers?: object) => ({
  description,
  ...(headers ? { headers } : {}),
  content: { 'application/json': { schema } },
});
const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const RETRY_AFTER = { 'Retry-After': { description: 'Seconds until one more call is allowed.', required: true, schema: { type: 'integer', minimum: 1 } } };

const pathParam = (name: string, description: string) => ({ name, in: 'path', required: true, description, schema: { type: 'string' } });

/** The error responses of seeds 000/001/004, in their envelope. */
const stripeErrors = (codes: { conflict?: boolean; rateLimited?: boolean; notFound?: boolean; body?: boolean } = {}) => ({
  '400': json(ref('Error'), 'Validation failure (`type: invalid_request_error`, `code: validation_failed`, `param` names the input); also a body that is not JSON.'),
  '401': json(ref('Error'), 'Authentication failure (`code: unauthenticated`).'),
  ...(codes.notFound !== false ? { '404': json(ref('Error'), 'Resource not found in this account (`code: not_found`).') } : {}),
  ...(codes.conflict ? { '409': json(ref('Error'), 'The endpoint (subscription) is disabled (`code: endpoint_disabled`).') } : {}),
  ...(codes.body ? { '413': json(ref('Error'), 'Request body over 64 KiB (`code: payload_too_large`).') } : {}),
  ...(codes.rateLimited ? { '429': json(ref('Error'), 'Too many manual replays of this endpoint in a minute (`code: replay_rate_limited`).', RETRY_AFTER) } : {}),
  '500': json(ref('Error'), 'Internal error; the message is masked and quotes the request id.'),
});

const sendokaErrors = (rateLimitCode: string, body: boolean) => ({
  '400': json(ref('SendokaError'), 'Validation failure (`code: VALIDATION_FAILED`, `param`).'),
  '401': json(ref('SendokaError'), 'Missing or unknown API key (`code: UNAUTHENTICATED`).'),
  '404': json(ref('SendokaError'), 'Endpoint or delivery not found in this account (`code: NOT_FOUND`).'),
  '409': json(ref('SendokaError'), 'The endpoint is disabled (`code: ENDPOINT_DISABLED`).'),
  ...(body ? { '413': json(ref('SendokaError'), 'Request body over 64 KiB (`code: PAYLOAD_TOO_LARGE`).') } : {}),
  '429': json(ref('SendokaError'), `Rate limited per endpoint (\`code: ${rateLimitCode}\`).`, RETRY_AFTER),
  '500': json(ref('SendokaError'), 'Internal error, masked.'),
});

const body = (schema: object, required: boolean) => ({ required, content: { 'application/json': { schema } } });

export const openApiDocument = {
  openapi: '3.1.0',
  info: {
    title: 'Hookyard REST compatibility API',
    version: '1.0.0',
    description:
      'The REST shapes of four webhook services, served by Hookyard next to its GraphQL API (the primary API) over the same ' +
      'replay rules, rate limits, caps and tenant scoping. Ids are Hookyard ids (`dlv_…` deliveries, `ep_…` endpoints).',
  },
  servers: [{ url: '/' }],
  security: [{ bearer: [] }],
  tags: [
    { name: 'webhook_deliveries', description: 'Seeds 000/001 (bulk and single replay, list, get) and 004 (redeliver).' },
    { name: 'webhooks', description: 'Seed 002 (FastAPI-style replay).' },
    { name: 'api_v1_webhooks', description: 'Seed 003 (per-endpoint replay, replay-failed, test-fire).' },
  ],
  paths: {
    '/v1/webhook_deliveries': {
      get: {
        tags: ['webhook_deliveries'],
        operationId: 'listWebhookDeliveries',
        summary: 'List deliveries, newest first, with cursor paging',
        parameters: [
          { name: 'subscription_id', in: 'query', required: false, description: 'Endpoint id.', schema: { type: 'string' } },
          { name: 'status', in: 'query', required: false, schema: STATUS_IN },
          { name: 'event_type', in: 'query', required: false, schema: { type: 'string' } },
          { name: 'created_after', in: 'query', required: false, description: 'Inclusive.', schema: DATE },
          { name: 'created_before', in: 'query', required: false, description: 'Exclusive.', schema: DATE },
          { name: 'limit', in: 'query', required: false, schema: { type: 'integer', minimum: 1, maximum: 100, default: 20 } },
          { name: 'starting_after', in: 'query', required: false, description: 'The `next_cursor` of the previous page.', schema: { type: 'string' } },
        ],
        responses: { '200': json(ref('WebhookDeliveryList'), 'One page of deliveries.'), ...stripeErrors({ notFound: false }) },
      },
    },
    '/v1/webhook_deliveries/{id}': {
      get: {
        tags: ['webhook_deliveries'],
        operationId: 'getWebhookDelivery',
        summary: 'One delivery',
        parameters: [pathParam('id', 'Delivery id.')],
        responses: {
          '200': json({ type: 'object', required: ['data', 'request_id'], properties: { data: ref('WebhookDelivery'), request_id: { type: 'string' } } }, 'The delivery.'),
          ...stripeErrors(),
        },
      },
    },
    '/v1/webhook_deliveries/{id}/replay': {
      post: {
        tags: ['webhook_deliveries'],
        operationId: 'replayWebhookDelivery',
        summary: 'Replay one delivery (seed 001)',
        description: 'Re-fires the delivery against the same endpoint as a fresh delivery row; the original stays for audit.',
        parameters: [pathParam('id', 'Delivery id.')],
        responses: { '200': json(ref('ReplayResponse'), 'Replay enqueued.'), ...stripeErrors({ conflict: true, rateLimited: true }) },
      },
    },
    '/v1/webhook_deliveries/bulk_replay': {
      post: {
        tags: ['webhook_deliveries'],
        operationId: 'bulkReplayWebhookDeliveries',
        summary: 'Replay deliveries in bulk (seed 000)',
        description: 'Replays the oldest matching deliveries of one endpoint, at most HOOKYARD_BULK_REPLAY_CAP (default 1000) per call; `capped` says more matched.',
        requestBody: body(ref('BulkReplayRequest'), true),
        responses: { '200': json(ref('BulkReplayResponse'), 'Bulk replay enqueued.'), ...stripeErrors({ conflict: true, rateLimited: true, body: true }) },
      },
    },
    '/v1/webhook_deliveries/{id}/redeliver': {
      post: {
        tags: ['webhook_deliveries'],
        operationId: 'redeliverWebhookDelivery',
        summary: 'Redeliver one delivery (seed 004)',
        parameters: [pathParam('id', 'Delivery id.')],
        responses: { '200': json(ref('RedeliveredDelivery'), 'The new delivery.'), ...stripeErrors({ conflict: true, rateLimited: true }) },
      },
    },
    '/v1/webhooks/deliveries/{delivery_id}/replay': {
      post: {
        tags: ['webhooks'],
        operationId: 'replayWebhookDeliveryV2',
        summary: 'Replay Webhook Delivery (seed 002)',
        security: [{ bearer: [] }, { apiKey: [] }],
        parameters: [
          pathParam('delivery_id', 'Delivery id.'),
          { name: 'X-API-Key', in: 'header', required: false, description: 'The API key, instead of Authorization.', schema: { type: 'string' } },
        ],
        responses: {
          '200': json(ref('WebhookDeliveryResponse'), 'Successful Response'),
          '401': json(ref('DetailError'), 'Missing or unknown API key.'),
          '404': json(ref('DetailError'), 'Delivery not found in this account.'),
          '409': json(ref('DetailError'), 'The endpoint is disabled (`code: endpoint_disabled`).'),
          '422': json(ref('HTTPValidationError'), 'Validation Error'),
          '429': json(ref('DetailError'), 'Too many manual replays of this endpoint in a minute.', RETRY_AFTER),
          '500': json(ref('DetailError'), 'Internal error, masked.'),
        },
      },
    },
    '/api/v1/webhooks/{endpoint_id}/deliveries/{delivery_id}/replay': {
      post: {
        tags: ['api_v1_webhooks'],
        operationId: 'replayEndpointDelivery',
        summary: 'Replay one delivery of an endpoint (seed 003)',
        parameters: [pathParam('endpoint_id', 'Endpoint id.'), pathParam('delivery_id', 'Delivery id (of that endpoint).')],
        responses: { '200': json(ref('SendokaReplayResponse'), 'Replay enqueued.'), ...sendokaErrors('REPLAY_RATE_LIMITED', false) },
      },
    },
    '/api/v1/webhooks/{endpoint_id}/replay-failed': {
      post: {
        tags: ['api_v1_webhooks'],
        operationId: 'replayFailedDeliveries',
        summary: 'Replay failed deliveries of an endpoint (seed 003)',
        description: 'Failed deliveries created at or after `since` (all when omitted), oldest first, at most HOOKYARD_BULK_REPLAY_CAP per call.',
        parameters: [pathParam('endpoint_id', 'Endpoint id.')],
        requestBody: body(ref('ReplayFailedRequest'), false),
        responses: { '200': json(ref('ReplayFailedResponse'), 'Replays queued.'), ...sendokaErrors('REPLAY_RATE_LIMITED', true) },
      },
    },
    '/api/v1/webhooks/{endpoint_id}/test-fire': {
      post: {
        tags: ['api_v1_webhooks'],
        operationId: 'testFireEndpoint',
        summary: 'Send a synthetic, signed test event (`data.test: true`) to this endpoint only (seed 003)',
        parameters: [pathParam('endpoint_id', 'Endpoint id.')],
        requestBody: body(ref('TestFireRequest'), true),
        responses: { '200': json(ref('TestFireResponse'), 'Test event queued.'), ...sendokaErrors('TEST_FIRE_RATE_LIMITED', true) },
      },
    },
  },
  components: {
    securitySchemes: {
      bearer: { type: 'http', scheme: 'bearer', description: 'A Hookyard API key (`hy_…`).' },
      apiKey: { type: 'apiKey', in: 'header', name: 'X-API-Key', description: 'The same key (seed 002 only).' },
    },
    schemas: {
      Error: {
        type: 'object',
        required: ['error', 'request_id'],
        properties: {
          error: {
            type: 'object',
            required: ['type', 'code', 'message'],
            properties: {
              type: { type: 'string', enum: ['invalid_request_error', 'authentication_error', 'rate_limit_error', 'api_error'] },
              code: { type: 'string', description: "The GraphQL API's error code in lower case." },
              message: { type: 'string' },
              param: { type: 'string', description: 'The input at fault (validation errors).' },
            },
          },
          request_id: { type: 'string' },
        },
      },
      WebhookDelivery: {
        type: 'object',
        required: [
          'id', 'object', 'subscription_id', 'event_id', 'event_type', 'status', 'trigger', 'attempt_count', 'replayed_from', 'next_attempt_at',
          'last_attempt_at', 'delivered_at', 'last_response_status', 'last_error', 'created_at', 'updated_at',
        ],
        properties: {
          id: { type: 'string' },
          object: { type: 'string', const: 'webhook_delivery' },
          subscription_id: { type: 'string', description: 'Endpoint id.' },
          event_id: { type: 'string' },
          event_type: { type: 'string' },
          status: STATUS,
          trigger: { type: 'string', enum: ['event', 'replay', 'test'] },
          attempt_count: { type: 'integer' },
          replayed_from: NULLABLE_STRING,
          next_attempt_at: NULLABLE_DATE,
          last_attempt_at: NULLABLE_DATE,
          delivered_at: NULLABLE_DATE,
          last_response_status: NULLABLE_INT,
          last_error: NULLABLE_STRING,
          created_at: DATE,
          updated_at: DATE,
        },
      },
      WebhookDeliveryList: {
        type: 'object',
        required: ['object', 'data', 'has_more', 'next_cursor', 'request_id'],
        properties: {
          object: { type: 'string', const: 'list' },
          data: { type: 'array', items: ref('WebhookDelivery') },
          has_more: { type: 'boolean' },
          next_cursor: { ...NULLABLE_STRING, description: 'Pass as starting_after for the next page.' },
          request_id: { type: 'string' },
        },
      },
      ReplayResponse: {
        type: 'object',
        required: ['data', 'request_id'],
        properties: {
          data: {
            type: 'object',
            required: ['id', 'object', 'replayed_from', 'status'],
            properties: {
              id: { type: 'string', description: 'The new delivery.' },
              object: { type: 'string', const: 'webhook_delivery' },
              replayed_from: { type: 'string' },
              status: { type: 'string', const: 'pending' },
            },
          },
          request_id: { type: 'string' },
        },
      },
      BulkReplayRequest: {
        type: 'object',
        required: ['subscription_id'],
        additionalProperties: false,
        properties: {
          subscription_id: { type: 'string', description: 'Endpoint id.' },
          status: { ...STATUS_IN, default: 'failed' },
          event_type: { type: 'string' },
          created_after: { ...DATE, description: 'Inclusive.' },
          created_before: { ...DATE, description: 'Exclusive.' },
        },
      },
      BulkReplayResponse: {
        type: 'object',
        required: ['data', 'request_id'],
        properties: {
          data: {
            type: 'object',
            required: ['enqueued', 'capped'],
            properties: { enqueued: { type: 'integer' }, capped: { type: 'boolean', description: 'More deliveries matched than one call replays.' } },
          },
          request_id: { type: 'string' },
        },
      },
      RedeliveredDelivery: {
        type: 'object',
        required: [
          'id', 'endpoint_id', 'event_id', 'event_type', 'url', 'status', 'attempt_count', 'manual_retry_count', 'next_attempt_at', 'last_error',
          'last_response_status', 'delivered_at', 'created_at', 'updated_at',
        ],
        properties: {
          id: { type: 'string', description: 'The new delivery.' },
          endpoint_id: { type: 'string' },
          event_id: { type: 'string', description: 'Sent as the webhook-id header: the idempotency key.' },
          event_type: { type: 'string' },
          url: { type: 'string' },
          status: STATUS,
          attempt_count: { type: 'integer' },
          manual_retry_count: { type: 'integer', description: 'Manual replays of this event to this endpoint, this one included.' },
          next_attempt_at: NULLABLE_DATE,
          last_error: NULLABLE_STRING,
          last_response_status: NULLABLE_INT,
          delivered_at: NULLABLE_DATE,
          created_at: DATE,
          updated_at: DATE,
        },
      },
      WebhookDeliveryResponse: {
        type: 'object',
        title: 'WebhookDeliveryResponse',
        required: [
          'id', 'endpoint_id', 'event_id', 'event_type', 'status', 'scheduled_attempt', 'next_retry_at', 'last_attempt_at', 'delivered_at',
          'final_http_status', 'error_message', 'replay_of_delivery_id', 'created_at', 'updated_at',
        ],
        properties: {
          id: { type: 'string' },
          endpoint_id: { type: 'string' },
          event_id: NULLABLE_STRING,
          event_type: { type: 'string' },
          status: STATUS,
          scheduled_attempt: { type: 'integer', description: 'The number of the next attempt (the last one, once final).' },
          next_retry_at: NULLABLE_DATE,
          last_attempt_at: NULLABLE_DATE,
          delivered_at: NULLABLE_DATE,
          final_http_status: NULLABLE_INT,
          error_message: NULLABLE_STRING,
          replay_of_delivery_id: NULLABLE_STRING,
          created_at: DATE,
          updated_at: DATE,
        },
      },
      HTTPValidationError: {
        type: 'object',
        title: 'HTTPValidationError',
        required: ['detail'],
        properties: {
          detail: {
            type: 'array',
            items: {
              type: 'object',
              title: 'ValidationError',
              required: ['loc', 'msg', 'type'],
              properties: {
                loc: { type: 'array', items: { anyOf: [{ type: 'string' }, { type: 'integer' }] } },
                msg: { type: 'string' },
                type: { type: 'string' },
              },
            },
          },
        },
      },
      DetailError: {
        type: 'object',
        required: ['detail', 'code'],
        properties: { detail: { type: 'string' }, code: { type: 'string', description: "The GraphQL API's error code in lower case." } },
      },
      SendokaError: {
        type: 'object',
        required: ['error', 'request_id'],
        properties: {
          error: {
            type: 'object',
            required: ['code', 'message'],
            properties: { code: { type: 'string', description: "The GraphQL API's error code." }, message: { type: 'string' }, param: { type: 'string' } },
          },
          request_id: { type: 'string' },
        },
      },
      SendokaReplayResponse: {
        type: 'object',
        required: ['delivery_id', 'endpoint_id', 'replayed_from', 'status'],
        properties: {
          delivery_id: { type: 'string', description: 'The new delivery (a new id; same webhook-id).' },
          endpoint_id: { type: 'string' },
          replayed_from: { type: 'string' },
          status: { type: 'string', const: 'pending' },
        },
      },
      ReplayFailedRequest: {
        type: 'object',
        additionalProperties: false,
        properties: { since: { ...DATE, description: 'Only failed deliveries created at or after this time.' } },
      },
      ReplayFailedResponse: {
        type: 'object',
        required: ['queued', 'endpoint_id'],
        properties: { queued: { type: 'integer' }, endpoint_id: { type: 'string' } },
      },
      TestFireRequest: {
        type: 'object',
        required: ['event'],
        additionalProperties: false,
        properties: { event: { type: 'string', description: 'Event type, e.g. message.delivered.' } },
      },
      TestFireResponse: {
        type: 'object',
        required: ['delivery_id', 'endpoint_id', 'event', 'test', 'status'],
        properties: {
          delivery_id: { type: 'string' },
          endpoint_id: { type: 'string' },
          event: { type: 'string' },
          test: { type: 'boolean', const: true },
          status: { type: 'string', const: 'pending' },
        },
      },
    },
  },
} as const;
