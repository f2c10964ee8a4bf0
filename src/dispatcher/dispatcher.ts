// The delivery loop: claim due deliveries in batches, send them with bounded concurrency (global,
// per endpoint, and the endpoint's rate limit), record each outcome, publish each change.
// It always gives back what it claimed, backs off on errors, wakes early on new work, and stops
// in a fixed order: stop claiming, let sends finish (up to a deadline), abort and release the
// rest, flush the outcomes.
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { Config } from '../config.js';
import type { PrismaClient } from '../db/client.js';
import type { OutboxRelay } from '../domain/outbox.js';
import { newId } from '../ids.js';
import type { Logger } from '../logger.js';
import type { Metrics } from '../metrics.js';
import type { SecretBox } from '../security/secretBox.js';
import type { Services } from '../services.js';
import { inSpan, SpanStatusCode } from '../tracing.js';
import { type DeliveryStatusEvent, type HookyardPubSub, publishStatusChanges } from '../pubsub.js';
import { writeIsolating } from './isolate.js';
import { EndpointRateLimits } from './rateLimiter.js';
import { nextDelay } from './schedule.js';
import { type AttemptOutcome, createSender, type Sender } from './send.js';
import * as store from './store.js';
import type { WorkSignal } from './workSignal.js';

const MAX_BATCH = 100;
const MAX_COMPLETION_BATCH = 500;

interface InFlight {
  claimed: store.Claimed;
  abort: AbortController;
}

interface Pending {
  completion: store.Completion;
  claimed: store.Claimed;
}

/** What the app shares with resolvers (its database client among them), plus the dispatcher's own parts. */
export interface DispatcherDeps extends Pick<Services, 'config' | 'db' | 'logger' | 'metrics' | 'secretBox' | 'pubsub'> {
  outbox: OutboxRelay;
  workSignal: WorkSignal;
  sender?: Sender;
  /**
   * Called once per endpoint the dispatcher disabled (410 Gone, HOOKYARD_DISABLE_AFTER), after the
   * change is stored: the app emits `hookyard.endpoint.disabled` with it. A callback, so the
   * dispatcher does not import the domain layer.
   */
  onEndpointDisabled?: (tenantId: string, endpointId: string, reason: string) => Promise<void>;
}

