// Replays (single and bulk) and test-fires: fresh PENDING deliveries of existing events, the
// originals untouched. Manual calls are rate limited per endpoint across all instances.
import type { PrismaClient } from '../db/client.js';
import { HookyardError, notFound } from '../errors.js';
import { Prisma } from '../generated/prisma/client.js';
import type { DeliveryStatus } from '../generated/prisma/enums.js';
import { newId } from '../ids.js';
import type { Services } from '../services.js';
import { firstDelay } from '../dispatcher/schedule.js';
import { announcePending, insertDeliveries, type NewDelivery } from './deliveries.js';
import { sendEvent } from './events.js';

/** An endpoint of the tenant that can receive deliveries, or NOT_FOUND / ENDPOINT_DISABLED. */
async function activeEndpoint(db: PrismaClient, tenantId: string, endpointId: string, param = 'id') {
  const endpoint = await db.endpoint.findFirst({
    where: { id: endpointId, tenantId, deletedAt: null },
    select: { id: true, status: true, disabledReason: true },
  });
  if (!endpoint) throw notFound('endpoint', endpointId, param);
  if (endpoint.status !== 'ACTIVE') {
    throw new HookyardError('ENDPOINT_DISABLED', `endpoint ${endpointId} is disabled (${endpoint.disabledReason ?? 'no reason given'}); enable it first`, {
      param,
      endpointId,
    });
  }
  return endpoint;
}

async function limit(services: Services, kind: 'replay' | 'testfire', endpointId: string): Promise<void> {
  const max = kind === 'replay' ? services.config.replayRateLimit : services.config.testFireRateLimit;
  const result = await services.rateLimiter.hit(`${kind}:${endpointId}`, max);
  if (!result.allowed) {
    const what = kind === 'replay' ? 'manual replays' : 'test-fires';
    throw new HookyardError(
      kind === 'replay' ? 'REPLAY_RATE_LIMITED' : 'TEST_FIRE_RATE_LIMITED',
      `at most ${max} ${what} per endpoint per minute; try again in ${result.retryAfterSeconds} s`,
      { retryAfterSeconds: result.retryAfterSeconds, limit: max, endpointId },
    );
  }
}

/** A fresh delivery of the same event to the same endpoint; the original stays as it was. */
export async function replayDelivery(services: Services, tenantId: string, deliveryId: string): Promise<string> {
  const original = await services.db.delivery.findFirst({
    where: { id: deliveryId, tenantId },
    select: { id: true, endpointId: true, eventId: true, eventType: true },
  });
  if (!original) throw notFound('delivery', deliveryId);
  await activeEndpoint(services.db, tenantId, original.endpointId);
  await limit(services, 'replay', original.endpointId);
  // The replay and the mark on every earlier delivery of the pair, in one transaction: no reader
  // sees two current deliveries of the same event for the same endpoint.
  const replay: NewDelivery = {
    id: newId('delivery'),
    tenantId,
    endpointId: original.endpointId,
    eventId: original.eventId,
    eventType: original.eventType,
    trigger: 'replay',
    replayOfId: original.id,
    firstAttemptInMs: firstDelay(services.config.retrySchedule),
  };
  await services.db.$transaction(async (tx) => {
    await insertDeliveries(tx, [replay]);
    // Raw, so "updatedAt" stays: the older deliveries' own state did not change.
    await tx.$executeRaw`
      UPDATE "Delivery" SET "supersededById" = ${replay.id}
      WHERE "eventId" = ${replay.eventId} AND "endpointId" = ${replay.endpointId} AND id <> ${replay.id}`;
  });
  announcePending(services, tenantId, 'replay', [replay], [replay.firstAttemptInMs]);
  services.logger.info({ deliveryId: replay.id, eventId: replay.eventId, replayOf: original.id }, 'delivery replayed');
  return replay.id;
}

export interface BulkReplayInput {
  endpointId: string;
  status: DeliveryStatus;
  eventType?: string | null;
  createdAfter?: Date | null;
  createdBefore?: Date | null;
  /** With createdAfter: skip deliveries created at exactly createdAfter with an id up to this one (exact paging). */
  afterDeliveryId?: string | null;
  /** Also replay deliveries that already have a newer replay (default: only current ones). */
  includeSuperseded?: boolean;
  dryRun: boolean;
}

export interface BulkReplayResult {
  enqueued: number;
  capped: boolean;
  dryRun: boolean;
  totalMatching: number;
  /** When capped: pass these as createdAfter and afterDeliveryId to continue exactly where this call stopped. */
  nextCreatedAfter: Date | null;
  nextAfterDeliveryId: string | null;
}

interface Matched {
  id: string;
  createdAt: Date;
  endpointId: string;
  eventId: string;
  total: number;
  /** The replay created for it (absent in a dry run and past the cap). */
  replayId: string | null;
}

