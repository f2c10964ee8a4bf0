import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CreateEndpoint, DisableEndpoint, GetEvent, GetDelivery, GetNode, ListDeliveries, ListEvents, SendEvent } from '../helpers/operations.js';
import { startTestApp, type TestApp } from '../helpers/testApp.js';

let t: TestApp;
// No dispatcher: these tests look at what sendEvent writes, before anything is sent.
beforeAll(async () => {
  t = await startTestApp({ env: { HOOKYARD_ROLE: 'api', HOOKYARD_MAX_PAYLOAD_BYTES: '2048' } });
});
afterAll(() => t?.stop());

async function endpoint(eventTypes: string[] = []) {
  const res = await t.ok(CreateEndpoint, { input: { url: 'http://127.0.0.1:1234/never', eventTypes } });
  return res.createEndpoint.endpoint.id;
}

describe('sendEvent', () => {
  it('creates one PENDING delivery per ACTIVE endpoint whose filter matches', async () => {
    const all = await endpoint([]);
    const star = await endpoint(['*']);
    const exact = await endpoint(['order.created']);
    const prefix = await endpoint(['order.*']);
    const other = await endpoint(['invoice.paid']);
    const disabled = await endpoint([]);
    await t.ok(DisableEndpoint, { id: disabled });

    const sent = await t.ok(SendEvent, { input: { eventType: 'order.created', payload: { orderId: 42, nested: { ok: true } } } });
    expect(sent.sendEvent.deliveriesCreated).toBe(4);
    expect(sent.sendEvent.duplicate).toBe(false);
    expect(sent.sendEvent.event).toMatchObject({ eventType: 'order.created', payload: { orderId: 42, nested: { ok: true } }, test: false });
    expect(sent.sendEvent.event.id).toMatch(/^evt_/);

    const ev = await t.ok(GetEvent, { id: sent.sendEvent.event.id });
    const targets = ev.event!.deliveries.edges.map((e) => e.node.endpoint.id).sort();
    expect(targets).toEqual([all, star, exact, prefix].sort());
    expect(ev.event!.deliveries.edges.every((e) => e.node.status === 'PENDING')).toBe(true);
    expect(targets).not.toContain(other);
    expect(targets).not.toContain(disabled);
  });

  it('returns the original event for a repeated idempotency key and creates nothing', async () => {
    await endpoint([]);
    const first = await t.ok(SendEvent, { input: { eventType: 'user.signup', payload: { n: 1 }, idempotencyKey: 'signup-1' } });
    const before = await t.prisma.delivery.count();
    const again = await t.ok(SendEvent, { input: { eventType: 'user.signup', payload: { n: 2 }, idempotencyKey: 'signup-1' } });
    expect(again.sendEvent).toMatchObject({ duplicate: true, deliveriesCreated: 0 });
    expect(again.sendEvent.event).toEqual(first.sendEvent.event);
    expect(await t.prisma.delivery.count()).toBe(before);
    // The key is per tenant: another tenant may use it.
    const otherTenant = await t.ok(SendEvent, { input: { eventType: 'user.signup', payload: {}, idempotencyKey: 'signup-1' } }, t.otherKey);
    expect(otherTenant.sendEvent.duplicate).toBe(false);
  });

  it('keeps one event when the same key races', async () => {
    await endpoint([]);
    const results = await Promise.all(
      Array.from({ length: 8 }, () => t.ok(SendEvent, { input: { eventType: 'race.x', payload: {}, idempotencyKey: 'race-key' } })),
    );
    expect(new Set(results.map((r) => r.sendEvent.event.id)).size).toBe(1);
    expect(await t.prisma.event.count({ where: { idempotencyKey: 'race-key' } })).toBe(2 - 1);
  });

  it.each([
    [{ eventType: 'bad type', payload: {} }, 'VALIDATION_FAILED', 'input.eventType'],
    [{ eventType: '', payload: {} }, 'VALIDATION_FAILED', 'input.eventType'],
    [{ eventType: 'a', payload: [1, 2] }, 'VALIDATION_FAILED', 'input.payload'],
    [{ eventType: 'a', payload: 'text' }, 'VALIDATION_FAILED', 'input.payload'],
    [{ eventType: 'a', payload: {}, idempotencyKey: 'has space' }, 'VALIDATION_FAILED', 'input.idempotencyKey'],
    [{ eventType: 'a', payload: { blob: 'x'.repeat(3000) } }, 'PAYLOAD_TOO_LARGE', 'input.payload'],
    // Strings Postgres's jsonb refuses: a NUL, an unpaired surrogate in a value or in a key.
    [{ eventType: 'a', payload: { s: 'a\u0000b' } }, 'VALIDATION_FAILED', 'input.payload'],
    [{ eventType: 'a', payload: { deep: [{ s: 'x\ud800' }] } }, 'VALIDATION_FAILED', 'input.payload'],
    [{ eventType: 'a', payload: { '\udc00': 1 } }, 'VALIDATION_FAILED', 'input.payload'],
  ])('rejects %j with %s, writing nothing', async (input, code, param) => {
    const before = [await t.prisma.event.count(), await t.prisma.delivery.count()];
    const res = await t.gql(SendEvent, { input: input as never });
    expect(res.errors?.[0]?.extensions).toMatchObject({ code, param });
    expect([await t.prisma.event.count(), await t.prisma.delivery.count()]).toEqual(before);
  });

  it('stores text that only looks like the refused characters, and paired surrogates', async () => {
    const payload = { s: 'a literal \\u0000 and \\ud800', emoji: '😀', ['😀']: true };
    const sent = await t.ok(SendEvent, { input: { eventType: 'text.ok', payload } });
    expect(sent.sendEvent.event.payload).toEqual(payload);
  });

  it('rejects wrongly typed variables with VALIDATION_FAILED naming the variable', async () => {
    const res = await t.gql(SendEvent, { input: { eventType: 42, payload: {} } as never });
    expect(res.errors?.[0]?.extensions).toMatchObject({ code: 'VALIDATION_FAILED', param: 'input' });
    expect(JSON.stringify(res.errors)).not.toMatch(/at .*\.ts|prisma/i);
  });
});

