import type { PrismaClient } from '../db/client.js';
import { firstDelay } from '../dispatcher/schedule.js';
import { HookyardError, invalid } from '../errors.js';
import { newId } from '../ids.js';
import { publishStatusChanges } from '../pubsub.js';
import type { Services } from '../services.js';
import { currentTraceparent } from '../tracing.js';
import { eventType as checkEventType, filterMatches } from './validate.js';

export interface NewEvent {
  eventType: string;
  payload: unknown;
  idempotencyKey?: string | null;
  /** Synthetic test-fire event: delivered only to `endpointIds`. */
  test?: boolean;
  /** Deliver only to these endpoints (still only ACTIVE ones whose filter matches, unless test). */
  endpointIds?: string[];
}

export interface SentEvent {
  eventId: string;
  deliveryIds: string[];
  /** The idempotency key was seen before: this is the original event, and nothing was created. */
  duplicate: boolean;
}

const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,255}$/;

// In JSON.stringify's output the only \u escapes are control characters and unpaired surrogates
// (paired ones are written as they are). Of those, jsonb refuses NUL and unpaired surrogates; an
// even run of backslashes before one means the text merely spells it.
const UNSTORABLE = /(?<!\\)(?:\\\\)*\\u(0000|d[89a-f][0-9a-f]{2})/;

/** Deeper payloads are refused: JSON.stringify (and every reader after us) recurses per level. */
export const MAX_PAYLOAD_DEPTH = 64;

/** Walks the payload without recursion, so a payload nested 100,000 deep cannot overflow the stack here. */
function depthExceeds(payload: object, max: number): boolean {
  const stack: [unknown, number][] = [[payload, 1]];
  while (stack.length > 0) {
    const [value, depth] = stack.pop()!;
    if (depth > max) return true;
    for (const child of Object.values(value as object)) {
      if (child !== null && typeof child === 'object') stack.push([child, depth + 1]);
    }
  }
  return false;
}

/** Checks an event payload and returns it serialized (once, for the statement that stores it). */
export function checkPayload(services: Services, payload: unknown, param = 'input.payload'): string {
  if (payload === null || typeof payload !== 'object' || Array.isArray(payload)) {
    throw invalid(param, 'payload must be a JSON object');
  }
  if (depthExceeds(payload, MAX_PAYLOAD_DEPTH)) throw invalid(param, `payload must be nested at most ${MAX_PAYLOAD_DEPTH} levels deep`);
  const json = JSON.stringify(payload);
  const bytes = Buffer.byteLength(json);
  if (bytes > services.config.maxPayloadBytes) {
    throw new HookyardError('PAYLOAD_TOO_LARGE', `payload is ${bytes} bytes; the limit is ${services.config.maxPayloadBytes}`, {
      param,
      limitBytes: services.config.maxPayloadBytes,
    });
  }
  const bad = UNSTORABLE.exec(json);
  if (bad) {
    throw invalid(param, bad[1] === '0000'
      ? 'payload strings must not contain NUL (\\u0000) characters'
      : 'payload strings must be valid Unicode (no unpaired surrogate \\uD800-\\uDFFF)');
  }
  return json;
}

/** Stores the event and one PENDING delivery per matching ACTIVE endpoint, in one statement. */
export async function sendEvent(services: Services, tenantId: string, input: NewEvent): Promise<SentEvent> {
  const type = checkEventType(input.eventType, 'input.eventType');
  const payloadJson = checkPayload(services, input.payload);
  const key = input.idempotencyKey ?? null;
  if (key !== null && !IDEMPOTENCY_KEY.test(key)) {
    throw invalid('input.idempotencyKey', 'idempotencyKey must be 1-255 visible ASCII characters');
  }
  // Two round trips, no interactive transaction: read the matching endpoints, then store the event
  // and its deliveries in one statement. That statement re-checks each endpoint (one disabled or
  // deleted in between gets nothing) and, when the idempotency key is taken, stores nothing at all.
  const endpoints = await services.db.endpoint.findMany({
    where: { tenantId, status: 'ACTIVE', deletedAt: null, ...(input.endpointIds ? { id: { in: input.endpointIds } } : {}) },
    select: { id: true, eventTypes: true },
  });
  const targets = input.test ? endpoints : endpoints.filter((e) => filterMatches(e.eventTypes, type));
  const eventId = newId('event');
  const deliveryIds = targets.map(() => newId('delivery'));
  const firstAttemptInMs = targets.map(() => firstDelay(services.config.retrySchedule));
  const [stored] = await services.db.$queryRawUnsafe<{ eventId: string | null; created: { id: string; endpointId: string }[] }[]>(
    `WITH ev AS (
       INSERT INTO "Event" (id, "tenantId", "eventType", payload, "idempotencyKey", test, traceparent)
       VALUES ($1, $2, $3, $4::jsonb, $5, $6, $11)
       ON CONFLICT ("tenantId", "idempotencyKey") DO NOTHING
       RETURNING id
     ), dl AS (
       -- Due after schedule entry 0 (jittered per delivery), on the database's clock.
       INSERT INTO "Delivery" (id, "tenantId", "endpointId", "eventId", "eventType", trigger, "nextAttemptAt")
       SELECT t.id, $2, t.endpoint_id, ev.id, $3, $7, now() + make_interval(secs => t.delay_ms / 1000)
       FROM ev CROSS JOIN unnest($8::text[], $9::text[], $10::float8[]) AS t(id, endpoint_id, delay_ms)
       JOIN "Endpoint" e ON e.id = t.endpoint_id AND e.status = 'ACTIVE' AND e."deletedAt" IS NULL
       RETURNING id, "endpointId"
     )
     SELECT (SELECT id FROM ev) AS "eventId",
            coalesce((SELECT json_agg(json_build_object('id', id, 'endpointId', "endpointId")) FROM dl), '[]'::json) AS created`,
    eventId,
    tenantId,
    type,
    payloadJson,
    key,
    input.test ?? false,
    input.test ? 'test' : 'event',
    deliveryIds,
    targets.map((e) => e.id),
    firstAttemptInMs,
    currentTraceparent(),
  );
  if (!stored?.eventId) {
    // The idempotency key was taken (now, or by a request racing this one): that event is the answer.
    const existing = key !== null ? await findByKey(services.db, tenantId, key) : null;
    if (!existing) throw new Error('event was not stored');
    return existing;
  }
  const created = stored.created;
  services.metrics.eventsIngested();
  services.metrics.deliveriesQueued(input.test ? 'test' : 'event', created.length);

  if (created.length > 0) {
    const occurredAt = new Date().toISOString();
    publishStatusChanges(
      services.pubsub,
      tenantId,
      created.map((d) => ({
        deliveryId: d.id,
        endpointId: d.endpointId,
        eventId,
        previousStatus: null,
        status: 'PENDING',
        attemptId: null,
        occurredAt,
      })),
    );
    for (const inMs of new Set(firstAttemptInMs)) services.notifyWork(inMs);
  }
  services.logger.debug({ eventId, tenantId, deliveries: created.length }, 'event accepted');
  return { eventId, deliveryIds: created.map((d) => d.id), duplicate: false };
}

async function findByKey(db: PrismaClient, tenantId: string, key: string): Promise<SentEvent | null> {
  const event = await db.event.findUnique({
    where: { tenantId_idempotencyKey: { tenantId, idempotencyKey: key } },
    select: { id: true },
  });
  return event ? { eventId: event.id, deliveryIds: [], duplicate: true } : null;
}
