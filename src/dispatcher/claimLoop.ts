// The claim loop: claims as many due deliveries as there is room for (globally, per endpoint, and
// within each endpoint's rate-limit tokens) and hands them to the executor. It takes over expired
// leases now and then, backs off on errors, and sleeps until the next poll unless woken sooner:
// new work (the work signal), a retry coming due (a timer), or slots freeing up.
import type { Config } from '../config.js';
import type { RawQuery } from '../db/client.js';
import type { Logger } from '../logger.js';
import type { Executor } from './executor.js';
import type { Recorder } from './recorder.js';
import * as store from './store.js';

const MAX_BATCH = 100;

export interface ClaimLoopDeps {
  config: Pick<Config, 'dispatchConcurrency' | 'endpointConcurrency' | 'leaseMs' | 'pollIntervalMs'>;
  /** The pg pool directly on PostgreSQL (db/client.ts): these statements run several times a second. */
  sql: RawQuery;
  log: Logger;
  owner: string;
  executor: Executor;
  recorder: Recorder;
}

export class ClaimLoop {
  private done: Promise<void> | null = null;
  private stopping = false;
  private woken = false;
  private wakeSleeper: (() => void) | null = null;
  /** The last claim was cut short by the global limit: claim again when slots free up. */
  private globalLimited = false;
  /**
   * Endpoints the last claim filled (it took every slot they had free, or they had none): more
   * may be due on them, so a slot freeing up there calls for a claim.
   */
  private saturated = new Set<string>();
  /** The last cycle claimed less, or nothing, because outcomes were waiting to be written. */
  private heldByOutcomes = false;
  /** A claim is running: slots freed meanwhile are judged once it returns (see loop()). */
  private claiming = false;
  private readonly freedWhileClaiming = new Set<string>();
  private nextTakeoverAt = 0;
  private retryTimer: NodeJS.Timeout | null = null;
  private retryTimerAt = Infinity;

  constructor(private readonly deps: ClaimLoopDeps) {}

  start(): void {
    this.done ??= this.loop();
  }

  /** Claims now (new work, a freed slot, a retry coming due) instead of at the next poll. */
  wake(): void {
    this.woken = true;
    this.wakeSleeper?.();
  }

