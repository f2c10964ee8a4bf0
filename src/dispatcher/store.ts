// The dispatcher's SQL. Each step is one statement: claim (FOR UPDATE SKIP LOCKED + lease),
// complete (guarded by the lease holder, attempt row and status in one go), release, and
// take over leases that expired with a crashed instance.
import type { RawQuery } from '../db/client.js';
import type { OperationalFact, OutboxRow } from '../pubsub.js';
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
  /** A FIFO endpoint: its next delivery becomes claimable once this one's outcome is recorded. */
  fifo: boolean;
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
  ev.payload, ev."createdAt" AS "eventCreatedAt", ev.traceparent, e.url, e.headers, e."rateLimitPerSecond", e.fifo,
  coalesce((SELECT array_agg(s.secret ORDER BY s."createdAt" DESC) FROM "EndpointSecret" s
            WHERE s."endpointId" = e.id AND (s."expiresAt" IS NULL OR s."expiresAt" > now())), '{}') AS secrets`;

/**
 * An endpoint's due rows, oldest due first: what the claim's share takes the head of, and its
 * second scan the rest of (OFFSET), so both must read them in one order. Ordered by both columns,
 * as the index has them: ordered by "nextAttemptAt" alone, the planner walked the former queue
 * index on ("nextAttemptAt") instead, filtering out every other endpoint's rows (2 ms per endpoint;
 * the migration fifo_fair_claim dropped that index).
 */
const dueRowsOf = (endpointId: string) => `
  SELECT d.id, d."nextAttemptAt", d."attemptCount" FROM "Delivery" d
  WHERE d.status = 'PENDING' AND d."endpointId" = ${endpointId} AND d."nextAttemptAt" <= now()
  ORDER BY d."endpointId", d."nextAttemptAt"`;

/**
 * Claims up to `limit` due deliveries of active endpoints, fairly: every endpoint with due work
 * offers its oldest due rows (at most `perEndpoint`, less what `busy` says is already in flight
 * here), and the claim takes them round-robin, one per tenant per round, each tenant's turn going
 * round its endpoints; within a round first attempts go before retries, then oldest due first.
 * A backlog on one endpoint or tenant therefore costs others one slot per round, not a place
 * behind the whole backlog (test/postgres/fairness.test.ts).
 *
 * A FIFO endpoint offers only the head of its line (its oldest PENDING or SENDING delivery by
 * creation order) and only when that head is PENDING and due: while it is in flight or waiting for
 * a retry nothing behind it is claimable, on any instance, and once it is DELIVERED or FAILED it
 * leaves the line. Two instances racing for the same head both see it; one locks it, the other
 * skips it and, since it never looks past the head, claims nothing there.
 *
 * Measured (EXPLAIN ANALYZE, PostgreSQL 15, 2 busy shared cores, 20,000 due for one tenant over 10
 * endpoints plus tenant B's one due and a FIFO line of 500, medians of 21 runs; BENCHMARKS.md "Fair
 * claim"): with statistics from before the backlog, the previous claim (the oldest 4 x limit due
 * rows, then at most N per endpoint) took 105 ms and this one 9 ms; with fresh statistics 7.7 vs
 * 11.8 ms (5.0 vs 5.4 ms with A's endpoints partly busy). The previous claim never took tenant B's
 * row (all 64 went to A); this one took both of B's. Its cost is one descent of
 * `Delivery_pending_endpoint_due_idx` per endpoint with PENDING rows (the skip scan), a range scan
 * of at most N entries per open endpoint, and one descent of `Delivery_live_endpoint_line_idx` per
 * FIFO endpoint: it grows with the number of endpoints that have waiting work, not with the
 * backlog. Both indexes are partial, so, like the queue index they replace, they never hold the
 * archive's rows.
 *
 * Each endpoint offers first its tenant's share of the pick: twice the limit (what the pick looks
 * at) over the tenant's open endpoints, not every free slot. A row past its endpoint's share can be
 * picked only when its tenant's endpoints offer less than the pick between them: the tenant's ranks
 * go round its endpoints, so otherwise that row ranks after twice the limit. Such a tenant's
 * endpoints that the share cut short then offer the rest of their free slots (`rest`): the claim
 * takes what offering every free slot would, while the common case reads a share (a claim of 32
 * over 10 endpoints with 64 free slots each read, ranked and sorted 70 rows, not 640; BENCHMARKS.md,
 * "the claim offers each endpoint its share").
 *
 * Prepared (named): planning this statement cost more than running it, 2.0 ms a round trip
 * unnamed against 0.73 ms prepared with 5 due (bench/claimStatements.ts). Every row it reads is
 * reached through a key or a partial index by construction (see `open` and `locked`), so the
 * generic plan PostgreSQL settles on is as good as a custom one in every scenario that bench has.
 */
export async function claimDue(sql: RawQuery, owner: string, leaseMs: number, limit: number, perEndpoint: number, busy: EndpointCapacity[]): Promise<Claimed[]> {
  const rows = await sql<Omit<Claimed, 'previousStatus'>>(
    `WITH RECURSIVE waiting AS (
       -- A skip scan: the endpoints that have PENDING deliveries, one index descent each.
       (SELECT d."endpointId" AS id FROM "Delivery" d WHERE d.status = 'PENDING' ORDER BY d."endpointId" LIMIT 1)
       UNION ALL
       SELECT (SELECT d."endpointId" FROM "Delivery" d WHERE d.status = 'PENDING' AND d."endpointId" > w.id ORDER BY d."endpointId" LIMIT 1)
       FROM waiting w WHERE w.id IS NOT NULL
     ), open AS (
       SELECT e.id, e."tenantId", e.fifo, coalesce(f.free, $3) AS free,
              -- What each endpoint offers first: twice the limit over its tenant's endpoints that can
              -- offer more than their head (see "Each endpoint offers" above claimDue).
              ceil($2::int * 2.0 / greatest(1, count(*) FILTER (WHERE NOT e.fifo) OVER (PARTITION BY e."tenantId")))::int AS share
       -- One primary-key lookup per waiting endpoint (LIMIT 1 keeps the subquery from being
       -- flattened into a join): as a join, the planner scanned every endpoint of every tenant
       -- (1.4 ms a claim at 5,000 endpoints, growing with them).
       FROM waiting w CROSS JOIN LATERAL (
         SELECT e.id, e."tenantId", e.fifo FROM "Endpoint" e
         WHERE e.id = w.id AND e.status = 'ACTIVE' AND e."deletedAt" IS NULL LIMIT 1
       ) e
       LEFT JOIN unnest($4::text[], $5::int[]) AS f(endpoint_id, free) ON f.endpoint_id = e.id
       WHERE coalesce(f.free, $3) > 0
     ), shares AS (
       SELECT o.id AS endpoint_id, o."tenantId", o.free, o.share, c.id, c."nextAttemptAt", c."attemptCount" > 0 AS retry,
              row_number() OVER (PARTITION BY o.id ORDER BY c."nextAttemptAt", c.id) AS endpoint_rank,
              count(*) OVER (PARTITION BY o.id) AS endpoint_offered,
              count(*) OVER (PARTITION BY o."tenantId") AS tenant_offered
       FROM open o CROSS JOIN LATERAL (${dueRowsOf('o.id')} LIMIT least(o.free, o.share)) c
       WHERE NOT o.fifo
     ), rest AS (
       -- A tenant that offered less than the pick, with an endpoint its share cut short: that
       -- endpoint offers the rest of what it has room for (after its share, in the same index
       -- order), as it would without shares. Only such tenants pay for a second scan.
       SELECT s."tenantId", c.id, c."nextAttemptAt", c."attemptCount" > 0 AS retry,
              s.share + row_number() OVER (PARTITION BY s.endpoint_id ORDER BY c."nextAttemptAt", c.id) AS endpoint_rank
       FROM shares s CROSS JOIN LATERAL (${dueRowsOf('s.endpoint_id')} OFFSET s.share LIMIT least(s.free, $2::int * 2) - s.share) c
       WHERE s.endpoint_rank = 1 AND s.endpoint_offered = s.share AND s.share < least(s.free, $2::int * 2)
         AND s.tenant_offered < $2::int * 2
     ), offered AS (
       SELECT "tenantId", id, "nextAttemptAt", retry, endpoint_rank FROM shares
       UNION ALL
       SELECT "tenantId", id, "nextAttemptAt", retry, endpoint_rank FROM rest
       UNION ALL
       SELECT o."tenantId", h.id, h."nextAttemptAt", h."attemptCount" > 0, 1
       FROM open o CROSS JOIN LATERAL (
         SELECT d.id, d.status, d."nextAttemptAt", d."attemptCount" FROM "Delivery" d
         -- PENDING or SENDING (the enum's order), as the index's predicate says.
         WHERE d."endpointId" = o.id AND d.status < 'DELIVERED'
         ORDER BY d."createdAt", d.id LIMIT 1
       ) h
       WHERE o.fifo AND h.status = 'PENDING' AND h."nextAttemptAt" <= now()
     ), ranked AS (
       SELECT id, retry, "nextAttemptAt",
              row_number() OVER (PARTITION BY "tenantId" ORDER BY endpoint_rank, retry, "nextAttemptAt", id) AS tenant_rank
       FROM offered
     ), picked AS (
       -- Twice the limit: rows another instance is claiming right now are skipped, not waited for.
       SELECT id, row_number() OVER (ORDER BY tenant_rank, retry, "nextAttemptAt", id) AS turn
       FROM ranked ORDER BY turn LIMIT $2::int * 2
     ), locked AS (
       -- The status test again on the locked row: a row another claim took since this statement's
       -- snapshot fails it (re-checked on the newest version) instead of being claimed twice.
       -- The picked rows are reached through the primary key only: with statistics from before a
       -- backlog the planner walked the whole PENDING index instead and filtered it against them
       -- (76 ms at 20,000 due, not 0.7 ms), and a prepared statement's generic plan may choose so at
       -- any time. Hence ids as an array, and status compared as text: no partial index's predicate
       -- follows from that, so none of them is a way in.
       SELECT d.id FROM "Delivery" d
       WHERE d.id = ANY (ARRAY(SELECT id FROM picked)) AND d.status::text = 'PENDING' AND d."nextAttemptAt" <= now()
       FOR UPDATE OF d SKIP LOCKED
     ), chosen AS (
       SELECT p.id FROM locked l JOIN picked p ON p.id = l.id ORDER BY p.turn LIMIT $2
     )
     UPDATE "Delivery" d
     SET status = 'SENDING', "leaseOwner" = $1, "leaseExpiresAt" = now() + make_interval(secs => $6), "updatedAt" = now()
     FROM chosen p, "Event" ev, "Endpoint" e
     WHERE d.id = p.id AND ev.id = d."eventId" AND e.id = d."endpointId"
     RETURNING ${RETURNING}`, [
    owner,
    limit,
    perEndpoint,
    busy.map((b) => b.endpointId),
    busy.map((b) => Math.max(0, b.free)),
    leaseMs / 1000,
  ], 'hookyard_claim_due');
  return rows.map((r) => ({ ...r, previousStatus: 'PENDING' as const }));
}

/**
 * Takes over deliveries whose lease expired (their instance died mid-send). FIFO needs nothing
 * here: a taken-over delivery is not sent again by this call, its lost attempt is recorded as
 * failed and it goes back to PENDING with its retry time, still at the head of its line (claimDue
 * sends nothing behind it meanwhile), or FAILED when its schedule is spent, which lets the line on.
 */
export async function takeOverExpired(sql: RawQuery, owner: string, leaseMs: number, limit: number): Promise<Claimed[]> {
  const rows = await sql<Omit<Claimed, 'previousStatus'>>(
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
     RETURNING ${RETURNING}`, [
    limit,
    owner,
    leaseMs / 1000,
  ]);
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
  /** The policy's verdict that the endpoint is to be disabled (410 Gone), with the reason; written by this statement. */
  disableReason: string | null;
}


