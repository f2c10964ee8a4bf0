// Fair dispatch: a backlog on one endpoint, or one tenant's backlog over many endpoints, must not
// delay anyone else's new event (issue 15). The backlogs are inserted with SQL (fast), already due,
// to a real receiver that answers them after 200 ms; the new event goes through the API and its
// arrival at the receiver is awaited. The bound is behaviour, not performance: the unfair claim
// left the new event behind the whole backlog (tens of seconds); the fair one sends it within a
// claim or two. The bench measures the latency (bench/fairness.ts).
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { newId } from '../../src/ids.js';
import { CreateEndpoint, SendEvent } from '../helpers/operations.js';
import { type Receiver, startReceiver } from '../helpers/receiver.js';
import { startTestApp, type TestApp } from '../helpers/testApp.js';

// Issue 15 asks for one second; the bench reports the real figure (p50 and max, BENCHMARKS.md).
// This test runs on a shared CI machine, where a loaded second is not one, so it allows three:
// still far below what the unfair claim took (27 s for the tenant case, measured).
const BOUND_MS = 3000;

let t: TestApp;
let rx: Receiver;
beforeAll(async () => {
  rx = await startReceiver((req) => (req.path.startsWith('/slow') ? { status: 200, delayMs: 200 } : { status: 200 }));
  t = await startTestApp({ env: { HOOKYARD_RETRY_SCHEDULE: '0s,1s', HOOKYARD_DELIVERY_TIMEOUT_MS: '5000', HOOKYARD_LEASE_MS: '30000' } });
}, 60_000);
afterAll(async () => {
  await t?.stop();
  await rx?.close();
});
afterEach(async () => {
  // The rest of a backlog is not this test's business: it ends FAILED without being sent.
  await t.prisma.$executeRawUnsafe(`UPDATE "Delivery" SET status = 'FAILED', "nextAttemptAt" = NULL WHERE status = 'PENDING' AND id LIKE 'dlv_backlog%'`);
  // Sends of the backlog still in flight finish against the receiver; wait until none is held.
  await vi.waitFor(async () => expect(await t.prisma.delivery.count({ where: { status: 'SENDING' } })).toBe(0), { timeout: 15_000, interval: 50 });
});

async function endpoint(path: string, key?: string) {
  const created = await t.ok(CreateEndpoint, { input: { url: `${rx.url}${path}`, eventTypes: [path.slice(1)] } }, key);
  return created.createEndpoint.endpoint.id;
}

/** `count` deliveries of one stored event, due now, spread over `endpointIds` (first attempts). */
async function backlog(endpointIds: string[], count: number) {
  const run = newId('event').slice(4);
  const eventId = `evt_backlog_${run}`;
  const tenantId = (await t.prisma.endpoint.findUniqueOrThrow({ where: { id: endpointIds[0]! } })).tenantId;
  await t.prisma.$executeRawUnsafe(
    `INSERT INTO "Event" (id, "tenantId", "eventType", payload) VALUES ($1, $2, 'backlog', '{"backlog":true}')`, eventId, tenantId);
  await t.prisma.$executeRawUnsafe(
    `INSERT INTO "Delivery" (id, "tenantId", "endpointId", "eventId", "eventType", "nextAttemptAt", "createdAt")
     SELECT 'dlv_backlog_' || $1 || lpad(g::text, 6, '0'), $2, ($3::text[])[1 + g % cardinality($3::text[])], $4, 'backlog',
            now() - interval '1 minute' + g * interval '1 millisecond', now() - interval '1 minute'
     FROM generate_series(1, $5::int) g`,
    run, tenantId, endpointIds, eventId, count);
}

/** Waits until the receiver got `n` requests on paths starting with `prefix`. */
function until(prefix: string, n: number, timeoutMs: number) {
  return vi.waitFor(() => {
    const got = rx.received.filter((r) => r.path.startsWith(prefix));
    if (got.length < n) throw new Error(`only ${got.length} of ${n} requests to ${prefix} within ${timeoutMs} ms`);
    return got;
  }, { timeout: timeoutMs, interval: 5 });
}

/** Sends one event of `type` (through the API, with `key`) and returns how long it took to arrive. */
async function latencyOf(type: string, path: string, key?: string) {
  const sentAt = Date.now();
  await t.ok(SendEvent, { input: { eventType: type, payload: { quiet: true } } }, key);
  // Waiting longer than the bound shows how late an unfair claim is, instead of only "too late".
  const [arrived] = await until(path, 1, 60_000);
  const ms = arrived!.at - sentAt;
  console.log(`fairness: ${type} arrived after ${ms} ms`);
  return ms;
}

describe('fair dispatch', () => {
  it('delivers a new event to another endpoint promptly while 5,000 are due to a slow one', async () => {
    const run = newId('event').slice(-8);
    const slow = await endpoint(`/slow-${run}`);
    const quietPath = `/quiet-${run}`;
    await endpoint(quietPath);
    await backlog([slow], 5000);
    await until(`/slow-${run}`, 40, 15_000); // draining at full speed
    const ms = await latencyOf(quietPath.slice(1), quietPath);
    expect(ms).toBeLessThan(BOUND_MS);
    // The backlog was still there: the quiet event did not wait for it to drain.
    expect(await t.prisma.delivery.count({ where: { endpointId: slow, status: 'PENDING' } })).toBeGreaterThan(3000);
  });

  it("delivers tenant B's new event promptly while 20,000 are due for tenant A over 10 endpoints", async () => {
    const run = newId('event').slice(-8);
    const endpointsA: string[] = [];
    for (let i = 0; i < 10; i++) endpointsA.push(await endpoint(`/slow-${run}-${i}`));
    const quietPath = `/tenant-b-${run}`;
    await endpoint(quietPath, t.otherKey);
    await backlog(endpointsA, 20_000);
    await until(`/slow-${run}`, 100, 15_000);
    const ms = await latencyOf(quietPath.slice(1), quietPath, t.otherKey);
    expect(ms).toBeLessThan(BOUND_MS);
    expect(await t.prisma.delivery.count({ where: { endpointId: { in: endpointsA }, status: 'PENDING' } })).toBeGreaterThan(15_000);
  });
});
