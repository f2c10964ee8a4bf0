// A PostgreSQL crash while hundreds of deliveries are in flight, on a private cluster this test
// starts itself (the machine's shared server is never stopped): nothing is lost, every request the
// receiver saw has its attempt row, the dispatcher resumes by itself and LISTEN comes back.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CreateEndpoint, SendEvent } from '../helpers/operations.js';
import { type Instance, startInstance } from '../helpers/instances.js';
import { type PrivatePg, startPrivatePg } from '../helpers/privatePg.js';
import { type Receiver, startReceiver } from '../helpers/receiver.js';
import { eventually, startTestApp, type TestApp } from '../helpers/testApp.js';

const EVENTS = 300;
const RECEIVER_DELAY_MS = 1500;

let cluster: PrivatePg;
let api: TestApp;
let dispatcher: Instance;
let rx: Receiver;
let dataDir: string;
let answered = 0;

beforeAll(async () => {
  cluster = await startPrivatePg();
  dataDir = await mkdtemp(join(tmpdir(), 'hookyard-restart-'));
  // A slow receiver keeps hundreds of requests open when the database goes down.
  rx = await startReceiver(async () => {
    await new Promise((r) => setTimeout(r, RECEIVER_DELAY_MS));
    answered++;
    return { status: 200 };
  });
  // This process serves the API; the dispatcher is its own process (its LISTEN gets this one's NOTIFY),
  // started by the test.
  api = await startTestApp({
    db: { kind: 'postgres', databaseUrl: cluster.url, dataDir, drop: async () => {} },
    env: { HOOKYARD_ROLE: 'api' },
  });
}, 120_000);
afterAll(async () => {
  await dispatcher?.kill('SIGKILL');
  await api?.stop();
  await rx?.close();
  await cluster?.destroy();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

describe('a PostgreSQL crash while the dispatcher is busy', () => {
  it('loses nothing, matches attempts to requests, resumes by itself and listens again', async () => {
    const endpointId = (await api.ok(CreateEndpoint, { input: { url: `${rx.url}/hook` } })).createEndpoint.endpoint.id;
    for (let i = 0; i < EVENTS; i += 20) {
      await Promise.all(Array.from({ length: 20 }, (_, k) => api.ok(SendEvent, { input: { eventType: 'crash.test', payload: { n: i + k } } })));
    }
    // Started once all are due, it claims them in a few batches: hundreds in flight at the receiver.
    dispatcher = await startInstance({
      DATABASE_URL: cluster.url,
      HOOKYARD_ROLE: 'dispatcher',
      // Polling this rarely, a prompt delivery after the restart can only come from LISTEN/NOTIFY.
      HOOKYARD_POLL_INTERVAL_MS: '30000',
      HOOKYARD_DISPATCH_CONCURRENCY: '500',
      HOOKYARD_ENDPOINT_CONCURRENCY: '500',
      HOOKYARD_RETRY_SCHEDULE: '0s,1s,1s,1s,1s,1s,1s,1s,1s,1s',
      HOOKYARD_DELIVERY_TIMEOUT_MS: '5000',
      HOOKYARD_LEASE_MS: '8000',
    });

    await eventually(async () => rx.received.length - answered >= 200, 60_000, '200 requests in flight');
    const answeredAtCrash = answered;
    await cluster.crash();
    // Outcomes pile up while the database is down: a hundred answers arrive with nowhere to go, and
    // the outage lasts past several failed writes (backoff 100 ms doubling: 1.6 s is the fifth),
    // longer than a single reconnect attempt would wait.
    await eventually(async () => answered - answeredAtCrash >= 100, 30_000, 'answers during the outage');
    await eventually(
      async () => dispatcher.logs.some((l) => l.includes('recording outcomes failed') && /"retryInMs":(1600|3200|5000)\b/.test(l)),
      30_000,
      'an outage of a few seconds',
    );
    await cluster.start();

    const rows = await eventually(async () => {
      const all = await api.prisma.delivery.findMany({ where: { endpointId }, include: { attempts: true } });
      return all.length === EVENTS && all.every((d) => d.status === 'DELIVERED' || d.status === 'FAILED') && all;
    }, 90_000, 'every delivery to end DELIVERED or FAILED');

    const attempts = new Map<string, { responseStatus: number | null; error: string | null }>();
    for (const d of rows) for (const a of d.attempts) attempts.set(`${d.id}#${a.attemptNumber}`, a);
    // Every request the receiver saw has its attempt row: its outcome, or the lease take-over's.
    const seen = rx.received.map((r) => `${r.headers['x-hookyard-delivery-id']}#${r.headers['x-hookyard-attempt']}`);
    const missing = seen.filter((k) => !attempts.has(k));
    expect(missing).toEqual([]);
    // An attempt with a response is a request the receiver saw; no attempt is recorded twice.
    const requested = new Set(seen);
    for (const [key, a] of attempts) if (a.responseStatus !== null) expect(requested.has(key)).toBe(true);
    for (const d of rows) {
      expect(d.attempts.map((a) => a.attemptNumber).sort((a, b) => a - b)).toEqual(Array.from({ length: d.attemptCount }, (_, i) => i + 1));
    }
    // The outage was retried, not mistaken for outcomes the database refuses.
    expect([...attempts.values()].filter((a) => a.error?.startsWith('outcome could not be stored'))).toEqual([]);
    // Nothing was lost: each delivery reached the receiver and ended DELIVERED.
    expect(rows.filter((d) => d.status !== 'DELIVERED')).toEqual([]);
    expect(new Set(rx.received.map((r) => r.headers['x-hookyard-delivery-id'])).size).toBe(EVENTS);

    // LISTEN is back: a new event sent through the API process reaches the receiver long before
    // the 30 s poll.
    await eventually(async () => dispatcher.logs.some((l) => l.includes('work signal listening again')), 30_000, 'LISTEN re-established');
    const before = rx.received.length;
    const sentAt = Date.now();
    await api.ok(SendEvent, { input: { eventType: 'crash.after', payload: {} } });
    await rx.waitFor(before + 1, 10_000);
    expect(rx.received[before]!.at - sentAt).toBeLessThan(5_000);
  }, 240_000);
});
