// The dispatcher's SQL. Each step is one statement: claim (FOR UPDATE SKIP LOCKED + lease),
// complete (guarded by the lease holder, attempt row and status in one go), release, and
// take over leases that expired with a crashed instance.
import type { PrismaClient } from '../db/client.js';
import type { OutboxRow } from '../domain/outbox.js';
import type { DeliveryStatus } from '../generated/prisma/enums.js';

export interface Claimed {
  id: string;
  tenantId: string;
  endpointId: string;
  eventId: string;
  eventType: string;
  attemptCount: number;
  trigger: string;
  payload: unknown;
  eventCreatedAt: Date;
  url: string;
  headers: Record<string, string>;
  rateLimitPerSecond: number | null;
  secrets: string[];
  /** The sendEvent call's trace context: attempts are its children. */
  traceparent: string | null;
  /** When the attempt was due (null for a lease taken over): the start of the lag metric. */
  dueAt: Date | null;
  /** PENDING for due work, SENDING for a lease taken over from a dead instance. */
  previousStatus: DeliveryStatus;
}

export interface EndpointCapacity {
  endpointId: string;
  /** How many more this instance may send to it now (0: skip it). */
  free: number;
}

const RETURNING = `
  d.id, d."tenantId", d."endpointId", d."eventId", d."eventType", d."attemptCount", d.trigger, d."nextAttemptAt" AS "dueAt",
  ev.payload, ev."createdAt" AS "eventCreatedAt", ev.traceparent, e.url, e.headers, e."rateLimitPerSecond",
  coalesce((SELECT array_agg(s.secret ORDER BY s."createdAt" DESC) FROM "EndpointSecret" s
            WHERE s."endpointId" = e.id AND (s."expiresAt" IS NULL OR s."expiresAt" > now())), '{}') AS secrets`;

/**
 * Claims up to `limit` due deliveries of active endpoints, at most `perEndpoint` per endpoint
 * (less what `busy` says is already in flight here), oldest due first.
 */
export async function claimDue(db: PrismaClient, owner: string, leaseMs: number, limit: number, perEndpoint: number, busy: EndpointCapacity[]): Promise<Claimed[]> {
  const saturated = busy.filter((b) => b.free <= 0).map((b) => b.endpointId);
  const partial = busy.filter((b) => b.free > 0);
  const rows = await db.$queryRawUnsafe<Omit<Claimed, 'previousStatus'>[]>(
    `WITH locked AS (
       SELECT d.id, d."endpointId", d."nextAttemptAt"
       FROM "Delivery" d
       -- status = 'PENDING' exactly as the partial index's predicate says, so the planner can use
       -- it: that index holds the queue only, never the archive, so this costs the same with 0 or
       -- 10,000,000 finished rows (BENCHMARKS.md, "Archive").
       WHERE d.status = 'PENDING' AND d."nextAttemptAt" <= now()
         AND NOT (d."endpointId" = ANY($1::text[]))
         -- A subquery, not a join. Measured (EXPLAIN ANALYZE, 16,800 due rows, statistics from
         -- before the backlog): the join became a nested loop that rescanned every due row once
         -- per endpoint (41 ms); the subquery scans them once (22 ms). Both only walk the queue.
         AND (SELECT e.status = 'ACTIVE' AND e."deletedAt" IS NULL FROM "Endpoint" e WHERE e.id = d."endpointId")
       ORDER BY d."nextAttemptAt"
       LIMIT $2
       FOR UPDATE SKIP LOCKED
     ), ranked AS (
       SELECT l.id, l."nextAttemptAt",
              row_number() OVER (PARTITION BY l."endpointId" ORDER BY l."nextAttemptAt", l.id) AS rn,
              coalesce(f.free, $4) AS free
       FROM locked l LEFT JOIN unnest($5::text[], $6::int[]) AS f(endpoint_id, free) ON f.endpoint_id = l."endpointId"
     ), picked AS (
       SELECT id FROM ranked WHERE rn <= free ORDER BY "nextAttemptAt", id LIMIT $3
     )
     UPDATE "Delivery" d
     SET status = 'SENDING', "leaseOwner" = $7, "leaseExpiresAt" = now() + make_interval(secs => $8), "updatedAt" = now()
     FROM picked p, "Event" ev, "Endpoint" e
     WHERE d.id = p.id AND ev.id = d."eventId" AND e.id = d."endpointId"
     RETURNING ${RETURNING}`,
    saturated,
    limit * 4,
    limit,
    perEndpoint,
    partial.map((b) => b.endpointId),
    partial.map((b) => b.free),
    owner,
    leaseMs / 1000,
  );
  return rows.map((r) => ({ ...r, previousStatus: 'PENDING' as const }));
}

