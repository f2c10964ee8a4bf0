// Where outcomes go: written in batches (one statement each: the deliveries, their attempt rows and
// the outbox), published after the commit, and the operational facts that statement decided
// (endpoint failing, recovered, disabled; delivery failed) handed to the app. Also
// publishes the claims (PENDING → SENDING) and, at shutdown, hands back what was never sent.
import type { Config } from '../config.js';
import type { RawQuery } from '../db/client.js';
import type { OutboxRelay } from '../domain/outbox.js';
import { newId } from '../ids.js';
import type { Logger } from '../logger.js';
import { type DeliveryStatusEvent, type HookyardPubSub, type OperationalFact, publishStatusChanges } from '../pubsub.js';
import { writeIsolating } from './isolate.js';
import { type Decision, decide } from './policy.js';
import * as store from './store.js';

const MAX_COMPLETION_BATCH = 500;
/**
 * An outcome that finds no write under way waits this long for others to share its statement.
 * The receiver has its request already, so the wait adds nothing to delivery latency, only to when
 * the DELIVERED status is visible; and at 1,000 deliveries/s outcome statements of ~3 rows each
 * were the largest part of Postgres's time (BENCHMARKS.md). A FIFO outcome does not wait: its
 * line's next delivery becomes claimable only with its commit.
 */
export const OUTCOME_LINGER_MS = 5;

/**
 * What the recorder keeps of a claimed delivery until its outcome is written: ids for publishing
 * and logs, and what the policy needs to decide again. Not the claim itself: its payload, URL,
 * headers and sealed secrets would stay reachable while the outcome waits for its batch, long
 * enough for V8 to move them to the old generation, where they wait for a full GC.
 */
type Held = Pick<store.Claimed, 'id' | 'tenantId' | 'endpointId' | 'eventId' | 'fifo' | 'attemptCount' | 'trigger'>;

function held(c: store.Claimed): Held {
  return { id: c.id, tenantId: c.tenantId, endpointId: c.endpointId, eventId: c.eventId, fifo: c.fifo, attemptCount: c.attemptCount, trigger: c.trigger };
}

interface Pending {
  completion: store.Completion;
  claimed: Held;
}

export interface RecorderDeps {
  config: Pick<Config, 'disableAfterMs' | 'retrySchedule' | 'maxRetryAfterMs'>;
  sql: RawQuery;
  log: Logger;
  pubsub: HookyardPubSub;
  outbox: OutboxRelay;
  owner: string;
  /** A retry was scheduled this far ahead: wake the claim loop then. */
  onRetryScheduled: (inMs: number) => void;
  /** Something became claimable with this commit (a FIFO line's next delivery): claim now. */
  wakeClaims: () => void;
  /** A batch of outcomes was written: claims held back while they waited may go ahead. */
  onWritten?: () => void;
  /**
   * Called with the operational facts (endpoint failing, recovered, disabled; delivery failed) the
   * statement recording outcomes decided, after its commit: the app stores them as `hookyard.*`
   * events. A callback, so the dispatcher does not import the domain layer.
   */
  onOperational?: (facts: OperationalFact[]) => Promise<void>;
}

export class Recorder {
  private readonly completions: Pending[] = [];
  private readonly toRelease: Held[] = [];
  private flushing: Promise<void> | null = null;
  private linger: NodeJS.Timeout | undefined;
  private stopping = false;

  constructor(private readonly deps: RecorderDeps) {}

  /**
   * Outcomes decided but not yet written. When the database falls behind on them, the claim loop
   * holds back (claimLoop.ts): each waiting outcome is a delivery whose lease keeps running, and
   * memory this process would otherwise grow without bound.
   */
  get waiting(): number {
    return this.completions.length;
  }

  /** Publishes PENDING → SENDING for what the claim loop just claimed. */
  claimed(claimed: store.Claimed[]): void {
    if (claimed.length === 0) return;
    const occurredAt = new Date().toISOString();
    this.publish(claimed, (c) => change(c, 'PENDING', 'SENDING', occurredAt));
  }

  /**
   * Queues a decided attempt for the next batched write. The policy's `disableEndpoint` (410 Gone)
   * is carried out by that same statement (store.complete), so the FAILED outcome and the
   * disabling commit together; the statement does not judge response statuses itself.
   */
  record(claimed: store.Claimed, decision: Decision): void {
    this.enqueue({ claimed: held(claimed), completion: { deliveryId: claimed.id, attemptId: newId('attempt'), ...decision.attempt, status: decision.status, retryInMs: decision.retryInMs, disableReason: decision.disableEndpoint } });
  }

  /** Claimed but never attempted (shut down mid-send): handed back at stop(). */
  release(claimed: store.Claimed): void {
    this.toRelease.push(held(claimed));
  }

  /** Writes what is queued (giving up on an outage after a while), then releases the unsent. */
  async stop(): Promise<{ released: number }> {
    this.stopping = true;
    if (this.completions.length > 0) this.startFlush();
    await this.flushing;
    this.deps.log.info('dispatcher stopping: 3/4 outcomes recorded');
    const unsent = this.toRelease.splice(0);
    const released = new Set(
      await store.release(this.deps.sql, this.deps.owner, unsent.map((c) => c.id)).catch((err: unknown) => {
        this.deps.log.error({ err }, 'could not release deliveries; their leases will expire');
        return [];
      }),
    );
    const back = unsent.filter((c) => released.has(c.id));
    const occurredAt = new Date().toISOString();
    this.publish(back, (c) => change(c, 'SENDING', 'PENDING', occurredAt));
    return { released: released.size };
  }