/** hookyard.endpoint.failing is emitted at most once per this interval per endpoint. */
export const FAILING_NOTICE_INTERVAL_MS = 3_600_000;

/** A tenant's outbox row, and the operational facts the same statement decided for that tenant. */
export type Recorded = OutboxRow & { operational: OperationalFact[] };

const REASON_TIME = `'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'`;

// An endpoint's next health state from its row (e) and the batch's net effect on it (s), as SQL
// expressions. Used twice: to pick the rows to lock, and again on the locked (latest) row.
const FAILING_SINCE = `CASE WHEN s.first_fail IS NULL THEN NULL
                            WHEN s.last_ok IS NULL THEN coalesce(e."failingSince", s.first_fail)
                            ELSE s.first_fail END`;
const LIVE = `e."deletedAt" IS NULL`;
const RECOVERED = `(s.last_ok IS NOT NULL AND e."failingNotified" AND ${LIVE})`;
// Not while a failing notice awaits its recovery (the batch's success ends that), and once an hour.
const FAILING = `(s.failed IS NOT NULL AND ${LIVE} AND NOT (e."failingNotified" AND s.last_ok IS NULL)
                  AND (e."failingNotifiedAt" IS NULL OR e."failingNotifiedAt" <= now() - make_interval(secs => $14::float8 / 1000)))`;
