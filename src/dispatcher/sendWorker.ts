// The inside of one send thread (threadedSender.ts): the same createSender as the main thread,
// so the SSRF guard, signing, timeouts and error texts are the main thread's own. Messages come
// and go in batches (one postMessage per batch, not per delivery): at thousands of sends a
// second, the per-message cost of crossing threads is what a batch saves.
import { parentPort, workerData } from 'node:worker_threads';
import { type AttemptOutcome, createSender, type Outgoing } from './send.js';

export interface SendThreadOptions {
  timeoutMs: number;
  allowPrivateTargets: boolean;
  userAgent?: string;
}

export type ToThread = { t: 'send'; id: number; out: Outgoing } | { t: 'abort' } | { t: 'exit'; code: number };
/** An outcome, or what send() threw (the main thread rethrows it, as its own send would have). */
export type FromThread = { id: number; outcome: AttemptOutcome; error?: undefined } | { id: number; error: string };
/** The thread's first message, once its modules are loaded: it can send now. */
export type Ready = 'ready';

const port = parentPort;
if (!port) throw new Error('sendWorker.ts runs only as a worker thread (threadedSender.ts starts it)');
const sender = createSender(workerData as SendThreadOptions);
let outbox: FromThread[] = [];

const flush = () => {
  const batch = outbox;
  outbox = [];
  port.postMessage(batch);
};

async function run(id: number, out: Outgoing): Promise<void> {
  let answer: FromThread;
  try {
    answer = { id, outcome: await sender.send(out) };
  } catch (err) {
    answer = { id, error: err instanceof Error ? err.message : String(err) };
  }
  if (outbox.length === 0) setImmediate(flush);
  outbox.push(answer);
}

port.on('message', (batch: ToThread[]) => {
  for (const m of batch) {
    if (m.t === 'send') void run(m.id, m.out);
    else if (m.t === 'abort') sender.abort();
    // Only the tests send this: a thread that dies in the middle of its sends.
    else if (m.t === 'exit') process.exit(m.code);
  }
});
port.postMessage('ready' satisfies Ready);