/** Takes over deliveries whose lease expired (their instance died mid-send). */
export async function takeOverExpired(db: PrismaClient, owner: string, leaseMs: number, limit: number): Promise<Claimed[]> {
  const rows = await db.$queryRawUnsafe<Omit<Claimed, 'previousStatus'>[]>(
    `WITH expired AS (
       SELECT id FROM "Delivery"
       WHERE status = 'SENDING' AND "leaseExpiresAt" < now()
       ORDER BY "leaseExpiresAt" LIMIT $1
       FOR UPDATE SKIP LOCKED
     )
     UPDATE "Delivery" d
     SET "leaseOwner" = $2, "leaseExpiresAt" = now() + make_interval(secs => $3), "updatedAt" = now()
     FROM expired x, "Event" ev, "Endpoint" e
     WHERE d.id = x.id AND ev.id = d."eventId" AND e.id = d."endpointId"
     RETURNING ${RETURNING}`,
    limit,
    owner,
    leaseMs / 1000,
  );
  return rows.map((r) => ({ ...r, dueAt: null, previousStatus: 'SENDING' as const }));
}

export interface Completion {
  deliveryId: string;
  attemptId: string;
  attemptNumber: number;
  trigger: string;
  startedAt: Date;
  durationMs: number | null;
  responseStatus: number | null;
  responseBody: string | null;
  error: string | null;
  /** DELIVERED, PENDING (retry after retryInMs) or FAILED. */
  status: DeliveryStatus;
  /** Delay before the next attempt; the due time is taken on the database's clock, like `now()` in claims. */
  retryInMs: number | null;
}


/** An endpoint this batch retired (HOOKYARD_DISABLE_AFTER). */
export interface Retired {
  endpointId: string;
  reason: string;
}

/** A tenant's outbox row, and the endpoints of that tenant the same statement disabled. */
export type Recorded = OutboxRow & { retired: Retired[] };

/**
 * Records attempts and moves their deliveries on, for many at once, writing the status changes to
 * the outbox in the same statement (one row per tenant, returned for publishing). Rows whose lease
 * this owner no longer holds are left alone (absent from the changes). A retry of a deleted
 * endpoint ends FAILED.
 *
 * The same statement keeps each endpoint's failing streak (`failingSince`: the first failed
 * attempt since its last success) and, when `disableAfterMs` > 0, disables an active endpoint
 * whose streak is older than that. One statement so the hot path pays no extra round trip; the
 * Endpoint UPDATE only touches rows whose streak starts, ends or retires (not every success), and
 * every instance applies the same rule to the rows it records, so no coordinator is needed.
 */