describe('queries', () => {
  it('filters deliveries by endpoint, event, status, event type and time, and pages exactly', async () => {
    const a = await endpoint(['page.*']);
    const b = await endpoint(['page.*']);
    const start = new Date(Date.now() - 1);
    const events: string[] = [];
    for (let i = 0; i < 7; i++) {
      const r = await t.ok(SendEvent, { input: { eventType: i % 2 ? 'page.odd' : 'page.even', payload: { i } } });
      events.push(r.sendEvent.event.id);
    }
    // A millisecond on: createdAt has microseconds, so a row made in mid's own millisecond is later
    // than mid itself (this failed once in CI, 6 of 7 before mid).
    const mid = new Date(Date.now() + 1);

    const collect = async (filter: Record<string, unknown>, first = 3) => {
      const ids: string[] = [];
      let after: string | null | undefined;
      for (;;) {
        const page = await t.ok(ListDeliveries, { filter, first, after });
        ids.push(...page.deliveries.edges.map((e) => e.node.id));
        if (!page.deliveries.pageInfo.hasNextPage) return ids;
        after = page.deliveries.pageInfo.endCursor;
      }
    };
    const forA = await collect({ endpointId: a });
    expect(forA).toHaveLength(7);
    expect(new Set(forA).size).toBe(7);
    const rows = await t.prisma.delivery.findMany({ where: { endpointId: a }, orderBy: [{ createdAt: 'desc' }, { id: 'desc' }] });
    expect(forA).toEqual(rows.map((r) => r.id));

    expect(await collect({ endpointId: b, eventType: 'page.odd' })).toHaveLength(3);
    expect(await collect({ eventId: events[0] })).toHaveLength(await t.prisma.delivery.count({ where: { eventId: events[0] } }));
    expect(await collect({ endpointId: a, status: ['PENDING'] })).toHaveLength(7);
    expect(await collect({ endpointId: a, status: ['DELIVERED', 'FAILED'] })).toHaveLength(0);
    expect(await collect({ endpointId: a, createdAfter: start.toISOString(), createdBefore: mid.toISOString() })).toHaveLength(7);
    expect(await collect({ endpointId: a, createdAfter: mid.toISOString() })).toHaveLength(0);

    const bad = await t.gql(ListDeliveries, { filter: { createdAfter: mid.toISOString(), createdBefore: start.toISOString() } });
    expect(bad.errors?.[0]?.extensions).toMatchObject({ code: 'VALIDATION_FAILED', param: 'filter.createdAfter' });
    const badId = await t.gql(ListDeliveries, { filter: { endpointId: 'nope' } });
    expect(badId.errors?.[0]?.extensions).toMatchObject({ code: 'VALIDATION_FAILED', param: 'filter.endpointId' });

    // Backwards paging.
    const last = await t.ok(ListDeliveries, { filter: { endpointId: a }, last: 2 });
    expect(last.deliveries.edges.map((e) => e.node.id)).toEqual(forA.slice(-2));
  });

  it('lists events newest first with filters', async () => {
    const sent: string[] = [];
    for (let i = 0; i < 4; i++) sent.push((await t.ok(SendEvent, { input: { eventType: 'list.me', payload: { i } } })).sendEvent.event.id);
    await t.ok(SendEvent, { input: { eventType: 'list.not.me', payload: {} } });
    const res = await t.ok(ListEvents, { filter: { eventType: 'list.me' }, first: 10 });
    expect(res.events.edges.map((e) => e.node.id)).toEqual([...sent].reverse());
    const page = await t.ok(ListEvents, { filter: { eventType: 'list.me' }, first: 2 });
    expect(page.events.edges.map((e) => e.node.id)).toEqual([sent[3], sent[2]]);
  });

  it('resolves node ids of every type, and only the caller tenant ones', async () => {
    const ep = await endpoint([]);
    const sent = await t.ok(SendEvent, { input: { eventType: 'node.x', payload: {} } });
    const dl = await t.prisma.delivery.findFirstOrThrow({ where: { eventId: sent.sendEvent.event.id, endpointId: ep } });
    for (const [id, typename] of [[ep, 'Endpoint'], [sent.sendEvent.event.id, 'Event'], [dl.id, 'Delivery']] as const) {
      const mine = await t.ok(GetNode, { id });
      expect(mine.node).toMatchObject({ id, __typename: typename });
      const theirs = await t.gql(GetNode, { id }, t.otherKey);
      expect(theirs.errors?.[0]?.extensions.code).toBe('NOT_FOUND');
    }
    const garbage = await t.gql(GetNode, { id: 'garbage' });
    expect(garbage.errors?.[0]?.extensions).toMatchObject({ code: 'VALIDATION_FAILED', param: 'id' });
    const theirDelivery = await t.gql(GetDelivery, { id: dl.id }, t.otherKey);
    expect(theirDelivery.errors?.[0]?.extensions.code).toBe('NOT_FOUND');
    const theirEvent = await t.gql(GetEvent, { id: sent.sendEvent.event.id }, t.otherKey);
    expect(theirEvent.errors?.[0]?.extensions.code).toBe('NOT_FOUND');
    const theirList = await t.ok(ListDeliveries, { filter: { endpointId: ep } }, t.otherKey);
    expect(theirList.deliveries.edges).toEqual([]);
  });
});
