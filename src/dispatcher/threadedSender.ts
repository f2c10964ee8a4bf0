// HOOKYARD_DISPATCH_THREADS=N: the HTTP attempts (ky, undici, signing) run in N worker threads,
// each with its own createSender, so one dispatcher process can use more than one core for the
// part of a delivery that costs the most CPU. The main thread keeps claiming, deciding and
// recording; each Outgoing goes to the thread with the fewest sends in flight.
//
// Hand-written rather than piscina or tinypool: a send thread here runs hundreds of sends at once
// over shared keep-alive connections, and they cross between threads in batches (one message per
// event-loop turn, not one per task). The only abort is shutdown's, which ends them all: one
// message has each thread's sender abort (their outcomes come back as aborted). A thread
// that exits or crashes fails its own sends (error outcomes: the executor records them as failed
// attempts and retries them) and is replaced.
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { Logger } from '../logger.js';
import { ABORTED, type AttemptOutcome, type Outgoing, type Sender } from './send.js';
import type { FromThread, Ready, SendThreadOptions, ToThread } from './sendWorker.js';

/** A thread that dies sooner than this after starting is replaced after this delay, not at once. */
const RESTART_BACKOFF_MS = 1000;

export interface ThreadedSender extends Sender {
  /** The live threads (tests stop one mid-send). */
  readonly threads: readonly Worker[];
  ready(): Promise<void>;
  /** Tests only: makes thread `i` call process.exit(code), as a thread crashing mid-send would. */
  crashThread(i: number, code?: number): void;
}

interface Pending {
  resolve: (o: AttemptOutcome) => void;
  reject: (err: Error) => void;
  startedAt: Date;
  t0: number;
}

interface Slot {
  worker: Worker | null;
  /** Its thread said it is ready (a replacement's too); the first time, `up` resolves. */
  ready: boolean;
  up: Promise<void>;
  markUp: () => void;
  startedAt: number;
  pending: Map<number, Pending>;
  outbox: ToThread[];
}

const failed = (p: Pending, error: string): AttemptOutcome => ({
  ok: false, startedAt: p.startedAt, durationMs: Math.round(performance.now() - p.t0),
  responseStatus: null, responseBody: null, error, retryAfterMs: null,
});

/**
 * How a thread starts: the compiled sendWorker.js beside this file in dist/; from the sources
 * (tsx, vitest), sendWorker.ts through tsx's register API. tsx's own `--import` loader, inherited
 * in execArgv, does not load .ts files in a worker thread on Node 20 (ERR_UNKNOWN_FILE_EXTENSION).
 */
function spawn(workerData: SendThreadOptions): Worker {
  const options = { workerData, name: 'hookyard-send' };
  if (!import.meta.url.endsWith('.ts')) return new Worker(new URL('./sendWorker.js', import.meta.url), options);
  // The ESM build of tsx's API (its CommonJS build registers hooks by a path that does not resolve).
  const tsx = new URL('./dist/esm/api/index.mjs', pathToFileURL(createRequire(import.meta.url).resolve('tsx/package.json'))).href;
  const entry = new URL('./sendWorker.ts', import.meta.url).href;
  const boot = `import(${JSON.stringify(tsx)}).then((tsx) => { tsx.register(); return import(${JSON.stringify(entry)}); })`;
  return new Worker(boot, { ...options, eval: true });
}

