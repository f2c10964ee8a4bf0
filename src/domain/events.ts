import type { PrismaClient } from '../db/client.js';
import type { Event } from '../generated/prisma/client.js';
import { firstDelay } from '../dispatcher/schedule.js';
import { HookyardError, invalid } from '../errors.js';
import { newId } from '../ids.js';
import type { Services } from '../services.js';
import { currentTraceparent } from '../tracing.js';
import { announcePending } from './deliveries.js';
import { eventType as checkEventType, filterMatches } from './validate.js';

export interface NewEvent {
  eventType: string;
  payload: unknown;
  idempotencyKey?: string | null;
  /** Synthetic test-fire event: delivered only to `endpointIds`. */
  test?: boolean;
  /** Deliver only to these endpoints (still only ACTIVE ones whose filter matches, unless test). */
  endpointIds?: string[];
  /** Hookyard's own operational event: a reserved `hookyard.` type, which clients cannot send. */
  internal?: boolean;
  /** Never deliver to these (an operational event is not sent to the endpoint it is about). */
  excludeEndpointIds?: string[];
}

/** Event types under this prefix are Hookyard's own (operational events). */
export const RESERVED_PREFIX = 'hookyard.';

/**
 * Does this filter ask for a reserved type? Only an entry naming it (`hookyard.*`,
 * `hookyard.endpoint.disabled`) does: catch-all endpoints ("*", empty) made before operational
 * events existed keep receiving only their application's events.
 */