export class Dispatcher {
  readonly owner = `${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;
  private readonly config: Config;
  private readonly db: PrismaClient;
  private readonly log: Logger;
  private readonly pubsub: HookyardPubSub;
  private readonly metrics: Metrics;
  private readonly secretBox: SecretBox;
  private readonly outbox: OutboxRelay;
  private readonly sender: Sender;
  private readonly onEndpointDisabled: DispatcherDeps['onEndpointDisabled'];
  private readonly rateLimits = new EndpointRateLimits();
  private readonly inFlight = new Map<string, InFlight>();
  private readonly perEndpoint = new Map<string, number>();
  private readonly completions: Pending[] = [];
  private readonly toRelease: store.Claimed[] = [];
  private flushing: Promise<void> | null = null;
  private loopDone: Promise<void> | null = null;
  private stopping = false;
  private woken = false;
  private wakeSleeper: (() => void) | null = null;
  /** The last claim was cut short by the global limit: claim again when slots free up. */
  private globalLimited = false;
  /** Endpoints held back at their limit in the last claim. */
  private saturated = new Set<string>();
  private nextTakeoverAt = 0;
  private retryTimer: NodeJS.Timeout | null = null;
  private retryTimerAt = Infinity;
  private unsubscribe: (() => void) | null = null;

  constructor(deps: DispatcherDeps) {
    this.config = deps.config;
    this.db = deps.db;
    this.pubsub = deps.pubsub;
    this.metrics = deps.metrics;
    this.secretBox = deps.secretBox;
    this.outbox = deps.outbox;
    this.onEndpointDisabled = deps.onEndpointDisabled;
    this.log = deps.logger.child({ component: 'dispatcher', owner: this.owner });
    this.sender =
      deps.sender ?? createSender({ timeoutMs: this.config.deliveryTimeoutMs, allowPrivateTargets: this.config.allowPrivateTargets });
    this.unsubscribe = deps.workSignal.subscribe(() => this.wake());
  }

  start(): void {
    if (this.loopDone) return;
    this.log.info({ concurrency: this.config.dispatchConcurrency }, 'dispatcher started');
    this.loopDone = this.loop();
  }

  /** Wakes the loop now (new work, a freed slot, a retry coming due). */
  wake(): void {
    this.woken = true;
    this.wakeSleeper?.();
  }

  get inFlightCount(): number {
    return this.inFlight.size;
  }

  private sleep(ms: number): Promise<void> {
    if (this.woken || this.stopping) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.wakeSleeper = () => {
        this.wakeSleeper = null;
        done();
      };
    });
  }

  private async loop(): Promise<void> {
    let backoff = 0;
    while (!this.stopping) {
      try {
        if (Date.now() >= this.nextTakeoverAt) {
          this.nextTakeoverAt = Date.now() + Math.max(1000, this.config.leaseMs / 4);
          const taken = await store.takeOverExpired(this.db, this.owner, this.config.leaseMs, MAX_BATCH);
          if (taken.length > 0) this.log.warn({ count: taken.length }, 'took over deliveries whose lease expired');
          for (const c of taken) this.begin(c);
        }
        const free = this.config.dispatchConcurrency - this.inFlight.size;
        this.woken = false;
        if (free <= 0) {
          this.globalLimited = true;
          await this.sleep(this.config.pollIntervalMs);
          continue;
        }
        const want = Math.min(free, MAX_BATCH);
        const busy = this.capacities();
        const claimed = await store.claimDue(this.db, this.owner, this.config.leaseMs, want, this.config.endpointConcurrency, busy);
        backoff = 0;
        const published: DeliveryStatusEvent[] = [];
        for (const c of claimed) {
          this.begin(c);
          published.push(this.change(c, 'PENDING', 'SENDING', null));
        }
        this.publish(claimed, published);
        // A full batch, or endpoints held back at their limit: more may be due as soon as slots free.
        this.globalLimited = claimed.length === want;
        this.saturated = new Set(busy.filter((b) => b.free <= 0).map((b) => b.endpointId));
        if (claimed.length === want) continue;
        await this.sleep(this.config.pollIntervalMs);
      } catch (err) {
        backoff = Math.min(Math.max(100, backoff * 2), 10_000);
        this.log.error({ err, retryInMs: backoff }, 'dispatch cycle failed; backing off');
        this.woken = false;
        await this.sleep(backoff);
      }
    }
  }

  /** Endpoints this instance must hold back: busy ones, and rate-limited ones short of tokens. */
  private capacities(): store.EndpointCapacity[] {
    const ids = new Set([...this.perEndpoint.keys(), ...this.rateLimits.limitedEndpoints()]);
    const out: store.EndpointCapacity[] = [];
    for (const endpointId of ids) {
      const busy = this.perEndpoint.get(endpointId) ?? 0;
      const free = Math.min(this.config.endpointConcurrency - busy, this.rateLimits.available(endpointId) ?? Infinity);
      if (free < this.config.endpointConcurrency) out.push({ endpointId, free: Math.max(0, free) });
    }
    return out;
  }

  private begin(claimed: store.Claimed): void {
    const abort = new AbortController();
    this.inFlight.set(claimed.id, { claimed, abort });
    this.perEndpoint.set(claimed.endpointId, (this.perEndpoint.get(claimed.endpointId) ?? 0) + 1);
    void this.run(claimed, abort.signal);
  }

  private end(claimed: store.Claimed): void {
    this.inFlight.delete(claimed.id);
    const n = (this.perEndpoint.get(claimed.endpointId) ?? 1) - 1;
    if (n <= 0) this.perEndpoint.delete(claimed.endpointId);
    else this.perEndpoint.set(claimed.endpointId, n);
    // Claim again once a quarter of the slots are free (globally, or of a held-back endpoint),
    // not per freed slot: a claim per delivery would cost a query per delivery.
    const quarter = (n: number) => Math.max(1, Math.floor(n / 4));
    if (this.globalLimited && this.config.dispatchConcurrency - this.inFlight.size >= quarter(this.config.dispatchConcurrency)) {
      this.wake();
    } else if (this.saturated.has(claimed.endpointId) && this.config.endpointConcurrency - n >= quarter(this.config.endpointConcurrency)) {
      this.saturated.delete(claimed.endpointId);
      this.wake();
    }
  }

  private async run(c: store.Claimed, signal: AbortSignal): Promise<void> {
    const attemptNumber = c.attemptCount + 1;
    // Ids on every line, without a child logger per delivery (its bindings are serialised eagerly).
    const ids = { deliveryId: c.id, eventId: c.eventId, endpointId: c.endpointId, attempt: attemptNumber };
    let outcome: AttemptOutcome;
    try {
      if (c.previousStatus === 'SENDING') {
        // Its instance died holding it: whether that attempt reached the receiver is unknown.
        const now = new Date();
        outcome = { ok: false, startedAt: now, durationMs: 0, responseStatus: null, responseBody: null, retryAfterMs: null,
          error: 'lease expired: the dispatcher sending it stopped before recording the outcome' };
      } else {
        await this.rateLimits.take(c.endpointId, c.rateLimitPerSecond, signal);
        const body = JSON.stringify({ id: c.eventId, type: c.eventType, timestamp: c.eventCreatedAt.toISOString(), data: c.payload });
        const attrs = { 'hookyard.delivery.id': c.id, 'hookyard.event.id': c.eventId, 'hookyard.endpoint.id': c.endpointId, 'hookyard.attempt': attemptNumber, 'hookyard.delivery.trigger': c.trigger };
        outcome = await inSpan('hookyard.delivery.attempt', attrs, async (span) => {
          const o = await this.sender.send(
            { deliveryId: c.id, eventId: c.eventId, eventType: c.eventType, attemptNumber, url: c.url, headers: c.headers, secrets: c.secrets.map((s) => this.secretBox.open(s, c.endpointId)), body },
            signal,
          );
          if (o.responseStatus !== null) span.setAttribute('http.response.status_code', o.responseStatus);
          if (!o.ok) span.setStatus({ code: SpanStatusCode.ERROR, message: o.error ?? 'attempt failed' });
          return o;
        }, { traceparent: c.traceparent });
      }
    } catch (err) {
      outcome = { ok: false, startedAt: new Date(), durationMs: 0, responseStatus: null, responseBody: null, retryAfterMs: null,
        error: signal.aborted ? 'aborted: dispatcher shutting down' : `internal error: ${(err as Error).message}` };
    }
    this.end(c);
    if (signal.aborted && !outcome.ok) {
      // Shut down mid-send: hand it back untouched rather than count an attempt we cut short.
      this.toRelease.push(c);
      return;
    }
    const completion = this.outcomeToCompletion(c, attemptNumber, outcome);
    this.metrics.attempt(outcome, outcome.durationMs, c.dueAt, outcome.startedAt);
    if (completion.status === 'DELIVERED' || completion.status === 'FAILED') this.metrics.finished(completion.status);
    if (outcome.ok) this.log.debug({ ...ids, status: outcome.responseStatus, ms: outcome.durationMs }, 'delivered');
    else this.log.info({ ...ids, status: outcome.responseStatus, error: outcome.error, next: completion.status, retryInMs: completion.retryInMs }, 'attempt failed');
    if (outcome.responseStatus === 410) {
      const reason = 'the receiver answered 410 Gone';
      const disabled = await store.disableEndpointGone(this.db, c.endpointId, reason).catch((err: unknown) => {
        this.log.error({ ...ids, err }, 'could not disable endpoint after 410');
        return false;
      });
      if (disabled) {
        this.log.warn(ids, 'endpoint disabled: receiver answered 410 Gone');
        this.endpointDisabled(c.tenantId, c.endpointId, reason);
      }
    }
    this.enqueue({ completion, claimed: c });
  }

  /** Not awaited: the outcome is stored already, and a failed emission must not hold the loop. */
  private endpointDisabled(tenantId: string, endpointId: string, reason: string): void {
    this.onEndpointDisabled?.(tenantId, endpointId, reason).catch((err: unknown) =>
      this.log.error({ err, tenantId, endpointId }, 'could not emit hookyard.endpoint.disabled'),
    );
  }

  private enqueue(p: Pending): void {
    this.completions.push(p);
    // Only for the wake-up timer: the due time itself is computed by the database.
    if (p.completion.retryInMs !== null) this.wakeAt(Date.now() + p.completion.retryInMs);
    this.flushing ??= this.flush();
  }

  private outcomeToCompletion(c: store.Claimed, attemptNumber: number, outcome: AttemptOutcome): store.Completion {
    const base = {
      deliveryId: c.id,
      attemptId: newId('attempt'),
      attemptNumber,
      trigger: attemptNumber === 1 ? c.trigger : 'retry',
      startedAt: outcome.startedAt,
      durationMs: outcome.durationMs,
      responseStatus: outcome.responseStatus,
      responseBody: outcome.responseBody,
      error: outcome.error,
    };
    if (outcome.ok) return { ...base, status: 'DELIVERED', retryInMs: null };
    if (outcome.responseStatus === 410 || outcome.noRetry) return { ...base, status: 'FAILED', retryInMs: null };
    const delay = nextDelay(this.config.retrySchedule, attemptNumber, outcome.retryAfterMs, this.config.maxRetryAfterMs);
    if (delay === null) return { ...base, status: 'FAILED', retryInMs: null };
    return { ...base, status: 'PENDING', retryInMs: delay };
  }

  /** Retries scheduled here wake this loop when due, without waiting for the next poll. */
  private wakeAt(at: number): void {
    if (at >= this.retryTimerAt) return;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimerAt = at;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      this.retryTimerAt = Infinity;
      this.wake();
    }, Math.max(0, at - Date.now()));
    this.retryTimer.unref();
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
      } catch (err) {
        backoff = Math.min(Math.max(100, backoff * 2), 5_000);
        this.log.error({ err, pending: this.completions.length, retryInMs: backoff }, 'recording outcomes failed; retrying');
        await new Promise((r) => setTimeout(r, backoff));
        if (this.stopping && backoff >= 5_000) break;
      }
    }
    this.flushing = null;
  }

  /** One statement for these outcomes; written ones leave the queue and are published. */
  private async writeOutcomes(part: Pending[]): Promise<void> {
    const recorded = await store.complete(this.db, this.owner, part.map((p) => p.completion), this.config.disableAfterMs);
    this.dequeue(part);
    this.outbox.publish(recorded);
    // A FIFO line's next delivery became claimable with this commit: claim it now, not at the next poll.
    if (part.some((p) => p.claimed.fifo && p.completion.status !== 'PENDING')) this.wake();
    for (const row of recorded) {
      for (const r of row.retired) {
        this.log.warn({ tenantId: row.tenantId, endpointId: r.endpointId, reason: r.reason }, 'endpoint disabled: every attempt failed for HOOKYARD_DISABLE_AFTER');
        this.endpointDisabled(row.tenantId, r.endpointId, r.reason);
      }
    }
    const done = new Set(recorded.flatMap((row) => row.changes.map((c) => c.deliveryId)));
    for (const p of part) {
      if (!done.has(p.completion.deliveryId)) {
        this.log.warn({ deliveryId: p.claimed.id, eventId: p.claimed.eventId }, 'outcome not recorded: the lease was lost to another instance');
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
    const c = p.completion;
    const ids = { deliveryId: c.deliveryId, eventId: p.claimed.eventId, endpointId: p.claimed.endpointId, attempt: c.attemptNumber };
    const reason = `outcome could not be stored (SQLSTATE ${store.sqlState(err)}); response body dropped`;
    this.log.error({ ...ids, err, responseStatus: c.responseStatus }, 'the database refused an outcome; recording it as a failed attempt');
    const fallback = this.outcomeToCompletion(p.claimed, c.attemptNumber, {
      ok: false, startedAt: c.startedAt, durationMs: c.durationMs ?? 0, responseStatus: c.responseStatus, responseBody: null, retryAfterMs: null, error: reason,
      // A delivery that was to end FAILED (e.g. webhook-retry: none) still does.
      noRetry: c.status === 'FAILED',
    });
    try {
      await this.writeOutcomes([{ claimed: p.claimed, completion: { ...fallback, attemptId: c.attemptId } }]);
      this.dequeue([p]);
      if (fallback.retryInMs !== null) this.wakeAt(Date.now() + fallback.retryInMs);
    } catch (again) {
      if (!store.isStatementError(again)) throw again;
      this.log.error({ ...ids, err: again }, 'the database refused the failed attempt too; leaving the delivery to lease expiry');
      this.dequeue([p]);
    }
  }

  private dequeue(part: Pending[]): void {
    const gone = new Set(part);
    let kept = 0;
    for (const p of this.completions) if (!gone.has(p)) this.completions[kept++] = p;
    this.completions.length = kept;
  }

  private change(c: store.Claimed, from: DeliveryStatusEvent['previousStatus'], to: DeliveryStatusEvent['status'], attemptId: string | null): DeliveryStatusEvent {
    return { deliveryId: c.id, endpointId: c.endpointId, eventId: c.eventId, previousStatus: from, status: to, attemptId, occurredAt: new Date().toISOString() };
  }

  private publish(claimed: store.Claimed[], changes: DeliveryStatusEvent[]): void {
    const byTenant = new Map<string, DeliveryStatusEvent[]>();
    changes.forEach((ch, i) => {
      const tenant = claimed[i]!.tenantId;
      const list = byTenant.get(tenant) ?? [];
      list.push(ch);
      byTenant.set(tenant, list);
    });
    for (const [tenant, list] of byTenant) publishStatusChanges(this.pubsub, tenant, list);
  }

  async stop(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    this.unsubscribe?.();
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.wake();
    this.log.info('dispatcher stopping: 1/4 claiming stopped');
    await this.loopDone;
    const deadline = Date.now() + this.config.shutdownGraceMs;
    while (this.inFlight.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    this.log.info({ unfinished: this.inFlight.size }, 'dispatcher stopping: 2/4 in-flight sends finished or deadline reached');
    for (const f of this.inFlight.values()) f.abort.abort();
    while (this.inFlight.size > 0) await new Promise((r) => setTimeout(r, 5));
    await this.flushing;
    this.log.info('dispatcher stopping: 3/4 outcomes recorded');
    const unsent = this.toRelease.splice(0);
    const released = new Set(
      await store.release(this.db, this.owner, unsent.map((c) => c.id)).catch((err: unknown) => {
        this.log.error({ err }, 'could not release deliveries; their leases will expire');
        return [];
      }),
    );
    const back = unsent.filter((c) => released.has(c.id));
    this.publish(back, back.map((c) => this.change(c, 'SENDING', 'PENDING', null)));
    await this.sender.close();
    this.log.info({ released: released.size }, 'dispatcher stopping: 4/4 unsent deliveries released; stopped');
  }
}
