// Runs claimed deliveries: one attempt each (after the endpoint's rate limit allows it), in a
// tracing span, counted while in flight (globally and per endpoint) so the claim loop knows the
// capacity left. The policy decides what the outcome means; the recorder stores it. At shutdown
// it waits for the runs (up to a deadline), then aborts the rest and waits for them too.
import { LRUCache } from 'lru-cache';
import type { Config } from '../config.js';
import type { Logger } from '../logger.js';
import type { Metrics } from '../metrics.js';
import type { SecretBox } from '../security/secretBox.js';
import { inSpan, SpanStatusCode } from '../tracing.js';
import { decide, leaseExpiredOutcome } from './policy.js';
import { EndpointRateLimits } from './rateLimiter.js';
import type { Recorder } from './recorder.js';
import { ABORTED, type AttemptOutcome, type Sender } from './send.js';
import type * as store from './store.js';

export interface ExecutorDeps {
  config: Pick<Config, 'retrySchedule' | 'maxRetryAfterMs'>;
  log: Logger;
  metrics: Metrics;
  secretBox: SecretBox;
  sender: Sender;
  recorder: Recorder;
  /** A run ended its attempt; `stillOnEndpoint` are the runs left in flight to that endpoint. */
  onSlotFreed: (endpointId: string, stillOnEndpoint: number) => void;
}


export class Executor {
  readonly rateLimits = new EndpointRateLimits();
  /**
   * Sealed value (with its endpoint) → the secret in clear. Opening is an AES-GCM decrypt per
   * secret per delivery, the same few values over and over; the sealed value changes whenever the
   * secret does (rotation, re-seal), so an entry can never be stale. Bounded (oldest entry out
   * first); the values live only here and in the Outgoing handed to the sender, never in a log.
   */
  /** Opened secrets kept: enough for the endpoints a busy instance sends to at once. */
  private readonly openedSecrets = new LRUCache<string, string>({ max: 1024 });
  private readonly inFlight = new Set<string>();
  /**
   * Aborted when drain's grace runs out, with the sender's own abort(): what tells a run that its
   * failure was the shutdown's, and ends its wait for a rate limit. Nothing listens to it, so no
   * send carries a signal of its own (BENCHMARKS.md, the dispatcher's GC).
   */
  private readonly shutdown = new AbortController();
  private readonly perEndpoint = new Map<string, number>();
  /** Every run until it has handed its outcome to the recorder: what shutdown awaits. */
  private readonly runs = new Set<Promise<void>>();

  constructor(private readonly deps: ExecutorDeps) {}

  /** Deliveries whose attempt is under way. */
  get size(): number {
    return this.inFlight.size;
  }

  /** Attempts under way to this endpoint. */
  busy(endpointId: string): number {
    return this.perEndpoint.get(endpointId) ?? 0;
  }

  /** Endpoints with an attempt under way. */
  busyEndpoints(): Iterable<string> {
    return this.perEndpoint.keys();
  }

  begin(claimed: store.Claimed): void {
    this.inFlight.add(claimed.id);
    this.perEndpoint.set(claimed.endpointId, this.busy(claimed.endpointId) + 1);
    const run = this.run(claimed, this.shutdown.signal).catch((err: unknown) =>
      this.deps.log.error({ err, deliveryId: claimed.id }, 'delivery run failed; its lease will expire'),
    );
    this.runs.add(run);
    void run.finally(() => this.runs.delete(run));
  }