  private enqueue(p: Pending): void {
    this.completions.push(p);
    // Only for the wake-up timer: the due time itself is computed by the database.
    if (p.completion.retryInMs !== null) this.deps.onRetryScheduled(p.completion.retryInMs);
    // A write under way takes whatever is queued when it ends: no timer needed then.
    if (this.flushing) return;
    if (p.claimed.fifo || this.stopping) this.startFlush();
    else this.linger ??= setTimeout(() => this.startFlush(), OUTCOME_LINGER_MS);
  }

  private startFlush(): void {
    clearTimeout(this.linger);
    this.linger = undefined;
    this.flushing ??= this.flush();
  }

  /**
   * Writes outcomes in batches: whatever piled up while the previous write ran goes next. A batch
   * the database refuses for its data is split until the refused outcome is alone (isolate.ts);
   * only connection errors and outages are retried as they are, with backoff.
   */
  private async flush(): Promise<void> {
    let backoff = 0;
    while (this.completions.length > 0) {
      const batch = this.completions.slice(0, MAX_COMPLETION_BATCH);
      try {
        await writeIsolating(batch, {
          write: (part) => this.writeOutcomes(part),
          isStatementError: store.isStatementError,
          unwritable: (p, err) => this.writeUnrecordable(p, err),
        });
        backoff = 0;
        this.deps.onWritten?.();
      } catch (err) {
        backoff = Math.min(Math.max(100, backoff * 2), 5_000);
        this.deps.log.error({ err, pending: this.completions.length, retryInMs: backoff }, 'recording outcomes failed; retrying');
        await new Promise((r) => setTimeout(r, backoff));
        if (this.stopping && backoff >= 5_000) break;
      }
    }
    this.flushing = null;
  }

  /** One statement for these outcomes; written ones leave the queue and are published. */
  private async writeOutcomes(part: Pending[]): Promise<void> {
    const { sql, owner, config, outbox, log } = this.deps;
    const recorded = await store.complete(sql, owner, part.map((p) => p.completion), config.disableAfterMs);
    this.dequeue(part);
    outbox.publish(recorded);
    // A FIFO line's next delivery became claimable with this commit: claim it now, not at the next poll.
    if (part.some((p) => p.claimed.fifo && p.completion.status !== 'PENDING')) this.deps.wakeClaims();
    const facts = recorded.flatMap((row) => row.operational);
    if (facts.length > 0) {
      // Not awaited: the outcomes are stored already, and a failed emission must not hold the loop.
      this.deps.onOperational?.(facts).catch((err: unknown) => log.error({ err, count: facts.length }, 'could not emit operational events'));
    }
    const done = new Set(recorded.flatMap((row) => row.changes.map((c) => c.deliveryId)));
    for (const p of part) {
      if (!done.has(p.completion.deliveryId)) {
        log.warn({ deliveryId: p.claimed.id, eventId: p.claimed.eventId }, 'outcome not recorded: the lease was lost to another instance');
      }
    }
  }

  /**
   * The database refuses this outcome on its own. It is recorded as a failed attempt saying why,
   * without what the receiver sent, and the delivery moves on by the schedule; if even that is
   * refused, it is dropped here and its lease expiry records it ("lease expired"). Never retried
   * as it is.
   */
  private async writeUnrecordable(p: Pending, err: unknown): Promise<void> {
    const { log, config } = this.deps;
    const c = p.completion;
    const ids = { deliveryId: c.deliveryId, eventId: p.claimed.eventId, endpointId: p.claimed.endpointId, attempt: c.attemptNumber };
    const reason = `outcome could not be stored (SQLSTATE ${store.sqlState(err)}); response body dropped`;
    log.error({ ...ids, err, responseStatus: c.responseStatus }, 'the database refused an outcome; recording it as a failed attempt');
    // Decided again without the body: a 410 still ends FAILED and disables the endpoint.
    const fallback = decide(p.claimed, {
      ok: false, startedAt: c.startedAt, durationMs: c.durationMs ?? 0, responseStatus: c.responseStatus, responseBody: null, retryAfterMs: null, error: reason,
      // A delivery that was to end FAILED (e.g. webhook-retry: none) still does.
      noRetry: c.status === 'FAILED',
    }, config, Math.random());
    try {
      await this.writeOutcomes([{ claimed: p.claimed, completion: { ...c, ...fallback.attempt, status: fallback.status, retryInMs: fallback.retryInMs, disableReason: fallback.disableEndpoint } }]);
      this.dequeue([p]);
      if (fallback.retryInMs !== null) this.deps.onRetryScheduled(fallback.retryInMs);
    } catch (again) {
      if (!store.isStatementError(again)) throw again;
      log.error({ ...ids, err: again }, 'the database refused the failed attempt too; leaving the delivery to lease expiry');
      this.dequeue([p]);
    }
  }

  private dequeue(part: Pending[]): void {
    const gone = new Set(part);
    let kept = 0;
    for (const p of this.completions) if (!gone.has(p)) this.completions[kept++] = p;
    this.completions.length = kept;
  }

  private publish<C extends Held>(claimed: C[], toChange: (c: C) => DeliveryStatusEvent): void {
    const byTenant = new Map<string, DeliveryStatusEvent[]>();
    for (const c of claimed) {
      const list = byTenant.get(c.tenantId);
      if (list) list.push(toChange(c));
      else byTenant.set(c.tenantId, [toChange(c)]);
    }
    for (const [tenant, list] of byTenant) publishStatusChanges(this.deps.pubsub, tenant, list);
  }
}

function change(c: Held, from: DeliveryStatusEvent['previousStatus'], to: DeliveryStatusEvent['status'], occurredAt: string): DeliveryStatusEvent {
  return { deliveryId: c.id, endpointId: c.endpointId, eventId: c.eventId, previousStatus: from, status: to, attemptId: null, occurredAt };
}
