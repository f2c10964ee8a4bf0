// A database that falls behind on writing outcomes slows claiming down to its pace. Here the
// outcome statement is held on a lock (another session holds "DeliveryAttempt" in EXCLUSIVE mode,
// which blocks its INSERT but no claim), as a slow or overloaded database would hold it: the
// dispatcher must stop claiming once a concurrency's worth of outcomes wait beyond the sends in
// flight, instead of sending everything due while the outcomes pile up in memory with their
// leases running out. Once the lock goes, everything is recorded, each delivery attempted once,
// and the first write wakes the held-back claims (not the next poll).
import pg from 'pg';
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { CreateEndpoint, SendEvent } from '../helpers/operations.js';
import { type Receiver, startReceiver } from '../helpers/receiver.js';
import { eventually, startTestApp, type TestApp } from '../helpers/testApp.js';

const CONCURRENCY = 4;
const EVENTS = 30;
const TOKEN = 'metrics-token-for-tests-0123';

let database: TestDatabase;
let t: TestApp | undefined;
let rx: Receiver;
let locker: pg.Client;

beforeAll(async () => {
  database = await createTestDatabase('postgres');
  rx = await startReceiver();
  locker = new pg.Client({ connectionString: database.databaseUrl });
  await locker.connect();
});
afterEach(async () => {
  await locker.query('ROLLBACK').catch(() => {});
  await t?.stop();
  t = undefined;
});
afterAll(async () => {
  await locker?.end().catch(() => {});
  await rx?.close();
  await database?.drop();
});

async function app(pollIntervalMs: number): Promise<TestApp> {
  t = await startTestApp({
    db: database,
    env: { HOOKYARD_DISPATCH_CONCURRENCY: String(CONCURRENCY), HOOKYARD_POLL_INTERVAL_MS: String(pollIntervalMs), HOOKYARD_METRICS_TOKEN: TOKEN },
  });
  return t;
}

/** Holds the outcome statement, then sends EVENTS events to a new endpoint; returns the endpoint's id. */
async function holdOutcomesAndSend(t: TestApp, path: string): Promise<string> {
  // Its own event type: the endpoint of an earlier test in this database must not take a share.
  const eventType = `backpressure${path.replace('/', '.')}`;
  const endpoint = (await t.ok(CreateEndpoint, { input: { url: `${rx.url}${path}`, eventTypes: [eventType] } })).createEndpoint.endpoint;
  await locker.query('BEGIN');
  await locker.query('LOCK TABLE "DeliveryAttempt" IN EXCLUSIVE MODE');
  for (let i = 0; i < EVENTS; i++) await t.ok(SendEvent, { input: { eventType, payload: { i } } });
  return endpoint.id;
}

async function expectAllRecordedOnce(t: TestApp, endpointId: string, path: string, withinMs: number): Promise<void> {
  await eventually(async () => (await t.prisma.delivery.count({ where: { endpointId, status: 'DELIVERED' } })) === EVENTS, withinMs, 'every delivery recorded');
  expect(rx.received.filter((r) => r.path === path)).toHaveLength(EVENTS);
  const attempts = await t.prisma.deliveryAttempt.groupBy({ by: ['deliveryId'], where: { delivery: { endpointId } }, _count: true });
  expect(attempts.map((a) => a._count)).toEqual(Array.from({ length: EVENTS }, () => 1));
}

const sentTo = (path: string) => rx.received.filter((r) => r.path === path).length;

async function outcomesWaiting(t: TestApp): Promise<number> {
  const text = await (await fetch(`${t.url}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } })).text();
  return Number(/^hookyard_dispatch_outcomes_waiting (\d+)/m.exec(text)?.[1]);
}

it('holds claims back while outcomes wait for the database, and records every one once it catches up', async () => {
  const t = await app(50);
  const endpointId = await holdOutcomesAndSend(t, '/held');
  // The sends in flight end at once (the receiver answers 200), and their outcomes wait: claims go
  // on until a concurrency's worth wait beyond one concurrency's allowance, then stop.
  await eventually(async () => sentTo('/held') === 2 * CONCURRENCY && (await outcomesWaiting(t)) === 2 * CONCURRENCY, 10_000, 'the sends up to the limit');
  // Nothing can be awaited for "no more claims": watch a window of 20 poll intervals instead.
  // Without the hold the other 22 events go out within it (each poll claims 4 more).
  const deadline = Date.now() + 20 * 50;
  while (Date.now() < deadline) {
    expect(sentTo('/held')).toBe(2 * CONCURRENCY);
    await new Promise((r) => setTimeout(r, 50));
  }
  expect(await t.prisma.delivery.count({ where: { endpointId, status: 'SENDING' } })).toBe(2 * CONCURRENCY);

  await locker.query('COMMIT');
  await expectAllRecordedOnce(t, endpointId, '/held', 20_000);
  expect(await outcomesWaiting(t)).toBe(0);
}, 60_000);

it('claims again as soon as the waiting outcomes are written, not at the next poll', async () => {
  // A poll a minute away: only the recorder's wake can bring the held-back claims within the test.
  const t = await app(60_000);
  const endpointId = await holdOutcomesAndSend(t, '/woken');
  await eventually(async () => sentTo('/woken') === 2 * CONCURRENCY && (await outcomesWaiting(t)) === 2 * CONCURRENCY, 10_000, 'the sends up to the limit');
  await locker.query('COMMIT');
  await expectAllRecordedOnce(t, endpointId, '/woken', 10_000);
}, 60_000);
