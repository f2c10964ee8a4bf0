import { db } from '../db/client.js';
import { HookyardError, invalid } from '../errors.js';
import { Prisma } from '../generated/prisma/client.js';
import { newId } from '../ids.js';
import { publishStatusChanges } from '../pubsub.js';
import type { Services } from '../services.js';
import { insertDeliveries, type NewDelivery } from './deliveries.js';
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

export function checkPayload(services: Services, payload: unknown, param = 'input.payload'): void {
  if (payload === null || typeof payload !== 'object' || Array.isArray(payload)) {
    throw invalid(param, 'payload must be a JSON object');
  }
  const json = JSON.stringify(payload);
  // Postgres jsonb cannot hold NUL characters.
  if (json.includes('\\u0000')) throw invalid(param, 'payload strings must not contain NUL (\\u0000) characters');
  const bytes = Buffer.byteLength(json);
  if (bytes > services.config.maxPayloadBytes) {
    throw new HookyardError('PAYLOAD_TOO_LARGE', `payload is ${bytes} bytes; the limit is ${services.config.maxPayloadBytes}`, {
      param,
      limitBytes: services.config.maxPayloadBytes,
    });
  }
}

/** Stores the event and one PENDING delivery per matching ACTIVE endpoint, in one transaction. */
export async function sendEvent(services: Services, tenantId: string, input: NewEvent): Promise<SentEvent> {
  const type = checkEventType(input.eventType, 'input.eventType');
  checkPayload(services, input.payload);
  const key = input.idempotencyKey ?? null;
  if (key !== null && !IDEMPOTENCY_KEY.test(key)) {
    throw invalid('input.idempotencyKey', 'idempotencyKey must be 1-255 visible ASCII characters');
  }
  if (key !== null) {
    const existing = await findByKey(tenantId, key);
    if (existing) return existing;
  }

  const eventId = newId('event');
  let created: { id: string; endpointId: string }[];
  try {
    created = await db().$transaction(async (tx) => {
      const endpoints = await tx.endpoint.findMany({
        where: {
          tenantId,
          status: 'ACTIVE',
          deletedAt: null,
          ...(input.endpointIds ? { id: { in: input.endpointIds } } : {}),
        },
        select: { id: true, eventTypes: true },
      });
      const targets = input.test ? endpoints : endpoints.filter((e) => filterMatches(e.eventTypes, type));
      await tx.event.create({
        data: {
          id: eventId,
          tenantId,
          eventType: type,
          payload: input.payload as Prisma.InputJsonValue,
          idempotencyKey: key,
          test: input.test ?? false,
        },
        select: { id: true },
      });
      const rows: NewDelivery[] = targets.map((e) => ({
        id: newId('delivery'),
        tenantId,
        endpointId: e.id,
        eventId,
        eventType: type,
        trigger: input.test ? 'test' : 'event',
      }));
      await insertDeliveries(tx, rows);
      return rows;
    });
  } catch (err) {
    // Two requests with one idempotency key raced: the other one's event is the answer.
    if (key !== null && err instanceof Prisma.PrismaClientKnownRequestError && err.code === 'P2002') {
      const existing = await findByKey(tenantId, key);
      if (existing) return existing;
    }
    throw err;
  }

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
    services.notifyWork();
  }
  services.logger.debug({ eventId, tenantId, deliveries: created.length }, 'event accepted');
  return { eventId, deliveryIds: created.map((d) => d.id), duplicate: false };
}

async function findByKey(tenantId: string, key: string): Promise<SentEvent | null> {
  const event = await db().event.findUnique({
    where: { tenantId_idempotencyKey: { tenantId, idempotencyKey: key } },
    select: { id: true },
  });
  return event ? { eventId: event.id, deliveryIds: [], duplicate: true } : null;
}