const GONE = `(s.gone_reason IS NOT NULL AND e.status = 'ACTIVE' AND ${LIVE})`;
const RETIRE = `($13::float8 > 0 AND e.status = 'ACTIVE' AND ${LIVE}
                 AND (${FAILING_SINCE}) < now() - make_interval(secs => $13::float8 / 1000))`;

/**
 * Records attempts and moves their deliveries on, for many at once, writing the status changes to
 * the outbox in the same statement (one row per tenant, returned for publishing). Rows whose lease
 * this owner no longer holds are left alone (absent from the changes). A retry of a deleted
 * endpoint ends FAILED.
 *
 * The same statement keeps each endpoint's health and decides the operational events:
 * - `failingSince`, the first failed attempt since its last success; when `disableAfterMs` > 0 an
 *   active endpoint whose streak is older than that is disabled, as is one that answered 410;
 * - `hookyard.endpoint.failing` for a delivery that ended FAILED unless one was emitted since the
 *   last success or within the hour (`failingNotified`, `failingNotifiedAt`), and
 *   `hookyard.endpoint.recovered` for the first success after it;
 * - `hookyard.delivery.failed` for each delivery that ended FAILED, except deliveries of
 *   `hookyard.*` events: two failing operator endpoints would otherwise tell each other about
 *   their failures forever.
 * A batch counts by its net effect per endpoint, in the order its attempts started. One statement
 * so the hot path pays no extra round trip. The Endpoint rows that change are locked first
 * (`FOR NO KEY UPDATE`, in id order so two batches cannot deadlock; it does not block the key-share
 * locks of deliveries being inserted) and the decision is taken again on the locked, latest row:
 * two instances recording outcomes of one endpoint cannot both emit the same notice. A success on a
 * healthy endpoint locks and writes nothing. Prepared like the claim: 2.4 → 0.92 ms a round trip
 * for 5 outcomes (bench/claimStatements.ts).
 */