export async function complete(db: PrismaClient, owner: string, batch: Completion[], disableAfterMs = 0): Promise<Recorded[]> {
  if (batch.length === 0) return [];
  return db.$queryRawUnsafe<Recorded[]>(
    `WITH input AS (
       SELECT * FROM unnest($1::text[], $2::text[], $3::int[], $4::text[], $5::timestamptz[], $6::int[], $7::int[],
                            $8::text[], $9::text[], $10::text[], $11::float8[])
         AS t(delivery_id, attempt_id, attempt_number, trigger, started_at, duration_ms, response_status,
              response_body, error, status, retry_in_ms)
     ), updated AS (
       UPDATE "Delivery" d
       SET status = CASE WHEN e."deletedAt" IS NOT NULL AND i.status = 'PENDING' THEN 'FAILED' ELSE i.status END::"DeliveryStatus",
           "attemptCount" = i.attempt_number,
           "lastAttemptAt" = i.started_at,
           "deliveredAt" = CASE WHEN i.status = 'DELIVERED' THEN now() ELSE d."deliveredAt" END,
           "lastResponseStatus" = i.response_status,
           "lastError" = i.error,
           "nextAttemptAt" = CASE WHEN e."deletedAt" IS NOT NULL THEN NULL ELSE now() + make_interval(secs => i.retry_in_ms / 1000) END,
           "leaseOwner" = NULL, "leaseExpiresAt" = NULL, "updatedAt" = now()
       FROM input i, "Endpoint" e
       -- No more status::text: no index leads with status now, and the SENDING partial index holds
       -- the rows in flight (plus dead entries until the next vacuum, which the migration's
       -- autovacuum settings keep near), so a plan through it stays small. EXPLAIN: see BENCHMARKS.md.
       WHERE d.id = i.delivery_id AND e.id = d."endpointId" AND d.status = 'SENDING' AND d."leaseOwner" = $12
       RETURNING d.id, d.status, d."tenantId", d."endpointId", d."eventId"
     ), attempts AS (
       INSERT INTO "DeliveryAttempt" (id, "deliveryId", "attemptNumber", trigger, "startedAt", "durationMs", "responseStatus", "responseBody", error)
       SELECT i.attempt_id, i.delivery_id, i.attempt_number, i.trigger, i.started_at, i.duration_ms, i.response_status, i.response_body, i.error
       FROM input i JOIN updated u ON u.id = i.delivery_id
     ), outbox AS (
       INSERT INTO "StatusOutbox" (id, "tenantId", changes)
       SELECT gen_random_uuid()::text, u."tenantId",
              jsonb_agg(jsonb_build_object(
                'deliveryId', u.id, 'endpointId', u."endpointId", 'eventId', u."eventId",
                'previousStatus', 'SENDING', 'status', u.status, 'attemptId', i.attempt_id,
                'occurredAt', to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')))
       FROM updated u JOIN input i ON i.delivery_id = u.id
       GROUP BY u."tenantId"
       RETURNING id, "tenantId", changes
     ), outcomes AS (
       SELECT u."endpointId" AS endpoint_id, i.started_at, i.status = 'DELIVERED' AS ok
       FROM updated u JOIN input i ON i.delivery_id = u.id
     ), last_ok AS (
       SELECT endpoint_id, max(started_at) FILTER (WHERE ok) AS last_ok FROM outcomes GROUP BY endpoint_id
     ), streak AS (
       -- The batch's own order decides: failures after its last success start (or continue) a streak.
       SELECT l.endpoint_id, l.last_ok,
              min(o.started_at) FILTER (WHERE NOT o.ok AND (l.last_ok IS NULL OR o.started_at > l.last_ok)) AS first_fail
       FROM last_ok l JOIN outcomes o ON o.endpoint_id = l.endpoint_id
       GROUP BY l.endpoint_id, l.last_ok
     ), next AS (
       SELECT s.endpoint_id, x.failing_since,
              $13::float8 > 0 AND e.status = 'ACTIVE' AND e."deletedAt" IS NULL
                AND x.failing_since < now() - make_interval(secs => $13::float8 / 1000) AS retire
       FROM streak s JOIN "Endpoint" e ON e.id = s.endpoint_id,
            LATERAL (SELECT CASE WHEN s.first_fail IS NULL THEN NULL
                                 WHEN s.last_ok IS NULL THEN coalesce(e."failingSince", s.first_fail)
                                 ELSE s.first_fail END AS failing_since) x
     ), endpoints AS (
       UPDATE "Endpoint" e
       SET "failingSince" = n.failing_since,
           status = CASE WHEN n.retire THEN 'DISABLED'::"EndpointStatus" ELSE e.status END,
           "disabledReason" = CASE WHEN n.retire
             THEN 'every attempt failed since ' || to_char(n.failing_since AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')
             ELSE e."disabledReason" END,
           "updatedAt" = CASE WHEN n.retire THEN now() ELSE e."updatedAt" END
       FROM next n
       WHERE e.id = n.endpoint_id AND (e."failingSince" IS DISTINCT FROM n.failing_since OR n.retire)
       RETURNING e.id, e."tenantId", e."disabledReason", n.retire
     )
     SELECT o.id, o."tenantId", o.changes,
            coalesce((SELECT jsonb_agg(jsonb_build_object('endpointId', x.id, 'reason', x."disabledReason"))
                      FROM endpoints x WHERE x."tenantId" = o."tenantId" AND x.retire), '[]'::jsonb) AS retired
     FROM outbox o`,
    batch.map((c) => c.deliveryId),
    batch.map((c) => c.attemptId),
    batch.map((c) => c.attemptNumber),
    batch.map((c) => c.trigger),
    batch.map((c) => c.startedAt),
    batch.map((c) => c.durationMs),
    batch.map((c) => c.responseStatus),
    batch.map((c) => c.responseBody),
    batch.map((c) => c.error),
    batch.map((c) => c.status),
    batch.map((c) => c.retryInMs),
    owner,
    disableAfterMs,
  );
}