  /** Wakes the loop when a retry scheduled `inMs` from now comes due, without waiting for the next poll. */
  wakeIn(inMs: number): void {
    if (this.stopping) return;
    const at = Date.now() + inMs;
    if (at >= this.retryTimerAt) return;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimerAt = at;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      this.retryTimerAt = Infinity;
      this.wake();
    }, Math.max(0, inMs));
    this.retryTimer.unref();
  }

  /**
   * A run finished its attempt. Claim again once a quarter of the slots are free (globally, or of
   * a held-back endpoint), not per freed slot: a claim per delivery would cost a query per delivery.
   */
  slotFreed(endpointId: string, stillOnEndpoint: number): void {
    const { dispatchConcurrency, endpointConcurrency } = this.deps.config;
    const quarter = (n: number) => Math.max(1, Math.floor(n / 4));
    if (this.claiming) {
      this.freedWhileClaiming.add(endpointId);
      return;
    }
    if (this.globalLimited && dispatchConcurrency - this.deps.executor.size >= quarter(dispatchConcurrency)) {
      this.wake();
    } else if (this.saturated.has(endpointId) && endpointConcurrency - stillOnEndpoint >= quarter(endpointConcurrency)) {
      this.saturated.delete(endpointId);
      this.wake();
    }
  }

  /** The recorder wrote outcomes: if they were what held claims back, claim now. */
  outcomesWritten(): void {
    if (this.heldByOutcomes) this.wake();
  }

  /** Stops claiming; resolves once the loop has left its last cycle. */
  async stop(): Promise<void> {
    this.stopping = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = null;
    this.wake();
    await this.done;
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
    const { config, sql, log, owner, executor, recorder } = this.deps;
    let backoff = 0;
    while (!this.stopping) {
      try {
        if (Date.now() >= this.nextTakeoverAt) {
          this.nextTakeoverAt = Date.now() + Math.max(1000, config.leaseMs / 4);
          const taken = await store.takeOverExpired(sql, owner, config.leaseMs, MAX_BATCH);
          if (taken.length > 0) log.warn({ count: taken.length }, 'took over deliveries whose lease expired');
          for (const c of taken) executor.begin(c);
        }
        // Outcomes waiting for their write beyond one concurrency's worth take slots too: a
        // database that falls behind on writing them slows claiming down to its pace, instead of
        // leaving ever more sent deliveries in memory with their leases running out. At 3,800
        // deliveries/s about 30 wait at a time (a 5 ms linger and the statement), well inside it.
        const backlog = Math.max(0, recorder.waiting - config.dispatchConcurrency);
        const free = config.dispatchConcurrency - executor.size - backlog;
        this.woken = false;
        if (free <= 0) {
          this.heldByOutcomes = backlog > 0;
          this.globalLimited = true;
          await this.sleep(config.pollIntervalMs);
          continue;
        }
        const want = Math.min(free, MAX_BATCH);
        const busy = this.capacities();
        this.claiming = true;
        let claimed: store.Claimed[];
        try {
          claimed = await store.claimDue(sql, owner, config.leaseMs, want, config.endpointConcurrency, busy);
        } finally {
          this.claiming = false;
        }
        backoff = 0;
        for (const c of claimed) executor.begin(c);
        recorder.claimed(claimed);
        // A full batch: more may be due as soon as slots free (or outcomes are written, when
        // waiting ones made the batch smaller; a short batch means nothing more was due).
        this.globalLimited = claimed.length === want;
        this.heldByOutcomes = backlog > 0 && claimed.length === want;
        // Endpoints this claim filled, not only those already full before it: an endpoint the claim
        // just filled must wake the loop as its slots free too, or its backlog drains at one claim
        // per poll (test/api/backlog.test.ts).
        this.saturated = filled(busy, claimed, config.endpointConcurrency);
        this.wakeForTokens();
        const missed = [...this.freedWhileClaiming].some((id) => this.saturated.has(id));
        this.freedWhileClaiming.clear();
        if (claimed.length === want || missed) continue;
        await this.sleep(config.pollIntervalMs);
      } catch (err) {
        backoff = Math.min(Math.max(100, backoff * 2), 10_000);
        log.error({ err, retryInMs: backoff }, 'dispatch cycle failed; backing off');
        this.woken = false;
        await this.sleep(backoff);
      }
    }
  }

  /**
   * Endpoints the claim filled for want of rate-limit tokens (not of slots) are claimed again when
   * their tokens are back, not at the next poll: a backlog on a limited endpoint otherwise went out
   * in bursts, one second's worth per poll. Runs after the claimed runs began: they took their
   * tokens synchronously. An endpoint with nothing more due costs one claim, then leaves the set.
   */
  private wakeForTokens(): void {
    const { config, executor } = this.deps;
    let soonest = Infinity;
    for (const endpointId of this.saturated) {
      const tokens = executor.rateLimits.available(endpointId);
      if (tokens === undefined || tokens >= config.endpointConcurrency - executor.busy(endpointId)) continue;
      soonest = Math.min(soonest, executor.rateLimits.msUntilRefill(endpointId));
    }
    if (soonest < Infinity) this.wakeIn(soonest);
  }

  /** Endpoints this instance must hold back: busy ones, and rate-limited ones short of tokens. */
  private capacities(): store.EndpointCapacity[] {
    const { config, executor } = this.deps;
    const ids = new Set([...executor.busyEndpoints(), ...executor.rateLimits.limitedEndpoints()]);
    const out: store.EndpointCapacity[] = [];
    for (const endpointId of ids) {
      const free = Math.min(config.endpointConcurrency - executor.busy(endpointId), executor.rateLimits.available(endpointId) ?? Infinity);
      if (free < config.endpointConcurrency) out.push({ endpointId, free: Math.max(0, free) });
    }
    return out;
  }
}

/** Endpoints left with no free slot by this claim: it took all they offered, or they offered none. */
function filled(offered: store.EndpointCapacity[], claimed: store.Claimed[], perEndpoint: number): Set<string> {
  const free = new Map(offered.map((b) => [b.endpointId, b.free]));
  const taken = new Map<string, number>();
  for (const c of claimed) taken.set(c.endpointId, (taken.get(c.endpointId) ?? 0) + 1);
  const out = new Set(offered.filter((b) => b.free <= 0).map((b) => b.endpointId));
  for (const [endpointId, n] of taken) if (n >= (free.get(endpointId) ?? perEndpoint)) out.add(endpointId);
  return out;
}