export function createThreadedSender(opts: SendThreadOptions & { threads: number; log?: Logger }): ThreadedSender {
  const { threads, log, ...threadOptions } = opts;
  const slots: Slot[] = [];
  let nextId = 1;
  let closing = false;
  let aborted = false;

  // A slot whose thread is restarting keeps its outbox for the new thread.
  const flush = (slot: Slot) => {
    if (!slot.worker || slot.outbox.length === 0) return;
    const batch = slot.outbox;
    slot.outbox = [];
    slot.worker.postMessage(batch);
  };
  const post = (slot: Slot, m: ToThread) => {
    if (slot.outbox.length === 0) setImmediate(() => flush(slot));
    slot.outbox.push(m);
  };

  const settle = (slot: Slot, id: number): Pending | undefined => {
    const p = slot.pending.get(id);
    if (!p) return undefined;
    slot.pending.delete(id);
    return p;
  };

  const start = (slot: Slot) => {
    const worker = spawn(threadOptions);
    slot.worker = worker;
    slot.ready = false;
    slot.startedAt = performance.now();
    if (slot.outbox.length > 0) setImmediate(() => flush(slot));
    worker.on('message', (batch: FromThread[] | Ready) => {
      if (batch === 'ready') {
        slot.ready = true;
        slot.markUp();
        return;
      }
      for (const m of batch) {
        const p = settle(slot, m.id);
        if (!p) continue;
        if (m.error === undefined) p.resolve(m.outcome);
        else p.reject(new Error(m.error));
      }
    });
    worker.on('error', (err) => log?.error({ err, threadId: worker.threadId }, 'send thread failed'));
    worker.on('exit', (code) => {
      if (slot.worker !== worker) return;
      slot.worker = null;
      // Sends still in the outbox never reached the thread: they wait for its replacement. Those
      // it had may or may not have reached the receiver: failed attempts, retried on the schedule.
      const queued = new Set(slot.outbox.flatMap((m) => (m.t === 'send' ? [m.id] : [])));
      const lost = [...slot.pending.keys()].filter((id) => !queued.has(id));
      for (const id of lost) {
        const p = settle(slot, id)!;
        p.resolve(failed(p, aborted ? ABORTED : `send thread exited (code ${code}) during the attempt`));
      }
      if (closing) {
        for (const id of [...slot.pending.keys()]) {
          const p = settle(slot, id)!;
          p.resolve(failed(p, 'sender closed'));
        }
        slot.outbox = [];
        return;
      }
      log?.error({ code, inFlight: lost.length }, 'send thread exited; its sends are recorded as failed attempts; starting another');
      const soon = performance.now() - slot.startedAt < RESTART_BACKOFF_MS;
      if (soon) setTimeout(() => closing || start(slot), RESTART_BACKOFF_MS).unref();
      else start(slot);
    });
  };

  if (threads < 1) throw new Error('createThreadedSender needs at least one thread');
  for (let i = 0; i < threads; i++) {
    let markUp = () => {};
    const up = new Promise<void>((resolve) => (markUp = resolve));
    const slot: Slot = { worker: null, ready: false, up, markUp, startedAt: 0, pending: new Map(), outbox: [] };
    slots.push(slot);
    start(slot);
  }

  // A thread that is up if there is one; else a starting or restarting one, whose outbox waits for it.
  const leastBusy = (): Slot => {
    let best = slots[0]!;
    for (const s of slots) if ((s.ready && !best.ready) || (s.ready === best.ready && s.pending.size < best.pending.size)) best = s;
    return best;
  };

  return {
    get threads() {
      return slots.flatMap((s) => (s.worker ? [s.worker] : []));
    },
    async ready() {
      await Promise.all(slots.map((s) => s.up));
    },
    crashThread(i, code = 1) {
      const slot = slots[i];
      if (slot?.worker) slot.worker.postMessage([{ t: 'exit', code } satisfies ToThread]);
    },
    send(out: Outgoing): Promise<AttemptOutcome> {
      return new Promise((resolve, reject) => {
        const p: Pending = { resolve, reject, startedAt: new Date(), t0: performance.now() };
        if (aborted) return resolve(failed(p, ABORTED));
        if (closing) return resolve(failed(p, 'sender closed'));
        const slot = leastBusy();
        const id = nextId++;
        slot.pending.set(id, p);
        post(slot, { t: 'send', id, out });
      });
    },
    abort() {
      if (aborted) return;
      aborted = true;
      // After the sends already queued to each thread. A restarting thread's replacement gets it
      // too, with the sends that waited for it: they end once it has loaded, not at once.
      for (const slot of slots) post(slot, { t: 'abort' });
    },
    async close() {
      closing = true;
      await Promise.all(slots.map((s) => s.worker?.terminate()));
      // What waited for a restarting thread (its exit has been handled already).
      for (const slot of slots) {
        for (const id of [...slot.pending.keys()]) {
          const p = settle(slot, id)!;
          p.resolve(failed(p, 'sender closed'));
        }
        slot.outbox = [];
      }
    },
  };
}
