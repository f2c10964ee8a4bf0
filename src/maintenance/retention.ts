// Retention: finished events (every delivery DELIVERED or FAILED) older than HOOKYARD_RETENTION go,
// with their deliveries and attempts, and so do rate-limit logs with no hit left in their window
// and outbox rows no relay will publish any more. Work is done in small single statements (each
// its own transaction, row locks taken with SKIP LOCKED) so the hot tables never wait on it, and
// one instance at a time runs a pass (an advisory lock, exclusive.ts).
import type { Config } from '../config.js';
import type { Database } from '../db/client.js';
import type { Logger } from '../logger.js';
import { type Query, runExclusive } from './exclusive.js';
import { Periodic } from './periodic.js';

/** pg_try_advisory_lock key of the retention pass (the migration lock uses 72707370). */
export const RETENTION_LOCK_KEY = 72707371;

const BATCH = 500;
/** Outbox rows are published and deleted within seconds (orphans after 5 s, see outbox.ts); one
 * still there after this long was published and its delete lost, or cannot be published at all. */
const OUTBOX_STALE_SECONDS = 600;
const RATE_LIMIT_WINDOW_SECONDS = 60;

// Every statement of the job, in one place.
const SQL = {
  // Oldest finished events first. FOR UPDATE on the event (SKIP LOCKED) keeps out a replay being
  // inserted right now: its foreign-key check holds a KEY SHARE lock on the event. The deliveries
  // and attempts go by the foreign keys' ON DELETE CASCADE in the same statement; they are counted
  // first, in the statement's snapshot.
  events: `
    WITH doomed AS (
      SELECT ev.id FROM "Event" ev
      WHERE ev."createdAt" < now() - make_interval(secs => $1)
        AND NOT EXISTS (SELECT 1 FROM "Delivery" d WHERE d."eventId" = ev.id AND d.status IN ('PENDING', 'SENDING'))
      ORDER BY ev."createdAt"
      LIMIT $2
      FOR UPDATE OF ev SKIP LOCKED
    ), deliveries AS (
      SELECT d.id FROM "Delivery" d JOIN doomed x ON d."eventId" = x.id
    ), gone AS (
      DELETE FROM "Event" ev USING doomed x WHERE ev.id = x.id RETURNING ev.id
    )
    SELECT (SELECT count(*) FROM gone)::int AS events,
           (SELECT count(*) FROM deliveries)::int AS deliveries,
           (SELECT count(*) FROM "DeliveryAttempt" a JOIN deliveries d ON a."deliveryId" = d.id)::int AS attempts`,
  // A log with no hit inside the window says the same as no row at all.
  rateLimits: `
    WITH doomed AS (
      SELECT key FROM "RateLimit" r
      WHERE NOT EXISTS (SELECT 1 FROM unnest(r.hits) h WHERE h > now() - make_interval(secs => $1))
      LIMIT $2
      FOR UPDATE SKIP LOCKED
    ), gone AS (DELETE FROM "RateLimit" r USING doomed x WHERE r.key = x.key RETURNING 1)
    SELECT count(*)::int AS n FROM gone`,
  outbox: `
    WITH doomed AS (
      SELECT id FROM "StatusOutbox" WHERE "createdAt" < now() - make_interval(secs => $1)
      ORDER BY "createdAt" LIMIT $2
      FOR UPDATE SKIP LOCKED
    ), gone AS (DELETE FROM "StatusOutbox" o USING doomed x WHERE o.id = x.id RETURNING 1)
    SELECT count(*)::int AS n FROM gone`,
};

export interface RetentionCounts {
  events: number;
  deliveries: number;
  attempts: number;
  rateLimits: number;
  outboxRows: number;
}

/** How often a pass runs: every minute, or a third of the retention when that is shorter. */
export function retentionIntervalMs(retentionMs: number): number {
  if (retentionMs <= 0) return 60_000;
  return Math.max(1_000, Math.min(60_000, Math.floor(retentionMs / 3)));
}

export class RetentionJob {
  private readonly periodic: Periodic;
  /** Passes run and passes skipped because another instance held the lock (for tests and logs). */
  readonly stats = { passes: 0, skipped: 0 };

  constructor(
    private readonly deps: { config: Pick<Config, 'retentionMs'>; logger: Logger; database: Database },
  ) {
    this.periodic = new Periodic({ intervalMs: retentionIntervalMs(deps.config.retentionMs), logger: deps.logger, what: 'retention pass', pass: () => this.runOnce() });
  }

  /** Runs even with retention 0 (events kept): rate-limit and outbox leftovers still go. */
  start(): void {
    this.periodic.start();
  }

  stop(): Promise<void> {
    return this.periodic.stop();
  }

  /** One pass, unless another instance is running one (then null). */
  async runOnce(): Promise<RetentionCounts | null> {
    const counts = await runExclusive(this.deps.database, RETENTION_LOCK_KEY, (query) => this.pass(query));
    if (counts === null) {
      this.stats.skipped += 1;
      this.deps.logger.debug('retention pass skipped: another instance is running one');
    }
    return counts;
  }

  private async pass(query: Query): Promise<RetentionCounts> {
    this.stats.passes += 1;
    const started = Date.now();
    const counts: RetentionCounts = { events: 0, deliveries: 0, attempts: 0, rateLimits: 0, outboxRows: 0 };
    const retentionSeconds = this.deps.config.retentionMs / 1000;
    // Batch after batch until a short one; stop() waits for at most the batch in progress.
    while (retentionSeconds > 0) {
      const [row] = await query<{ events: number; deliveries: number; attempts: number }>(SQL.events, [retentionSeconds, BATCH]);
      counts.events += row?.events ?? 0;
      counts.deliveries += row?.deliveries ?? 0;
      counts.attempts += row?.attempts ?? 0;
      if ((row?.events ?? 0) < BATCH || this.periodic.stopping) break;
    }
    for (;;) {
      const [row] = await query<{ n: number }>(SQL.rateLimits, [RATE_LIMIT_WINDOW_SECONDS, BATCH]);
      counts.rateLimits += row?.n ?? 0;
      if ((row?.n ?? 0) < BATCH || this.periodic.stopping) break;
    }
    for (;;) {
      const [row] = await query<{ n: number }>(SQL.outbox, [OUTBOX_STALE_SECONDS, BATCH]);
      counts.outboxRows += row?.n ?? 0;
      if ((row?.n ?? 0) < BATCH || this.periodic.stopping) break;
    }
    const removed = Object.values(counts).some((n) => n > 0);
    this.deps.logger[removed ? 'info' : 'debug']({ ...counts, ms: Date.now() - started }, 'retention pass done');
    return counts;
  }
}