export async function complete(sql: RawQuery, owner: string, batch: Completion[], disableAfterMs = 0): Promise<Recorded[]> {
  if (batch.length === 0) return [];
  return sql<Recorded>(
    `WITH input AS (
       SELECT * FROM unnest($1::text[], $2::text[], $3::int[], $4::text[], $5::timestamptz[], $6::int[], $7::int[],
                            $8::text[], $9::text[], $10::text[], $11::float8[], $15::text[])
         AS t(delivery_id, attempt_id, attempt_number, trigger, started_at, duration_ms, response_status,
              response_body, error, status, retry_in_ms, disable_reason)
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
       -- Status compared as text, so that no partial index's predicate follows from it and the
       -- rows are reached through the primary key: with statistics from before a backlog the
       -- planner walked the live-line index (PENDING and SENDING) instead and filtered 20,000 rows
       -- to find 5 (8.8 ms, not 0.9), and a prepared statement's generic plan may choose so anytime.
       WHERE d.id = i.delivery_id AND e.id = d."endpointId" AND d.status::text = 'SENDING' AND d."leaseOwner" = $12
       RETURNING d.id, d.status, d."tenantId", d."endpointId", d."eventId", d."eventType", d."attemptCount", d."lastError"
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
                'occurredAt', to_char(now() AT TIME ZONE 'UTC', ${REASON_TIME})))
       FROM updated u JOIN input i ON i.delivery_id = u.id
       GROUP BY u."tenantId"
       RETURNING id, "tenantId", changes
     ), outcomes AS (
       SELECT u."endpointId" AS endpoint_id, u.id AS delivery_id, u."eventId" AS event_id, u."lastError" AS last_error,
              i.started_at, i.status = 'DELIVERED' AS ok, u.status = 'FAILED' AS failed, i.disable_reason AS gone_reason
       FROM updated u JOIN input i ON i.delivery_id = u.id
     ), last_ok AS (
       SELECT endpoint_id, max(started_at) FILTER (WHERE ok) AS last_ok, max(gone_reason) AS gone_reason FROM outcomes GROUP BY endpoint_id
     ), streak AS (
       -- The batch's own order decides: failures after its last success start (or continue) a
       -- streak, and the first delivery ending FAILED after it is the one a failing notice names.
       SELECT l.endpoint_id, l.last_ok, l.gone_reason,
              min(o.started_at) FILTER (WHERE NOT o.ok AND (l.last_ok IS NULL OR o.started_at > l.last_ok)) AS first_fail,
              (array_agg(jsonb_build_object('deliveryId', o.delivery_id, 'eventId', o.event_id, 'lastError', o.last_error) ORDER BY o.started_at)
                 FILTER (WHERE o.failed AND (l.last_ok IS NULL OR o.started_at > l.last_ok)))[1] AS failed
       FROM last_ok l JOIN outcomes o ON o.endpoint_id = l.endpoint_id
       GROUP BY l.endpoint_id, l.last_ok, l.gone_reason
     ), locked AS MATERIALIZED (
       -- Read committed: a row another statement changed meanwhile is waited for, and the WHERE and
       -- the columns below are evaluated again on its latest version.
       SELECT e.id, e."tenantId", s.failed, s.gone_reason,
              (${FAILING_SINCE}) AS failing_since,
              ${RECOVERED} AS recovered, ${FAILING} AS failing, ${GONE} AS gone, ${RETIRE} AS retire,
              e."failingNotified" AND s.last_ok IS NULL AS still_notified
       FROM streak s JOIN "Endpoint" e ON e.id = s.endpoint_id
       WHERE e."failingSince" IS DISTINCT FROM (${FAILING_SINCE}) OR ${RECOVERED} OR ${FAILING} OR ${GONE} OR ${RETIRE}
       ORDER BY e.id
       FOR NO KEY UPDATE OF e
     ), endpoints AS (
       UPDATE "Endpoint" e
       SET "failingSince" = l.failing_since,
           "failingNotified" = l.still_notified OR l.failing,
           "failingNotifiedAt" = CASE WHEN l.failing THEN now() ELSE e."failingNotifiedAt" END,
           status = CASE WHEN l.gone OR l.retire THEN 'DISABLED'::"EndpointStatus" ELSE e.status END,
           "disabledReason" = CASE WHEN l.gone THEN l.gone_reason
             WHEN l.retire THEN 'every attempt failed since ' || to_char(l.failing_since AT TIME ZONE 'UTC', ${REASON_TIME})
             ELSE e."disabledReason" END,
           "updatedAt" = CASE WHEN l.gone OR l.retire THEN now() ELSE e."updatedAt" END
       FROM locked l
       WHERE e.id = l.id
       RETURNING e.id, e."tenantId", e."disabledReason", e."failingSince", l.failed, l.recovered, l.failing, l.gone OR l.retire AS disabled
     ), facts AS (
       SELECT u."tenantId" AS tenant_id, 1 AS ord, u.id AS k, 'hookyard.delivery.failed' AS type, u."endpointId" AS endpoint_id,
              jsonb_build_object('deliveryId', u.id, 'eventId', u."eventId", 'eventType', u."eventType", 'endpointId', u."endpointId",
                                 'attempts', u."attemptCount", 'lastError', u."lastError",
                                 'reason', 'delivery ' || u.id || ' failed after ' || u."attemptCount" || ' attempt(s): ' || coalesce(u."lastError", 'no error text')) AS data
       FROM updated u WHERE u.status = 'FAILED' AND lower(u."eventType") NOT LIKE 'hookyard.%'
       UNION ALL
       SELECT x."tenantId", 2, x.id, 'hookyard.endpoint.recovered', x.id,
              jsonb_build_object('endpointId', x.id, 'reason', 'a delivery succeeded after the endpoint was reported failing')
       FROM endpoints x WHERE x.recovered
       UNION ALL
       SELECT x."tenantId", 3, x.id, 'hookyard.endpoint.failing', x.id,
              jsonb_build_object('endpointId', x.id, 'deliveryId', x.failed->'deliveryId', 'eventId', x.failed->'eventId', 'lastError', x.failed->'lastError',
                                 'failingSince', to_char(x."failingSince" AT TIME ZONE 'UTC', ${REASON_TIME}),
                                 'reason', 'delivery ' || (x.failed->>'deliveryId') || ' failed: ' || coalesce(x.failed->>'lastError', 'no error text'))
       FROM endpoints x WHERE x.failing
       UNION ALL
       SELECT x."tenantId", 4, x.id, 'hookyard.endpoint.disabled', x.id, jsonb_build_object('endpointId', x.id, 'reason', x."disabledReason")
       FROM endpoints x WHERE x.disabled
     )
     SELECT o.id, o."tenantId", o.changes,
            coalesce((SELECT jsonb_agg(jsonb_build_object('tenantId', f.tenant_id, 'type', f.type, 'endpointId', f.endpoint_id, 'data', f.data,
                                                          'occurredAt', to_char(now() AT TIME ZONE 'UTC', ${REASON_TIME})) ORDER BY f.ord, f.k)
                      FROM facts f WHERE f.tenant_id = o."tenantId"), '[]'::jsonb) AS operational
     FROM outbox o`, [
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
    FAILING_NOTICE_INTERVAL_MS,
    batch.map((c) => c.disableReason),
  ], 'hookyard_complete');
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
export async function release(sql: RawQuery, owner: string, ids: string[]): Promise<string[]> {
  if (ids.length === 0) return [];
  const rows = await sql<{ id: string }>(
    `UPDATE "Delivery" SET status = 'PENDING', "leaseOwner" = NULL, "leaseExpiresAt" = NULL, "updatedAt" = now()
     WHERE id = ANY($1::text[]) AND status = 'SENDING' AND "leaseOwner" = $2
     RETURNING id`, [
    ids,
    owner,
  ]);
  return rows.map((r) => r.id);
}