function wantsReserved(filter: readonly string[], type: string): boolean {
  return filter.some((f) => f.toLowerCase().startsWith(RESERVED_PREFIX) && filterMatches([f], type));
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

/** The stored Event row, as the statement that inserted it (or found it) returned it. */
export type StoredEvent = Event;

/** An event input that passed its checks, ready for the statement. */
interface CheckedEvent {
  type: string;
  payload: unknown;
  payloadJson: string;
  key: string | null;
  /** Endpoints this event must not reach (an operational event's own endpoint). */
  exclude?: string[];
}

function checkEvent(services: Services, input: NewEvent, param: string): CheckedEvent {
  const type = checkEventType(input.eventType, `${param}.eventType`);
  if (!input.internal && type.toLowerCase().startsWith(RESERVED_PREFIX)) {
    throw invalid(`${param}.eventType`, `event types starting with "${RESERVED_PREFIX}" are reserved for Hookyard's own events`);
  }
  const payloadJson = checkPayload(services, input.payload, `${param}.payload`);
  const key = input.idempotencyKey ?? null;
  if (key !== null && !IDEMPOTENCY_KEY.test(key)) {
    throw invalid(`${param}.idempotencyKey`, 'idempotencyKey must be 1-255 visible ASCII characters');
  }
  return { type, payload: input.payload, payloadJson, key, exclude: input.excludeEndpointIds };
}

/** Stores the event and one PENDING delivery per matching ACTIVE endpoint, in one statement. */
export async function sendEvent(services: Services, tenantId: string, input: NewEvent): Promise<SentEvent & { event: StoredEvent }> {
  const checked = checkEvent(services, input, 'input');
  const [sent] = await storeEvents(services, tenantId, [checked], {
    test: input.test ?? false,
    endpointIds: input.endpointIds,
  });
  return sent!;
}

/** At most this many events per sendEvents call. */
export const MAX_BATCH = 100;

export type BatchItem = { index: number } & ({ sent: SentEvent & { event: StoredEvent }; error?: undefined } | { sent?: undefined; error: HookyardError });

/**
 * Stores a batch of events and their deliveries in one statement. Each input is checked on its
 * own: one that fails its checks gets its typed error and the others are stored all the same.
 * An input repeating the idempotency key of an earlier one (in this batch or before) answers with
 * that event, as sendEvent does.
 */
export async function sendEvents(services: Services, tenantId: string, inputs: NewEvent[]): Promise<BatchItem[]> {
  if (inputs.length > MAX_BATCH) throw invalid('inputs', `at most ${MAX_BATCH} events per call; got ${inputs.length}`);
  const items: BatchItem[] = [];
  const valid: CheckedEvent[] = [];
  const validIndex: number[] = [];
  inputs.forEach((input, index) => {
    try {
      valid.push(checkEvent(services, input, `inputs[${index}]`));
      validIndex.push(index);
    } catch (err) {
      if (!(err instanceof HookyardError)) throw err;
      items[index] = { index, error: err };
    }
  });
  const sent = valid.length > 0 ? await storeEvents(services, tenantId, valid, { test: false }) : [];
  sent.forEach((s, i) => (items[validIndex[i]!] = { index: validIndex[i]!, sent: s }));
  return items;
}

/**
 * storeEvents' one statement for a whole batch: insert the events whose keys are free, their
 * deliveries (re-checking each endpoint, so one disabled or deleted since gets nothing), and read
 * back the events whose keys were already taken. Prepared under this name: parsing and planning
 * were about half of Postgres's time for it (bench/statementPath.ts: 0.63 → 0.35 ms a call at 8
 * in flight). Its generic plan reaches every row it reads through a primary or unique key
 * (test/postgres/hotPlans.test.ts).
 */
export const STORE_EVENTS_STATEMENT = 'hookyard_send_event';
export const STORE_EVENTS_SQL = `WITH ev AS (
       INSERT INTO "Event" (id, "tenantId", "eventType", payload, "idempotencyKey", test, traceparent)
       SELECT i.id, $1, i.type, i.payload::jsonb, i.key, $6, $7
       FROM unnest($2::text[], $3::text[], $4::text[], $5::text[]) WITH ORDINALITY AS i(id, type, payload, key, n)
       ORDER BY i.n
       ON CONFLICT ("tenantId", "idempotencyKey") DO NOTHING
       RETURNING id, "createdAt"
     ), dl AS (
       -- Due after schedule entry 0 (jittered per delivery), on the database's clock.
       INSERT INTO "Delivery" (id, "tenantId", "endpointId", "eventId", "eventType", trigger, "nextAttemptAt")
       SELECT t.id, $1, t.endpoint_id, ev.id, t.type, $8, now() + make_interval(secs => t.delay_ms / 1000)
       FROM unnest($9::text[], $10::text[], $11::text[], $12::text[], $13::float8[]) AS t(id, endpoint_id, event_id, type, delay_ms)
       JOIN ev ON ev.id = t.event_id
       -- "= ANY" as well as the join: the generic plan then looks the endpoints up in one index
       -- scan, not one per delivery (bench/statementPath.ts, prepared: 0.36 against 0.51 ms a call).
       JOIN "Endpoint" e ON e.id = t.endpoint_id AND e.id = ANY($10::text[]) AND e.status = 'ACTIVE' AND e."deletedAt" IS NULL
       RETURNING id, "endpointId", "eventId"
     )
     SELECT (SELECT json_agg(json_build_object('id', id, 'createdAt', "createdAt")) FROM ev) AS inserted,
            -- Wakes the other instances' dispatchers at this statement's commit: a NOTIFY of its
            -- own was one more round trip and transaction per sendEvent (Services.workChannel).
            -- Counted, not selected: pg_notify returns void, a column type Prisma's adapters refuse.
            (SELECT count(*) FROM (SELECT pg_notify($15::text, '') WHERE $15::text IS NOT NULL AND EXISTS (SELECT 1 FROM dl)) n)::int AS notified,
            (SELECT json_agg(json_build_object('id', id, 'endpointId', "endpointId", 'eventId', "eventId")) FROM dl) AS created,
            (SELECT json_agg(x) FROM "Event" x WHERE cardinality($14::text[]) > 0 AND x."tenantId" = $1 AND x."idempotencyKey" = ANY($14::text[])) AS found`;

interface StoredRows {
  /** 1 when the statement sent the work NOTIFY. */
  notified: number;
  inserted: { id: string; createdAt: string }[] | null;
  created: { id: string; endpointId: string; eventId: string }[] | null;
  found: (Omit<StoredEvent, 'createdAt'> & { createdAt: string })[] | null;
}

/** The tenant's ACTIVE endpoints, read through the per-tenant cache (see endpointCache.ts). */
function activeEndpoints(services: Services, tenantId: string) {
  return services.endpointCache.get(tenantId, () =>
    services.db.endpoint.findMany({ where: { tenantId, status: 'ACTIVE', deletedAt: null }, select: { id: true, eventTypes: true } }),
  );
}

async function storeEvents(
  services: Services,
  tenantId: string,
  events: CheckedEvent[],
  options: { test: boolean; endpointIds?: string[] },
): Promise<(SentEvent & { event: StoredEvent })[]> {
  // A test fire names its endpoint, which may have been enabled a moment ago elsewhere: read it.
  const endpoints = options.endpointIds
    ? await services.db.endpoint.findMany({
        where: { tenantId, status: 'ACTIVE', deletedAt: null, id: { in: options.endpointIds } },
        select: { id: true, eventTypes: true },
      })
    : await activeEndpoints(services, tenantId);
  const traceparent = currentTraceparent();
  // A key repeated within the batch answers with its first occurrence: only that one is inserted.
  const firstWithKey = new Map<string, number>();
  const eventIds = events.map((e, i) => {
    if (e.key !== null) {
      const first = firstWithKey.get(e.key);
      if (first !== undefined) return null;
      firstWithKey.set(e.key, i);
    }
    return newId('event');
  });
  const dl = { ids: [] as string[], endpointIds: [] as string[], eventIds: [] as string[], types: [] as string[], delays: [] as number[] };
  events.forEach((e, i) => {
    const eventId = eventIds[i];
    if (!eventId) return;
    for (const endpoint of endpoints) {
      if (!options.test && !filterMatches(endpoint.eventTypes, e.type)) continue;
      if (e.exclude?.includes(endpoint.id)) continue;
      if (!options.test && e.type.toLowerCase().startsWith(RESERVED_PREFIX) && !wantsReserved(endpoint.eventTypes, e.type)) continue;
      dl.ids.push(newId('delivery'));
      dl.endpointIds.push(endpoint.id);
      dl.eventIds.push(eventId);
      dl.types.push(e.type);
      dl.delays.push(firstDelay(services.config.retrySchedule));
    }
  });
  const planned = events.flatMap((e, i) => (eventIds[i] ? [{ e, id: eventIds[i] }] : []));
  // Deliveries due at once: the statement itself wakes the other instances (pg_notify).
  const wake = services.workChannel !== null && dl.delays.includes(0);
  const keys = [...firstWithKey.keys()];
  // One statement for the whole batch (the endpoints came from a cache; STORE_EVENTS_SQL).
  // Through services.sql, not Prisma's $queryRawUnsafe: on PostgreSQL that is the driver's pool,
  // and this statement's client-side CPU drops from ~0.44 to ~0.18 ms a call (BENCHMARKS.md, issue 12).
  const [rows] = await services.sql<StoredRows>(
    STORE_EVENTS_SQL,
    [
      tenantId,
      planned.map((p) => p.id),
      planned.map((p) => p.e.type),
      planned.map((p) => p.e.payloadJson),
      planned.map((p) => p.e.key),
      options.test,
      traceparent,
      options.test ? 'test' : 'event',
      dl.ids,
      dl.endpointIds,
      dl.eventIds,
      dl.types,
      dl.delays,
      keys,
      wake ? services.workChannel : null,
    ],
    STORE_EVENTS_STATEMENT,
  );
  const inserted = new Map((rows?.inserted ?? []).map((r) => [r.id, new Date(r.createdAt)]));
  // `found` is the statement's snapshot, taken before its own inserts: the events that held a key before.
  const byKey = new Map<string, StoredEvent>((rows?.found ?? []).map((r) => [r.idempotencyKey!, { ...r, createdAt: new Date(r.createdAt) }]));
  const created = rows?.created ?? [];
  const deliveriesOf = new Map<string, string[]>();
  for (const d of created) deliveriesOf.set(d.eventId, [...(deliveriesOf.get(d.eventId) ?? []), d.id]);

  const missing = events.filter((e, i) => e.key !== null && !(eventIds[i] && inserted.has(eventIds[i]!)) && !byKey.has(e.key));
  if (missing.length > 0) {
    // Taken by a request racing this one, after the statement's snapshot: read them now.
    const late = await services.db.event.findMany({ where: { tenantId, idempotencyKey: { in: missing.map((e) => e.key!) } } });
    for (const event of late) byKey.set(event.idempotencyKey!, event);
  }
  const results = events.map((e, i): SentEvent & { event: StoredEvent } => {
    const eventId = eventIds[i];
    const createdAt = eventId ? inserted.get(eventId) : undefined;
    if (eventId && createdAt) {
      const event: StoredEvent = { id: eventId, tenantId, eventType: e.type, payload: e.payload as StoredEvent['payload'], idempotencyKey: e.key, test: options.test, traceparent, createdAt };
      return { eventId, deliveryIds: deliveriesOf.get(eventId) ?? [], duplicate: false, event };
    }
    // Not inserted: its key was taken, before this batch or earlier in it.
    const first = e.key !== null ? firstWithKey.get(e.key) : undefined;
    const sibling = first !== undefined && first !== i && eventIds[first] ? inserted.get(eventIds[first]!) : undefined;
    const event: StoredEvent | undefined =
      sibling && first !== undefined
        ? { id: eventIds[first]!, tenantId, eventType: events[first]!.type, payload: events[first]!.payload as StoredEvent['payload'], idempotencyKey: e.key, test: options.test, traceparent, createdAt: sibling }
        : e.key !== null
          ? byKey.get(e.key)
          : undefined;
    if (!event) throw new Error('event was not stored');
    return { eventId: event.id, deliveryIds: [], duplicate: true, event };
  });

  // Hookyard's own hookyard.* events are not ingested from clients: the counter stays a client figure.
  const ingested = results.filter((r) => !r.duplicate && !r.event.eventType.toLowerCase().startsWith(RESERVED_PREFIX)).length;
  if (ingested > 0) services.metrics.eventsIngested(ingested);
  announcePending(services, tenantId, options.test ? 'test' : 'event', created, dl.delays, wake);
  return results;
}