  /**
   * Waits for every run, at most `graceMs`; then aborts those still sending (they are released,
   * not counted as attempts) and waits for them to hand over. Returns how many were cut short.
   */
  async drain(graceMs: number): Promise<number> {
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, graceMs);
    });
    await Promise.race([Promise.allSettled(this.runs), deadline]);
    clearTimeout(timer);
    const unfinished = this.inFlight.size;
    if (unfinished > 0) {
      this.shutdown.abort();
      this.deps.sender.abort();
    }
    await Promise.allSettled(this.runs);
    return unfinished;
  }

  private end(claimed: store.Claimed): void {
    this.inFlight.delete(claimed.id);
    const n = this.busy(claimed.endpointId) - 1;
    if (n <= 0) this.perEndpoint.delete(claimed.endpointId);
    else this.perEndpoint.set(claimed.endpointId, n);
    this.deps.onSlotFreed(claimed.endpointId, Math.max(0, n));
  }

  private async run(c: store.Claimed, signal: AbortSignal): Promise<void> {
    const { log, metrics, config, recorder } = this.deps;
    const attemptNumber = c.attemptCount + 1;
    // Ids on every line, without a child logger per delivery (its bindings are serialised eagerly).
    const ids = { deliveryId: c.id, eventId: c.eventId, endpointId: c.endpointId, attempt: attemptNumber };
    let outcome: AttemptOutcome;
    try {
      outcome = c.previousStatus === 'SENDING' ? leaseExpiredOutcome(new Date()) : await this.attempt(c, attemptNumber, signal);
    } catch (err) {
      outcome = { ok: false, startedAt: new Date(), durationMs: 0, responseStatus: null, responseBody: null, retryAfterMs: null,
        error: signal.aborted ? ABORTED : `internal error: ${(err as Error).message}` };
    }
    this.end(c);
    if (signal.aborted && !outcome.ok && outcome.responseStatus === null) {
      // Shut down mid-send: hand it back untouched rather than count an attempt we cut short. An
      // answer that came in meanwhile (a 500, a 410) is an attempt like any other, recorded below.
      recorder.release(c);
      return;
    }
    const decision = decide(c, outcome, config, Math.random());
    metrics.attempt(outcome, outcome.durationMs, c.dueAt, outcome.startedAt);
    if (decision.status !== 'PENDING') metrics.finished(decision.status);
    if (outcome.ok) log.debug({ ...ids, status: outcome.responseStatus, ms: outcome.durationMs }, 'delivered');
    else log.info({ ...ids, status: outcome.responseStatus, error: outcome.error, next: decision.status, retryInMs: decision.retryInMs }, 'attempt failed');
    recorder.record(c, decision);
  }

  private openSecret(sealed: string, endpointId: string): string {
    const key = `${endpointId} ${sealed}`;
    let secret = this.openedSecrets.get(key);
    if (secret === undefined) {
      secret = this.deps.secretBox.open(sealed, endpointId);
      this.openedSecrets.set(key, secret);
    }
    return secret;
  }

  /** The HTTP attempt, once the endpoint's rate limit allows it. */
  private async attempt(c: store.Claimed, attemptNumber: number, signal: AbortSignal): Promise<AttemptOutcome> {
    const { sender } = this.deps;
    await this.rateLimits.take(c.endpointId, c.rateLimitPerSecond, signal);
    const body = JSON.stringify({ id: c.eventId, type: c.eventType, timestamp: c.eventCreatedAt.toISOString(), data: c.payload });
    const attrs = { 'hookyard.delivery.id': c.id, 'hookyard.event.id': c.eventId, 'hookyard.endpoint.id': c.endpointId, 'hookyard.attempt': attemptNumber, 'hookyard.delivery.trigger': c.trigger };
    return inSpan('hookyard.delivery.attempt', attrs, async (span) => {
      const o = await sender.send(
        { deliveryId: c.id, eventId: c.eventId, eventType: c.eventType, attemptNumber, url: c.url, headers: c.headers, secrets: c.secrets.map((s) => this.openSecret(s, c.endpointId)), body },
      );
      if (o.responseStatus !== null) span.setAttribute('http.response.status_code', o.responseStatus);
      if (!o.ok) span.setStatus({ code: SpanStatusCode.ERROR, message: o.error ?? 'attempt failed' });
      return o;
    }, { traceparent: c.traceparent });
  }
}
