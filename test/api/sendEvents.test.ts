import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CreateEndpoint, DisableEndpoint, SendEvent, SendEvents, UpdateEndpoint } from '../helpers/operations.js';
import type { SendEventInput } from '../../src/generated/gql/graphql.js';
import { type Receiver, startReceiver } from '../helpers/receiver.js';
import { startTestApp, type TestApp } from '../helpers/testApp.js';

let t: TestApp;
let rx: Receiver;
beforeAll(async () => {
  rx = await startReceiver();
  // The dispatcher runs: the last test follows every created delivery to the receiver.
  t = await startTestApp({ env: { HOOKYARD_MAX_PAYLOAD_BYTES: '2048', HOOKYARD_RETRY_SCHEDULE: '0s,100ms' } });
});
afterAll(async () => {
  await t?.stop();
  await rx?.close();
});

async function endpoint(eventTypes: string[], key?: string, path = '/hook') {
  const res = await t.ok(CreateEndpoint, { input: { url: `${rx.url}${path}`, eventTypes } }, key);
  return res.createEndpoint.endpoint.id;
}

const deep = (levels: number) => {
  let v: Record<string, unknown> = {};
  for (let i = 0; i < levels; i++) v = { v };
  return v;
};

describe('sendEvents', () => {
  it('stores 100 inputs in one call; each bad one gets its own typed error and sinks nothing else', async () => {
    const all = await endpoint([]);
    const orders = await endpoint(['order.*']);
    await endpoint(['never.this']);
    const bad: Record<number, { input: SendEventInput; code: string; param: string }> = {
      3: { input: { eventType: 'bad type!', payload: {} }, code: 'VALIDATION_FAILED', param: 'inputs[3].eventType' },
      10: { input: { eventType: 'order.big', payload: { s: 'x'.repeat(3000) } }, code: 'PAYLOAD_TOO_LARGE', param: 'inputs[10].payload' },
      20: { input: { eventType: 'order.nul', payload: { s: 'a\u0000b' } }, code: 'VALIDATION_FAILED', param: 'inputs[20].payload' },
      30: { input: { eventType: 'order.deep', payload: deep(70) }, code: 'VALIDATION_FAILED', param: 'inputs[30].payload' },
      40: { input: { eventType: 'order.key', payload: {}, idempotencyKey: 'has space' }, code: 'VALIDATION_FAILED', param: 'inputs[40].idempotencyKey' },
    };
    // Even inputs match both endpoints (order.*), odd ones only the catch-all.
    const inputs = Array.from({ length: 100 }, (_, i): SendEventInput => bad[i]?.input ?? { eventType: i % 2 === 0 ? 'order.created' : 'user.created', payload: { i } });
    const before = await t.prisma.event.count();

    const { sendEvents } = await t.ok(SendEvents, { inputs });
    expect(sendEvents.results).toHaveLength(100);
    for (const r of sendEvents.results) {
      const b = bad[r.index];
      if (b) {
        expect(r.error).toMatchObject({ code: b.code, param: b.param });
        expect(r.event).toBeNull();
        expect(r.deliveriesCreated).toBe(0);
      } else {
        expect(r.error).toBeNull();
        expect(r.event).toMatchObject({ eventType: inputs[r.index]!.eventType, payload: { i: r.index } });
        expect(r.deliveriesCreated).toBe(r.index % 2 === 0 ? 2 : 1);
        expect(r.duplicate).toBe(false);
      }
    }
    expect(sendEvents.results.map((r) => r.index)).toEqual(inputs.map((_, i) => i));
    expect(await t.prisma.event.count()).toBe(before + 95);
    const ids = sendEvents.results.flatMap((r) => (r.event ? [r.event.id] : []));
    const deliveries = await t.prisma.delivery.findMany({ where: { eventId: { in: ids } }, select: { eventId: true, endpointId: true } });
    expect(deliveries).toHaveLength(95 + 46); // 95 to the catch-all, the 46 good even ones to order.*
    expect(deliveries.filter((d) => d.endpointId === orders)).toHaveLength(46);
    expect(deliveries.filter((d) => d.endpointId === all)).toHaveLength(95);
  });

  it('is idempotent per input, within one call and across calls', async () => {
    await endpoint([]);
    const first = await t.ok(SendEvents, {
      inputs: [
        { eventType: 'k.a', payload: { n: 1 }, idempotencyKey: 'batch-k1' },
        { eventType: 'k.b', payload: { n: 2 }, idempotencyKey: 'batch-k2' },
        { eventType: 'k.c', payload: { n: 3 }, idempotencyKey: 'batch-k1' },
        { eventType: 'k.d', payload: { n: 4 } },
      ],
    });
    const [a, b, c, d] = first.sendEvents.results;
    expect(a).toMatchObject({ duplicate: false, error: null });
    expect(c).toMatchObject({ duplicate: true, deliveriesCreated: 0, event: a!.event });
    expect(b!.duplicate).toBe(false);
    expect(d!.duplicate).toBe(false);

    const single = await t.ok(SendEvent, { input: { eventType: 'k.e', payload: { n: 5 }, idempotencyKey: 'batch-k3' } });
    const deliveriesBefore = await t.prisma.delivery.count();
    const again = await t.ok(SendEvents, {
      inputs: [
        { eventType: 'k.x', payload: { n: 9 }, idempotencyKey: 'batch-k2' },
        { eventType: 'k.y', payload: { n: 10 }, idempotencyKey: 'batch-k3' },
        { eventType: 'k.z', payload: { n: 11 }, idempotencyKey: 'batch-k4' },
      ],
    });
    const [x, y, z] = again.sendEvents.results;
    expect(x).toMatchObject({ duplicate: true, deliveriesCreated: 0, event: { id: b!.event!.id, eventType: 'k.b', payload: { n: 2 } } });
    expect(y).toMatchObject({ duplicate: true, deliveriesCreated: 0, event: { id: single.sendEvent.event.id, eventType: 'k.e' } });
    expect(z!.duplicate).toBe(false);
    expect(await t.prisma.delivery.count()).toBe(deliveriesBefore + z!.deliveriesCreated);
    expect(await t.prisma.event.count({ where: { idempotencyKey: { in: ['batch-k1', 'batch-k2', 'batch-k3', 'batch-k4'] } } })).toBe(4);
  });

  it('refuses more than 100 inputs and stores nothing', async () => {
    const before = await t.prisma.event.count();
    const res = await t.gql(SendEvents, { inputs: Array.from({ length: 101 }, (_, i) => ({ eventType: 'too.many', payload: { i } })) });
    expect(res.errors?.[0]?.extensions).toMatchObject({ code: 'VALIDATION_FAILED', param: 'inputs' });
    expect(await t.prisma.event.count()).toBe(before);
  });

  it('stays within the caller’s tenant: its endpoints, its keys', async () => {
    await endpoint([]);
    await t.ok(SendEvents, { inputs: [{ eventType: 'iso.x', payload: {}, idempotencyKey: 'iso-key' }] });
    const other = await t.ok(SendEvents, { inputs: [{ eventType: 'iso.x', payload: {}, idempotencyKey: 'iso-key' }] }, t.otherKey);
    // The other tenant has no endpoints, and the key is its own.
    expect(other.sendEvents.results[0]).toMatchObject({ duplicate: false, deliveriesCreated: 0, error: null });
    const row = await t.prisma.event.findUniqueOrThrow({ where: { id: other.sendEvents.results[0]!.event!.id } });
    expect(row.tenantId).not.toBe((await t.prisma.event.findFirstOrThrow({ where: { idempotencyKey: 'iso-key', NOT: { id: row.id } } })).tenantId);
  });

  it('fans out to an endpoint created, re-filtered or enabled a moment before (the endpoint cache is evicted)', async () => {
    const { sendEvents: s0 } = await t.ok(SendEvents, { inputs: [{ eventType: 'cache.x', payload: {} }] });
    const base = s0.results[0]!.deliveriesCreated;
    const ep = await endpoint(['cache.x']);
    const { sendEvents: s1 } = await t.ok(SendEvents, { inputs: [{ eventType: 'cache.x', payload: {} }] });
    expect(s1.results[0]!.deliveriesCreated).toBe(base + 1);
    await t.ok(UpdateEndpoint, { id: ep, input: { eventTypes: ['cache.y'] } });
    const { sendEvents: s2 } = await t.ok(SendEvents, { inputs: [{ eventType: 'cache.y', payload: {} }] });
    expect(s2.results[0]!.deliveriesCreated).toBe(base + 1);
    await t.ok(DisableEndpoint, { id: ep });
    const { sendEvents: s3 } = await t.ok(SendEvents, { inputs: [{ eventType: 'cache.y', payload: {} }] });
    expect(s3.results[0]!.deliveriesCreated).toBe(base);
  });

  it('delivers every delivery it created to a real receiver', async () => {
    await t.prisma.endpoint.updateMany({ data: { status: 'DISABLED', disabledReason: 'earlier test' } });
    // Their own path: deliveries of the earlier tests may still be arriving.
    const eps = [await endpoint(['deliver.*'], undefined, '/deliver'), await endpoint([], undefined, '/deliver')];
    const { sendEvents } = await t.ok(SendEvents, { inputs: Array.from({ length: 50 }, (_, i) => ({ eventType: 'deliver.x', payload: { i } })) });
    expect(sendEvents.results.every((r) => r.deliveriesCreated === 2)).toBe(true);
    const eventIds = sendEvents.results.map((r) => r.event!.id);
    const created = await t.prisma.delivery.findMany({ where: { eventId: { in: eventIds } }, select: { id: true, endpointId: true } });
    expect(created).toHaveLength(100);
    expect(new Set(created.map((d) => d.endpointId))).toEqual(new Set(eps));
    const mine = () => rx.received.filter((r) => r.path === '/deliver');
    await expect.poll(() => mine().length, { timeout: 60_000 }).toBeGreaterThanOrEqual(100);
    expect(new Set(mine().map((r) => r.headers['x-hookyard-delivery-id']))).toEqual(new Set(created.map((d) => d.id)));
    await expect.poll(() => t.prisma.delivery.count({ where: { eventId: { in: eventIds }, status: 'DELIVERED' } }), { timeout: 30_000 }).toBe(100);
  });
});
