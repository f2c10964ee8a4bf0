// "Deliveries are due now": wakes this instance's dispatcher at once and, on Postgres, every
// other instance's through LISTEN/NOTIFY. Instances that miss a signal still poll.
import pg from 'pg';
import { db, type Database } from '../db/client.js';
import type { Logger } from '../logger.js';

const CHANNEL = 'hookyard_work';

export interface WorkSignal {
  notify(): void;
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

  const listen = async (): Promise<void> => {
    if (closed || !database.connectionString) return;
    const client = new pg.Client({ connectionString: database.connectionString });
    client.on('notification', wake);
    client.on('error', (err) => {
      logger.warn({ err }, 'work signal connection lost; reconnecting');
      client.removeAllListeners('notification');
      listener = undefined;
      setTimeout(() => void listen().catch(() => {}), 1000).unref();
    });
    await client.connect();
    await client.query(`LISTEN ${CHANNEL}`);
    listener = client;
    wake(); // anything signalled while we were not listening
  };
  await listen();

  return {
    notify() {
      wake();
      if (!database.connectionString || notifyQueued) return;
      // Bursts of new work (a fan-out, a bulk replay) coalesce into one NOTIFY per tick.
      notifyQueued = true;
      setImmediate(() => {
        notifyQueued = false;
        db().$executeRawUnsafe(`NOTIFY ${CHANNEL}`).catch((err: unknown) => logger.warn({ err }, 'NOTIFY failed'));
      });
    },
    subscribe(fn) {
      listeners.add(fn);
      return () => listeners.delete(fn);
    },
    async close() {
      closed = true;
      listeners.clear();
      await listener?.end().catch(() => {});
    },
  };
}
