// "Deliveries are due now": wakes this instance's dispatcher at once and, on Postgres, every
// other instance's through LISTEN/NOTIFY. Instances that miss a signal still poll.
import pg from 'pg';
import type { Database } from '../db/client.js';
import type { Logger } from '../logger.js';

/** The LISTEN/NOTIFY channel; sendEvent's statement notifies on it itself (domain/events.ts). */
export const WORK_CHANNEL = 'hookyard_work';

export interface WorkSignal {
  /**
   * Work is due now, or in `inMs` (deliveries whose first attempt waits the schedule's first entry).
   * `notified`: the statement that made the work due now already sent the NOTIFY (at its commit),
   * so only this instance's dispatcher is woken here.
   */
  notify(inMs?: number, notified?: boolean): void;
  /** Calls `fn` on every wake-up; returns the unsubscribe. */
  subscribe(fn: () => void): () => void;
  close(): Promise<void>;
}

export async function createWorkSignal(database: Database, logger: Logger): Promise<WorkSignal> {
  const listeners = new Set<() => void>();
  const wake = () => {
    for (const fn of listeners) fn();
  };
  let closed = false;
  let listener: pg.Client | undefined;
  let notifyQueued = false;
  let failures = 0;
  /** The connection was lost and not yet replaced. */
  let down = false;
  let retryTimer: NodeJS.Timeout | undefined;

  const listen = async (): Promise<void> => {
    if (closed || !database.connectionString) return;
    const client = new pg.Client({ connectionString: database.connectionString });
    let lost = false;
    // A listener that dies (restart, network) is replaced; until then the dispatcher still polls.
    const onLost = (err?: Error) => {
      if (lost) return;
      lost = true;
      client.removeAllListeners('notification');
      client.end().catch(() => {});
      if (closed || listener !== client) return; // shutting down, or still connecting: listen()'s caller handles the failure
      listener = undefined;
      down = true;
      logger.warn({ err }, 'work signal connection lost; reconnecting');
      retry();
    };
    client.on('notification', wake);
    client.on('error', onLost);
    client.on('end', () => onLost());
    try {
      await client.connect();
      await client.query(`LISTEN ${WORK_CHANNEL}`);
    } catch (err) {
      lost = true;
      client.removeAllListeners('notification');
      await client.end().catch(() => {});
      throw err;
    }
    if (closed) {
      await client.end().catch(() => {});
      return;
    }
    listener = client;
    if (down) logger.info({ failedAttempts: failures }, 'work signal listening again');
    down = false;
    failures = 0;
    wake(); // anything signalled while we were not listening
  };

  // Reconnects until it succeeds, 250 ms doubling to 10 s between attempts: never gives up,
  // or this instance would silently fall back to polling for good.
  const backoffMs = () => Math.min(10_000, 250 * 2 ** Math.min(failures, 6));
  const retry = () => {
    if (closed) return;
    retryTimer = setTimeout(() => {
      retryTimer = undefined;
      listen().catch((err: unknown) => {
        failures++;
        logger.warn({ err, failedAttempts: failures, retryInMs: backoffMs() }, 'work signal reconnect failed; retrying');
        retry();
      });
    }, backoffMs());
    retryTimer.unref();
  };
  await listen();

  // Signals for work due later, so a long poll interval does not delay first attempts. Timers
  // share 100 ms slots (a fan-out's jittered delays make one timer per slot, not per delivery);
  // a slot fires after its due time, never before (the database took its clock at the insert).
  const dueTimers = new Map<number, NodeJS.Timeout>();
  const later = (inMs: number) => {
    const slot = Math.ceil((Date.now() + inMs) / 100) * 100;
    if (closed || dueTimers.has(slot)) return;
    const timer = setTimeout(() => {
      dueTimers.delete(slot);
      signal.notify();
    }, slot - Date.now());
    timer.unref();
    dueTimers.set(slot, timer);
  };

  const signal: WorkSignal = {
    notify(inMs = 0, notified = false) {
      if (inMs > 0) return later(inMs);
      wake();
      if (notified || !database.connectionString || notifyQueued) return;
      // Bursts of new work (a fan-out, a bulk replay) coalesce into one NOTIFY per tick.
      notifyQueued = true;
      setImmediate(() => {
        notifyQueued = false;
        // Through the pg pool directly (Database.query). sendEvent's statement sends its own
        // (domain/events.ts); this one is for replays and work coming due later.
        database.query(`NOTIFY ${WORK_CHANNEL}`, []).catch((err: unknown) => logger.warn({ err }, 'NOTIFY failed'));
      });
    },
    subscribe(fn) {
      listeners.add(fn);
      return () => listeners.delete(fn);
    },
    async close() {
      closed = true;
      listeners.clear();
      if (retryTimer) clearTimeout(retryTimer);
      for (const t of dueTimers.values()) clearTimeout(t);
      dueTimers.clear();
      await listener?.end().catch(() => {});
    },
  };
  return signal;
}
