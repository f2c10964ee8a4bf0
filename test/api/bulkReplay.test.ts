import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newId } from '../../src/ids.js';
import { BulkReplay, CreateEndpoint, DisableEndpoint, OnDeliveryStatus, type StatusChange } from '../helpers/operations.js';
import { startTestApp, type TestApp } from '../helpers/testApp.js';
import { collect, watchSubscriptions, wsClient } from '../helpers/ws.js';

let t: TestApp;
let tenantId: string;
// API only: nothing is sent, so the rows stay as the tests made them.
beforeAll(async () => {
  t = await startTestApp({ env: { HOOKYARD_ROLE: 'api' } });
  tenantId = (await t.prisma.tenant.findUniqueOrThrow({ where: { name: 'default' } })).id;
});
afterAll(() => t?.stop());

async function endpoint() {
  return (await t.ok(CreateEndpoint, { input: { url: 'http://127.0.0.1:1234/bulk' } })).createEndpoint.endpoint.id;
}

/** Deliveries straight into the database, with chosen statuses, types and (colliding) creation times. */
async function seed(endpointId: string, rows: { status: 'FAILED' | 'DELIVERED' | 'PENDING'; eventType?: string; createdAt: Date }[]) {
  const events = rows.map((r) => ({ id: newId('event'), tenantId, eventType: r.eventType ?? 'order.created', payload: {}, createdAt: r.createdAt }));
  await t.prisma.event.createMany({ data: events });
  const deliveries = rows.map((r, i) => ({
    id: newId('delivery'),
    tenantId,
    endpointId,
    eventId: events[i]!.id,
    eventType: events[i]!.eventType,
    status: r.status,
    attemptCount: r.status === 'PENDING' ? 0 : 10,
    nextAttemptAt: r.status === 'PENDING' ? new Date(Date.now() + 3600_000) : null,
    createdAt: r.createdAt,
  }));
  await t.prisma.delivery.createMany({ data: deliveries });
  return deliveries;
}

const replaysOf = async (endpointId: string) =>
  t.prisma.delivery.findMany({ where: { endpointId, trigger: 'replay' }, select: { replayOfId: true, status: true, id: true } });