// SQLSTATE classes that say "the server or the connection", not "this statement's data": a retry
// of the same statement can succeed (08 connection, 40 serialization/deadlock, 53 resources,
// 55 lock/object in use, 57 operator intervention such as a shutdown, 58 system error).
const TRANSIENT_CLASSES = new Set(['08', '40', '53', '55', '57', '58']);

/** The SQLSTATE of a failed statement as reported through Prisma's driver adapter, if any. */
export function sqlState(err: unknown): string | undefined {
  const cause = (err as { meta?: { driverAdapterError?: { cause?: { kind?: string; originalCode?: string; code?: string } } } })?.meta
    ?.driverAdapterError?.cause;
  if (cause?.kind === 'postgres') return cause.originalCode ?? cause.code;
  const code = (err as { code?: unknown })?.code;
  // Straight from pg: five characters with a digit (not a Node code like EPIPE, nor Prisma's P2010).
  return typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) && /\d/.test(code) && !/^P[1-9]\d{3}$/.test(code) ? code : undefined;
}

/**
 * The database refused this statement for what it holds (bad text, a constraint, a value out of
 * range): sending it again cannot succeed. Connection errors and outages (no SQLSTATE, or a
 * transient class) are not: those are retried with backoff.
 */
export function isStatementError(err: unknown): boolean {
  const state = sqlState(err);
  return state !== undefined && !TRANSIENT_CLASSES.has(state.slice(0, 2));
}

/** Hands claimed deliveries back untouched (no attempt made), e.g. at shutdown. */
export async function release(db: PrismaClient, owner: string, ids: string[]): Promise<string[]> {
  if (ids.length === 0) return [];
  const rows = await db.$queryRawUnsafe<{ id: string }[]>(
    `UPDATE "Delivery" SET status = 'PENDING', "leaseOwner" = NULL, "leaseExpiresAt" = NULL, "updatedAt" = now()
     WHERE id = ANY($1::text[]) AND status = 'SENDING' AND "leaseOwner" = $2
     RETURNING id`,
    ids,
    owner,
  );
  return rows.map((r) => r.id);
}

/** 410 Gone: the receiver asked us to stop. True when this call disabled it (not already disabled). */
export async function disableEndpointGone(db: PrismaClient, endpointId: string, reason: string): Promise<boolean> {
  const { count } = await db.endpoint.updateMany({ where: { id: endpointId, status: 'ACTIVE' }, data: { status: 'DISABLED', disabledReason: reason } });
  return count > 0;
}
