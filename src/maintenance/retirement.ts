// The retirement sweep: an endpoint whose failing streak (`failingSince`) is older than
// HOOKYARD_DISABLE_AFTER is disabled even when no attempt of it is being recorded (the statement
// recording outcomes retires endpoints too, but only those it records for: with every waiting
// delivery scheduled hours ahead, nothing would). Its waiting deliveries stay PENDING. One
// instance at a time runs a pass (an advisory lock, exclusive.ts); each batch is one statement
// whose row locks skip rows the dispatcher is recording for right now (they are seen next pass).
import type { Config } from '../config.js';
import type { Database } from '../db/client.js';
import type { Logger } from '../logger.js';
import type { OperationalFact } from '../pubsub.js';
import { runExclusive } from './exclusive.js';
import { Periodic } from './periodic.js';

/** pg_try_advisory_lock key of the sweep (migrations use 72707370, retention 72707371). */
export const RETIREMENT_LOCK_KEY = 72707372;

const BATCH = 200;

// No index: one instance runs this a minute at most, over the endpoints table (one row per
// endpoint, not per delivery); the status check is repeated on the locked row by the locking clause.
const SQL = `
  WITH doomed AS (
    SELECT id FROM "Endpoint"
    WHERE status = 'ACTIVE' AND "deletedAt" IS NULL AND "failingSince" < now() - make_interval(secs => $1::float8 / 1000)
    ORDER BY id
    LIMIT $2
    FOR NO KEY UPDATE SKIP LOCKED
  )
  UPDATE "Endpoint" e
  SET status = 'DISABLED',
      "disabledReason" = 'every attempt failed since ' || to_char(e."failingSince" AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
      "updatedAt" = now()
  FROM doomed x
  WHERE e.id = x.id
  RETURNING e.id, e."tenantId", e."disabledReason", to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS "occurredAt"`;

/** How often a pass runs: a quarter of HOOKYARD_DISABLE_AFTER, between 1 s and a minute. */
export function retirementIntervalMs(disableAfterMs: number): number {
  return Math.max(1_000, Math.min(60_000, Math.floor(disableAfterMs / 4)));
}

export class RetirementSweep {
  private readonly periodic: Periodic;

  constructor(
    private readonly deps: {
      config: Pick<Config, 'disableAfterMs'>;
      logger: Logger;
      database: Database;
      /** The app stores these as hookyard.endpoint.disabled events (a callback: no domain import here). */
      onOperational: (facts: OperationalFact[]) => Promise<void>;
    },
  ) {
    this.periodic = new Periodic({ intervalMs: retirementIntervalMs(deps.config.disableAfterMs), logger: deps.logger, what: 'retirement sweep', pass: () => this.runOnce() });
  }

  /** Does nothing when HOOKYARD_DISABLE_AFTER is 0. */
  start(): void {
    if (this.deps.config.disableAfterMs > 0) this.periodic.start();
  }

  stop(): Promise<void> {
    return this.periodic.stop();
  }

  /** One pass: the endpoints it disabled, or null when another instance is running one. */
  async runOnce(): Promise<OperationalFact[] | null> {
    const facts = await runExclusive(this.deps.database, RETIREMENT_LOCK_KEY, async (query) => {
      const out: OperationalFact[] = [];
      for (;;) {
        const rows = await query<{ id: string; tenantId: string; disabledReason: string; occurredAt: string }>(SQL, [this.deps.config.disableAfterMs, BATCH]);
        for (const r of rows) {
          out.push({ tenantId: r.tenantId, type: 'hookyard.endpoint.disabled', endpointId: r.id, data: { endpointId: r.id, reason: r.disabledReason }, occurredAt: r.occurredAt });
        }
        if (rows.length < BATCH || this.periodic.stopping) return out;
      }
    });
    if (facts && facts.length > 0) {
      this.deps.logger.warn({ count: facts.length, endpointIds: facts.map((f) => f.endpointId) }, 'endpoints disabled by the retirement sweep: every attempt failed for HOOKYARD_DISABLE_AFTER');
      await this.deps.onOperational(facts);
    }
    return facts;
  }
}
