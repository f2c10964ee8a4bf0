// Prometheus metrics (prom-client). One registry per app, not prom-client's global one: tests run
// several apps in one process, and each must count only its own work. Labels never carry tenant
// ids, endpoint ids or URLs (their number is unbounded; a scrape would grow with every tenant).
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

/** How one attempt ended, as a bounded label set. */
export type AttemptOutcomeLabel = 'success' | 'http_error' | 'timeout' | 'network_error' | 'blocked';

export interface AttemptFacts {
  ok: boolean;
  responseStatus: number | null;
  error: string | null;
  /** Classification the sender made, when it made one (kept over the text heuristics below). */
  kind?: AttemptOutcomeLabel;
}

/** Maps an attempt to its label; the sender's error texts are ours (src/dispatcher/send.ts). */
export function outcomeLabel(a: AttemptFacts): AttemptOutcomeLabel {
  if (a.kind) return a.kind;
  if (a.ok) return 'success';
  if (a.responseStatus !== null) return 'http_error';
  const error = a.error ?? '';
  if (error.startsWith('timeout')) return 'timeout';
  if (error.startsWith('blocked target')) return 'blocked';
  return 'network_error';
}

export interface MetricsOptions {
  /** Counts PENDING deliveries in the database; called at most once per `pendingCacheMs`. */
  countPending?: () => Promise<number>;
  pendingCacheMs?: number;
  /** Node's default process metrics (off in unit tests that build many registries). */
  defaultMetrics?: boolean;
}

export class Metrics {
  readonly registry = new Registry();
  private readonly attempts: Counter<'outcome'>;
  private readonly attemptDuration: Histogram<'outcome'>;
  private readonly lag: Histogram;
  private readonly ingested: Counter;
  private readonly deliveriesCreated: Counter<'trigger'>;
  private readonly finals: Counter<'status'>;
  private readonly subscribers: Gauge;
  private readonly subscriptionGroups: Gauge;
  /** The latest subscription counts, as the shared subscriptions reported them. */
  subscriptionStats = { subscribers: 0, groups: 0, started: 0 };
  private pendingCache: { value: number; at: number } | undefined;
  /** The dispatcher's recorder queue, once a dispatcher runs in this process. */
  private readOutcomesWaiting: (() => number) | undefined;
  private pendingRead: Promise<number> | undefined;

  constructor(options: MetricsOptions = {}) {
    const registers = [this.registry];
    if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: this.registry });
    this.attempts = new Counter({
      name: 'hookyard_delivery_attempts_total',
      help: 'Delivery attempts by outcome.',
      labelNames: ['outcome'],
      registers,
    });
    // Pre-set every label so a scrape shows zeros instead of missing series (rate() needs them).
    for (const o of ['success', 'http_error', 'timeout', 'network_error', 'blocked'] as const) this.attempts.inc({ outcome: o }, 0);
    this.attemptDuration = new Histogram({
      name: 'hookyard_delivery_attempt_duration_seconds',
      help: 'Time from the start of an attempt to its outcome.',
      labelNames: ['outcome'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    });
    this.lag = new Histogram({
      name: 'hookyard_delivery_lag_seconds',
      help: 'Time from when an attempt was due to when it was sent.',
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
      registers,
    });
    this.ingested = new Counter({ name: 'hookyard_events_ingested_total', help: 'Events accepted by sendEvent (duplicates excluded).', registers });
    this.deliveriesCreated = new Counter({
      name: 'hookyard_deliveries_created_total',
      help: 'Deliveries created, by why they exist (event, replay, test).',
      labelNames: ['trigger'],
      registers,
    });
    this.finals = new Counter({
      name: 'hookyard_deliveries_finished_total',
      help: 'Deliveries that reached a final status.',
      labelNames: ['status'],
      registers,
    });
    this.subscribers = new Gauge({ name: 'hookyard_graphql_subscribers', help: 'GraphQL subscriptions listening (graphql-ws and SSE).', registers });
    this.subscriptionGroups = new Gauge({
      name: 'hookyard_graphql_subscription_groups',
      help: 'Shared executions serving them: one per (caller, document, variables).',
      registers,
    });
    const countPending = options.countPending;
    const cacheMs = options.pendingCacheMs ?? 5_000;
    if (countPending) {
      const self = this;
      new Gauge({
        name: 'hookyard_deliveries_pending',
        help: `Deliveries waiting to be sent (PENDING), read from the database at most every ${cacheMs / 1000} s.`,
        registers,
        async collect() {
          this.set(await self.pending(countPending, cacheMs));
        },
      });
    }
  }

  /** Where the outcomes-waiting gauge reads from: the dispatcher of this process. */
  outcomesWaiting(read: () => number): void {
    if (!this.readOutcomesWaiting) {
      const self = this;
      new Gauge({
        name: 'hookyard_dispatch_outcomes_waiting',
        help: 'Attempt outcomes sent but not yet written to the database. Claiming slows down once they exceed the dispatch concurrency.',
        registers: [this.registry],
        collect() {
          this.set(self.readOutcomesWaiting?.() ?? 0);
        },
      });
    }
    this.readOutcomesWaiting = read;
  }

  // Scrapes from several Prometheis (or a curl loop) share one count query per cache window.
  private async pending(count: () => Promise<number>, cacheMs: number): Promise<number> {
    if (this.pendingCache && Date.now() - this.pendingCache.at < cacheMs) return this.pendingCache.value;
    this.pendingRead ??= count()
      .then((value) => {
        this.pendingCache = { value, at: Date.now() };
        return value;
      })
      .finally(() => {
        this.pendingRead = undefined;
      });
    return this.pendingRead;
  }

  attempt(facts: AttemptFacts, durationMs: number, dueAt: Date | null, sentAt: Date): void {
    const outcome = outcomeLabel(facts);
    this.attempts.inc({ outcome });
    this.attemptDuration.observe({ outcome }, durationMs / 1000);
    if (dueAt) this.lag.observe(Math.max(0, (sentAt.getTime() - dueAt.getTime()) / 1000));
  }

  subscriptions(stats: { subscribers: number; groups: number; started: number }): void {
    this.subscriptionStats = { ...stats };
    this.subscribers.set(stats.subscribers);
    this.subscriptionGroups.set(stats.groups);
  }

  finished(status: 'DELIVERED' | 'FAILED'): void {
    this.finals.inc({ status });
  }

  eventsIngested(n = 1): void {
    this.ingested.inc(n);
  }

  deliveriesQueued(trigger: string, n: number): void {
    if (n > 0) this.deliveriesCreated.inc({ trigger }, n);
  }

  async render(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }
}
