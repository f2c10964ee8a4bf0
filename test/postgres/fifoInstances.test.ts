// FIFO across instances: two dispatcher processes on one PostgreSQL keep each FIFO endpoint's line
// in order, one delivery at a time, retries holding the line. Nothing is ordered in memory: the
// claim statement offers only the head of a line (src/dispatcher/store.ts, claimDue).
import { describe, expect, it } from 'vitest';
import { CreateEndpoint, SendEvent } from '../helpers/operations.js';
import { REDIS_URL } from '../helpers/db.js';
import { deliveredWithLeaseOwners, startInstance, useInstances } from '../helpers/instances.js';
import type { Reply } from '../helpers/receiver.js';

const f = useInstances();

const LINES = 3;
const EVENTS = 15;
/** Attempts that fail, per event number (the same in every line): retries must hold the line. */
const FAILS: Record<number, number> = { 2: 1, 7: 2, 11: 1 };

describe('FIFO endpoints with two dispatchers', () => {
  it('keep every line in order, one delivery at a time, while both instances claim', async () => {
    const attempts = new Map<string, number>();
    f.rx.respond((req): Reply => {
      const { i } = (JSON.parse(req.body) as { data: { i: number } }).data;
      const key = `${req.path}:${i}`;
      const attempt = (attempts.get(key) ?? 0) + 1;
      attempts.set(key, attempt);
      // The receiver's own work: overlapping sends on a line would show in f.rx.maxHeld.
      return { status: attempt <= (FAILS[i] ?? 0) ? 500 : 200, delayMs: 25 };
    });
    const endpointIds: string[] = [];
    for (let l = 0; l < LINES; l++) {
      const r = await f.api.ok(CreateEndpoint, { input: { url: `${f.rx.url}/line/${l}`, eventTypes: ['ordered'], fifo: true } });
      endpointIds.push(r.createEndpoint.endpoint.id);
    }
    for (let i = 1; i <= EVENTS; i++) await f.api.ok(SendEvent, { input: { eventType: 'ordered', payload: { i } } });

    const env = {
      DATABASE_URL: f.database.databaseUrl!,
      REDIS_URL,
      HOOKYARD_ROLE: 'dispatcher',
      HOOKYARD_POLL_INTERVAL_MS: '50',
      HOOKYARD_RETRY_SCHEDULE: '0s,100ms,100ms,100ms',
      HOOKYARD_DELIVERY_TIMEOUT_MS: '2000',
      HOOKYARD_LEASE_MS: '3000',
    };
    f.instances.push(...(await Promise.all([startInstance(env), startInstance(env)])));
    const total = LINES * EVENTS;
    const ownerPids = await deliveredWithLeaseOwners(f, endpointIds, total, 'every line delivered');

    const expected = Array.from({ length: EVENTS }, (_, k) => Array<number>((FAILS[k + 1] ?? 0) + 1).fill(k + 1)).flat();
    for (let l = 0; l < LINES; l++) {
      const got = f.rx.received.filter((r) => r.path === `/line/${l}`).map((r) => (JSON.parse(r.body) as { data: { i: number } }).data.i);
      expect(got, `line ${l}`).toEqual(expected);
    }
    const overlapped = Array.from({ length: LINES }, (_, l) => f.rx.maxHeld(`/line/${l}`)).filter((n) => n > 1).length;
    expect(overlapped).toBe(0);
    expect(ownerPids).toEqual(new Set(f.instances.map((i) => i.proc.pid)));
  }, 120_000);
});