/** Replays the oldest matching deliveries of one endpoint, at most the cap, in one statement. */
export async function bulkReplay(services: Services, tenantId: string, input: BulkReplayInput): Promise<BulkReplayResult> {
  await activeEndpoint(services.db, tenantId, input.endpointId, 'input.endpointId');
  if (!input.dryRun) await limit(services, 'replay', input.endpointId);
  const cap = services.config.bulkReplayCap;

  // Raw SQL: reading 1,001 rows through Prisma's row mapping costs more than the query itself.
  const conditions = [
    Prisma.sql`"tenantId" = ${tenantId}`,
    Prisma.sql`"endpointId" = ${input.endpointId}`,
    Prisma.sql`status = ${input.status}::"DeliveryStatus"`,
  ];
  if (!input.includeSuperseded) conditions.push(Prisma.sql`"supersededById" IS NULL`);
  if (input.eventType) conditions.push(Prisma.sql`"eventType" = ${input.eventType}`);
  if (input.createdBefore) conditions.push(Prisma.sql`"createdAt" < ${input.createdBefore}`);
  if (input.createdAfter) {
    conditions.push(
      input.afterDeliveryId
        ? Prisma.sql`("createdAt" > ${input.createdAfter} OR ("createdAt" = ${input.createdAfter} AND id > ${input.afterDeliveryId}))`
        : Prisma.sql`"createdAt" >= ${input.createdAfter}`,
    );
  }
  const where = Prisma.join(conditions, ' AND ');
  // Counting, picking, inserting the replays and marking what they supersede share one statement,
  // so one snapshot: the count can never be smaller than what was enqueued. The window count runs
  // before the LIMIT, over every matching row.
  const matching = Prisma.sql`
    SELECT id, "createdAt", "endpointId", "eventId", "eventType", count(*) OVER ()::int AS total
    FROM "Delivery" WHERE ${where}
    ORDER BY "createdAt", id LIMIT ${cap + 1}`;
  let rows: Matched[];
  let delays: number[] = [];
  if (input.dryRun) {
    rows = await services.db.$queryRaw<Matched[]>`SELECT id, "createdAt", "endpointId", "eventId", total, NULL::text AS "replayId" FROM (${matching}) m ORDER BY "createdAt", id`;
  } else {
    const ids = Array.from({ length: cap }, () => newId('delivery'));
    // Schedule entry 0, jittered per replay, due on the database's clock (as every new delivery).
    delays = ids.map(() => firstDelay(services.config.retrySchedule));
    rows = await services.db.$queryRaw<Matched[]>`
      WITH matching AS (${matching}),
      picked AS (
        SELECT m.*, (${ids}::text[])[row_number() OVER (ORDER BY "createdAt", id)] AS replay_id,
               (${delays}::float8[])[row_number() OVER (ORDER BY "createdAt", id)] AS delay_ms
        FROM matching m ORDER BY "createdAt", id LIMIT ${cap}
      ),
      inserted AS (
        INSERT INTO "Delivery" (id, "tenantId", "endpointId", "eventId", "eventType", trigger, "replayOfId", "nextAttemptAt")
        SELECT replay_id, ${tenantId}, "endpointId", "eventId", "eventType", 'replay', id, now() + make_interval(secs => delay_ms / 1000) FROM picked
        RETURNING id
      ),
      superseded AS (
        -- Every earlier delivery of the pair now points at its newest replay. The new rows are not
        -- in this statement's snapshot, so they are not touched.
        UPDATE "Delivery" d SET "supersededById" = p.replay_id
        FROM picked p WHERE d."eventId" = p."eventId" AND d."endpointId" = p."endpointId"
        RETURNING d.id
      )
      SELECT m.id, m."createdAt", m."endpointId", m."eventId", m.total, p.replay_id AS "replayId"
      FROM matching m LEFT JOIN picked p ON p.id = m.id
      ORDER BY m."createdAt", m.id`;
  }
  const totalMatching = rows[0]?.total ?? 0;
  const batch = rows.slice(0, cap);
  const capped = rows.length > cap;
  const last = batch.at(-1);
  const created = input.dryRun ? [] : batch.map((r, i) => ({ id: r.replayId!, endpointId: r.endpointId, eventId: r.eventId, firstAttemptInMs: delays[i]! }));
  announcePending(services, tenantId, 'replay', created, created.map((r) => r.firstAttemptInMs));
  if (!input.dryRun) {
    services.logger.info({ endpointId: input.endpointId, enqueued: batch.length, capped }, 'bulk replay enqueued');
  }
  return {
    enqueued: batch.length,
    capped,
    dryRun: input.dryRun,
    totalMatching,
    nextCreatedAfter: capped && last ? last.createdAt : null,
    nextAfterDeliveryId: capped && last ? last.id : null,
  };
}

/** A synthetic event (data.test = true) delivered to this endpoint only, signed with its real secret. */
export async function testFire(services: Services, tenantId: string, endpointId: string, eventType: string): Promise<string> {
  await activeEndpoint(services.db, tenantId, endpointId);
  await limit(services, 'testfire', endpointId);
  const sent = await sendEvent(services, tenantId, {
    eventType,
    payload: { test: true, message: 'A test event sent from Hookyard to check this endpoint.', endpointId },
    test: true,
    endpointIds: [endpointId],
  });
  const deliveryId = sent.deliveryIds[0];
  if (!deliveryId) throw new Error('test-fire created no delivery');
  return deliveryId;
}
