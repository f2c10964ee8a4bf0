// The delivery loop, composed of four parts with one job each: the claim loop (what to claim and
// when), the executor (one attempt per claimed delivery, within concurrency and rate limits), the
// policy (what an outcome means: a pure function) and the recorder (batched writes, outbox,
// publishing). It stops in a fixed order: stop claiming, let sends finish (up to a deadline),
// abort and release the rest, flush the outcomes.
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { OutboxRelay } from '../domain/outbox.js';
import type { Logger } from '../logger.js';
import type { Services } from '../services.js';
import { ClaimLoop } from './claimLoop.js';
import { Executor } from './executor.js';
import { Recorder, type RecorderDeps } from './recorder.js';
import { createSender, type Sender } from './send.js';
import { createThreadedSender } from './threadedSender.js';
import type { WorkSignal } from './workSignal.js';

/** What the app shares with resolvers (its database client among them), plus the dispatcher's own parts. */
export interface DispatcherDeps extends Pick<Services, 'config' | 'sql' | 'logger' | 'metrics' | 'secretBox' | 'pubsub'> {
  outbox: OutboxRelay;
  workSignal: WorkSignal;
  sender?: Sender;
  /** See RecorderDeps.onOperational: the facts the outcome statement decided, for the app to emit. */
  onOperational?: RecorderDeps['onOperational'];
}

export class Dispatcher {
  readonly owner = `${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;
  private readonly deps: DispatcherDeps;
  private readonly log: Logger;
  /** The HTTP sender: in-thread, or HOOKYARD_DISPATCH_THREADS worker threads (tests reach its threads). */
  readonly sender: Sender;
  private readonly recorder: Recorder;
  private readonly executor: Executor;
  private readonly claims: ClaimLoop;
  private readonly unsubscribe: () => void;
  private started = false;
  private stopping = false;

  constructor(deps: DispatcherDeps) {
    const { config, sql, metrics, secretBox, pubsub, outbox, onOperational } = deps;
    this.deps = deps;
    const log = (this.log = deps.logger.child({ component: 'dispatcher', owner: this.owner }));
    const owner = this.owner;
    const sendOptions = { timeoutMs: config.deliveryTimeoutMs, allowPrivateTargets: config.allowPrivateTargets };
    this.sender = deps.sender
      ?? (config.dispatchThreads > 0 ? createThreadedSender({ ...sendOptions, threads: config.dispatchThreads, log }) : createSender(sendOptions));
    this.recorder = new Recorder({ config, sql, log, pubsub, outbox, owner, onOperational, onRetryScheduled: (inMs) => this.claims.wakeIn(inMs), wakeClaims: () => this.claims.wake(),
      onWritten: () => this.claims.outcomesWritten() });
    this.executor = new Executor({
      config, log, metrics, secretBox, sender: this.sender, recorder: this.recorder,
      onSlotFreed: (endpointId, stillOnEndpoint) => this.claims.slotFreed(endpointId, stillOnEndpoint),
    });
    this.claims = new ClaimLoop({ config, sql, log, owner, executor: this.executor, recorder: this.recorder });
    metrics.outcomesWaiting(() => this.recorder.waiting);
    this.unsubscribe = deps.workSignal.subscribe(() => this.wake());
  }

  start(): void {
    if (this.started) return;
    this.started = true;
    const { dispatchConcurrency, dispatchThreads } = this.deps.config;
    // No claim before the sender can send: send threads take a while to load (seconds on a busy
    // machine), and that wait would come out of each claimed delivery's lease.
    void (this.sender.ready?.() ?? Promise.resolve()).then(() => {
      if (this.stopping) return;
      this.log.info({ concurrency: dispatchConcurrency, sendThreads: dispatchThreads }, 'dispatcher started');
      this.claims.start();
    });
  }

  /** Wakes the loop now (new work, a freed slot, a retry coming due). */
  wake(): void {
    this.claims.wake();
  }

  get inFlightCount(): number {
    return this.executor.size;
  }

  async stop(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    this.unsubscribe();
    this.log.info('dispatcher stopping: 1/4 claiming stopped');
    await this.claims.stop();
    const unfinished = await this.executor.drain(this.deps.config.shutdownGraceMs);
    this.log.info({ unfinished }, 'dispatcher stopping: 2/4 in-flight sends finished or deadline reached');
    const { released } = await this.recorder.stop();
    // The gauge stops reading this recorder (and holding it).
    this.deps.metrics.outcomesWaiting(() => 0);
    await this.sender.close();
    this.log.info({ released }, 'dispatcher stopping: 4/4 unsent deliveries released; stopped');
  }
}