describe('bulkReplayDeliveries', () => {
  it('pages exactly through 2,500 FAILED deliveries with colliding timestamps, oldest first, 1,000 a call', async () => {
    const ep = await endpoint();
    const base = Date.parse('2026-01-01T00:00:00Z');
    // Five instants, 500 deliveries each: timestamps collide across page boundaries.
    const failed = await seed(ep, Array.from({ length: 2500 }, (_, i) => ({ status: 'FAILED' as const, createdAt: new Date(base + Math.floor(i / 500) * 1000) })));
    await seed(ep, [{ status: 'DELIVERED', createdAt: new Date(base) }, { status: 'PENDING', createdAt: new Date(base) }]);
    const oldestFirst = [...failed].sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime() || (a.id < b.id ? -1 : 1)).map((d) => d.id);

    const before = await t.prisma.delivery.count();
    const dry = (await t.ok(BulkReplay, { input: { endpointId: ep, dryRun: true } })).bulkReplayDeliveries;
    expect(dry).toMatchObject({ enqueued: 1000, capped: true, dryRun: true, totalMatching: 2500 });
    expect(await t.prisma.delivery.count()).toBe(before);

    const calls: { enqueued: number; capped: boolean }[] = [];
    let cursor: { createdAfter?: string; afterDeliveryId?: string } = {};
    const seen: string[] = [];
    for (;;) {
      const already = new Set((await replaysOf(ep)).map((r) => r.id));
      const res = (await t.ok(BulkReplay, { input: { endpointId: ep, ...cursor } })).bulkReplayDeliveries;
      calls.push({ enqueued: res.enqueued, capped: res.capped });
      const fresh = (await t.prisma.delivery.findMany({ where: { endpointId: ep, trigger: 'replay' }, orderBy: { id: 'asc' } })).filter((r) => !already.has(r.id));
      expect(fresh.every((r) => r.status === 'PENDING')).toBe(true);
      seen.push(...fresh.map((r) => r.replayOfId!));
      if (!res.capped) break;
      cursor = { createdAfter: res.nextCreatedAfter!, afterDeliveryId: res.nextAfterDeliveryId! };
    }
    expect(calls).toEqual([{ enqueued: 1000, capped: true }, { enqueued: 1000, capped: true }, { enqueued: 500, capped: false }]);
    expect(seen).toEqual(oldestFirst); // none twice, none skipped, oldest first
    // The originals are untouched.
    expect(await t.prisma.delivery.count({ where: { id: { in: failed.map((d) => d.id) }, status: 'FAILED', attemptCount: 10 } })).toBe(2500);
  });

  it('filters by status, event type and time window, and says when nothing was capped', async () => {
    const ep = await endpoint();
    const t0 = Date.parse('2026-02-01T00:00:00Z');
    await seed(ep, [
      { status: 'FAILED', eventType: 'a.one', createdAt: new Date(t0) },
      { status: 'FAILED', eventType: 'a.two', createdAt: new Date(t0 + 1000) },
      { status: 'FAILED', eventType: 'a.one', createdAt: new Date(t0 + 2000) },
      { status: 'DELIVERED', eventType: 'a.one', createdAt: new Date(t0 + 3000) },
    ]);
    const count = async (input: Record<string, unknown>) =>
      (await t.ok(BulkReplay, { input: { endpointId: ep, dryRun: true, ...input } })).bulkReplayDeliveries;
    expect(await count({})).toMatchObject({ enqueued: 3, capped: false, totalMatching: 3, nextCreatedAfter: null });
    expect((await count({ eventType: 'a.one' })).enqueued).toBe(2);
    expect((await count({ status: 'DELIVERED' })).enqueued).toBe(1);
    expect((await count({ createdAfter: new Date(t0 + 1000).toISOString() })).enqueued).toBe(2);
    expect((await count({ createdBefore: new Date(t0 + 1000).toISOString() })).enqueued).toBe(1);
    const real = (await t.ok(BulkReplay, { input: { endpointId: ep, eventType: 'a.one' } })).bulkReplayDeliveries;
    expect(real).toMatchObject({ enqueued: 2, capped: false, dryRun: false });
    expect((await replaysOf(ep)).length).toBe(2);
  });

  it('publishes each replay as PENDING to subscribers', async () => {
    const ep = await endpoint();
    await seed(ep, Array.from({ length: 5 }, () => ({ status: 'FAILED' as const, createdAt: new Date() })));
    const client = wsClient(t.wsUrl, t.key);
    const listening = watchSubscriptions(t.app.services).expect(1);
    const live = collect(client, OnDeliveryStatus, { endpointId: ep });
    await listening();
    await t.ok(BulkReplay, { input: { endpointId: ep } });
    const items = await live.until((list) => list.length >= 5);
    expect(items.map((i) => [i.deliveryStatusChanged.previousStatus, i.deliveryStatusChanged.status])).toEqual(Array(5).fill([null, 'PENDING']));
    expect(new Set(items.map((i) => i.deliveryStatusChanged.delivery.id))).toEqual(new Set((await replaysOf(ep)).map((r) => r.id)));
    await client.dispose();
  });

  it('refuses disabled, foreign and malformed input, writing nothing', async () => {
    const ep = await endpoint();
    await seed(ep, [{ status: 'FAILED', createdAt: new Date() }]);
    const before = await t.prisma.delivery.count();
    const foreign = await t.gql(BulkReplay, { input: { endpointId: ep } }, t.otherKey);
    expect(foreign.errors?.[0]?.extensions).toMatchObject({ code: 'NOT_FOUND', param: 'input.endpointId' });
    const noCreatedAfter = await t.gql(BulkReplay, { input: { endpointId: ep, afterDeliveryId: newId('delivery') } });
    expect(noCreatedAfter.errors?.[0]?.extensions).toMatchObject({ code: 'VALIDATION_FAILED', param: 'input.afterDeliveryId' });
    const window = await t.gql(BulkReplay, { input: { endpointId: ep, createdAfter: '2026-03-02T00:00:00Z', createdBefore: '2026-03-01T00:00:00Z' } });
    expect(window.errors?.[0]?.extensions).toMatchObject({ code: 'VALIDATION_FAILED', param: 'input.createdAfter' });
    const badStatus = await t.gql(BulkReplay, { input: { endpointId: ep, status: 'LOST' as never } });
    expect(badStatus.errors?.[0]?.extensions.code).toBe('VALIDATION_FAILED');
    await t.ok(DisableEndpoint, { id: ep });
    const disabled = await t.gql(BulkReplay, { input: { endpointId: ep } });
    expect(disabled.errors?.[0]?.extensions).toMatchObject({ code: 'ENDPOINT_DISABLED' });
    expect(await t.prisma.delivery.count()).toBe(before);
  });

  it('counts and picks in one snapshot: enqueued never exceeds totalMatching while matching rows keep arriving', async () => {
    const ep = await endpoint();
    await seed(ep, Array.from({ length: 100 }, () => ({ status: 'FAILED' as const, createdAt: new Date() })));
    let writing = true;
    // Matching rows committed one after another, as fast as the database takes them (bounded:
    // PGlite's one connection would otherwise serve the writer alone).
    const writer = (async () => {
      for (let i = 0; i < 300 && writing; i++) {
        await seed(ep, [{ status: 'FAILED', createdAt: new Date() }]);
        await new Promise((r) => setImmediate(r));
      }
    })();
    const seen: { enqueued: number; totalMatching: number }[] = [];
    try {
      for (let i = 0; i < 20; i++) seen.push((await t.ok(BulkReplay, { input: { endpointId: ep, dryRun: true } })).bulkReplayDeliveries);
    } finally {
      writing = false;
      await writer;
    }
    expect(seen.filter((r) => r.enqueued > r.totalMatching)).toEqual([]);
    expect(seen.at(-1)!.totalMatching).toBeGreaterThan(100);
  });
});
