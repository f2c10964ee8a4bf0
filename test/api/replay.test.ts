import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newId } from '../../src/ids.js';
import {
  CreateEndpoint, DeliveryLists, DeliveryReplays, DisableEndpoint, EnableEndpoint, GetDelivery, GetEvent, OnDeliveryStatus, ReplayDelivery, SendEvent,
  TestFire, BulkReplay, type StatusChange,
} from '../helpers/operations.js';
import { type Receiver, startReceiver } from '../helpers/receiver.js';
import { eventually, startTestApp, type TestApp } from '../helpers/testApp.js';
import { collect, watchSubscriptions, wsClient } from '../helpers/ws.js';

let t: TestApp;
let rx: Receiver;
beforeAll(async () => {
  t = await startTestApp({ env: { HOOKYARD_RETRY_SCHEDULE: '0s' } });
  rx = await startReceiver();
});
afterAll(async () => {
  await t?.stop();
  await rx?.close();
});

async function failedDelivery(path: string) {
  let fail = true;
  rx.respond((req) => (req.path === path && fail ? { status: 500 } : { status: 200 }));
  const { createEndpoint } = await t.ok(CreateEndpoint, { input: { url: `${rx.url}${path}`, eventTypes: [path.slice(1)] } });
  const sent = await t.ok(SendEvent, { input: { eventType: path.slice(1), payload: { order: 7 } } });
  // This endpoint's delivery: endpoints made by earlier tests without a filter get the event too.
  const d = await t.prisma.delivery.findFirstOrThrow({ where: { eventId: sent.sendEvent.event.id, endpointId: createEndpoint.endpoint.id } });
  await eventually(async () => (await t.prisma.delivery.findUniqueOrThrow({ where: { id: d.id } })).status === 'FAILED');
  fail = false;
  return { endpoint: createEndpoint.endpoint, secret: createEndpoint.secret, deliveryId: d.id, eventId: sent.sendEvent.event.id };
}

const settled = (id: string) =>
  eventually(async () => {
    const d = (await t.ok(GetDelivery, { id })).delivery!;
    return d.status === 'DELIVERED' || d.status === 'FAILED' ? d : null;
  });

describe('replayDelivery', () => {
  it('creates a fresh delivery: new delivery id, same webhook-id, valid signature; the original is untouched', async () => {
    const { deliveryId, eventId, secret, endpoint } = await failedDelivery('/replay.one');
    const before = await t.prisma.delivery.findUniqueOrThrow({ where: { id: deliveryId }, include: { attempts: true } });
    const client = wsClient(t.wsUrl, t.key);
    const listening = watchSubscriptions(t.app.services).expect(1);
    const live = collect(client, OnDeliveryStatus, { endpointId: endpoint.id });
    await listening();

    const replay = (await t.ok(ReplayDelivery, { id: deliveryId })).replayDelivery;
    // The mutation reads the replay back after the dispatcher may already have claimed it, so its
    // status there is not pinned; the state it was created in is, by the first change published
    // for it (asserted below, together with the whole sequence).
    expect(replay).toMatchObject({ trigger: 'replay', replayOf: { id: deliveryId }, event: { id: eventId }, endpoint: { id: endpoint.id } });
    expect(replay.id).not.toBe(deliveryId);
    const done = await settled(replay.id);
    expect(done.status).toBe('DELIVERED');
    expect(done.attempts[0]).toMatchObject({ trigger: 'replay', attemptNumber: 1 });

    const after = await t.prisma.delivery.findUniqueOrThrow({ where: { id: deliveryId }, include: { attempts: true } });
    // Only the mark that a newer delivery of the pair exists.
    expect(after).toEqual({ ...before, supersededById: replay.id });
    const req = rx.received.filter((r) => r.path === '/replay.one').at(-1)!;
    expect(req.headers['x-hookyard-delivery-id']).toBe(replay.id);
    expect(req.headers['webhook-id']).toBe(eventId);
    expect(new Webhook(secret).verify(req.body, req.headers as Record<string, string>)).toMatchObject({ id: eventId, data: { order: 7 } });

    const chain = await t.ok(DeliveryReplays, { id: deliveryId });
    expect(chain.delivery!.replays.map((r) => r.id)).toEqual([replay.id]);
    await live.until((items) => items.some((i) => i.deliveryStatusChanged.delivery.id === replay.id && i.deliveryStatusChanged.status === 'DELIVERED'));
    const changes = live.items.filter((i) => i.deliveryStatusChanged.delivery.id === replay.id).map((i) => i.deliveryStatusChanged);
    expect(changes.map((c) => [c.previousStatus, c.status])).toEqual([[null, 'PENDING'], ['PENDING', 'SENDING'], ['SENDING', 'DELIVERED']]);
    expect(done).toMatchObject({ status: 'DELIVERED', attemptCount: 1 });
    await client.dispose();
  });

  it('replays any status, including DELIVERED', async () => {
    const { deliveryId } = await failedDelivery('/replay.any');
    const first = (await t.ok(ReplayDelivery, { id: deliveryId })).replayDelivery;
    expect((await settled(first.id)).status).toBe('DELIVERED');
    const second = (await t.ok(ReplayDelivery, { id: first.id })).replayDelivery;
    expect(second.replayOf?.id).toBe(first.id);
  });

  it('refuses a disabled endpoint with ENDPOINT_DISABLED, and unknown or foreign ids with NOT_FOUND', async () => {
    const { deliveryId, endpoint } = await failedDelivery('/replay.refuse');
    await t.ok(DisableEndpoint, { id: endpoint.id, reason: 'down for maintenance' });
    const before = await t.prisma.delivery.count();
    const disabled = await t.gql(ReplayDelivery, { id: deliveryId });
    expect(disabled.errors?.[0]?.extensions).toMatchObject({ code: 'ENDPOINT_DISABLED' });
    expect(disabled.errors?.[0]?.message).toContain('down for maintenance');
    const foreign = await t.gql(ReplayDelivery, { id: deliveryId }, t.otherKey);
    expect(foreign.errors?.[0]?.extensions.code).toBe('NOT_FOUND');
    const unknown = await t.gql(ReplayDelivery, { id: newId('delivery') });
    expect(unknown.errors?.[0]?.extensions.code).toBe('NOT_FOUND');
    const malformed = await t.gql(ReplayDelivery, { id: 'dlv_nope' });
    expect(malformed.errors?.[0]?.extensions).toMatchObject({ code: 'VALIDATION_FAILED', param: 'id' });
    expect(await t.prisma.delivery.count()).toBe(before);
    await t.ok(EnableEndpoint, { id: endpoint.id });
  });

  it('allows 10 manual replays per endpoint per minute (single and bulk), refusing the 11th with retryAfterSeconds', async () => {
    const { deliveryId, endpoint } = await failedDelivery('/replay.limit');
    for (let i = 0; i < 8; i++) await t.ok(ReplayDelivery, { id: deliveryId });
    await t.ok(BulkReplay, { input: { endpointId: endpoint.id, dryRun: true } }); // a dry run is not a replay
    await t.ok(BulkReplay, { input: { endpointId: endpoint.id } });
    await t.ok(ReplayDelivery, { id: deliveryId });
    const eleventh = await t.gql(ReplayDelivery, { id: deliveryId });
    expect(eleventh.errors?.[0]?.extensions).toMatchObject({ code: 'REPLAY_RATE_LIMITED', retryAfterSeconds: expect.any(Number) });
    const secs = eleventh.errors![0]!.extensions.retryAfterSeconds as number;
    expect(secs).toBeGreaterThanOrEqual(1);
    expect(secs).toBeLessThanOrEqual(60);
    const bulk = await t.gql(BulkReplay, { input: { endpointId: endpoint.id } });
    expect(bulk.errors?.[0]?.extensions.code).toBe('REPLAY_RATE_LIMITED');
    // Another endpoint has its own budget.
    const other = await failedDelivery('/replay.limit2');
    expect((await t.ok(ReplayDelivery, { id: other.deliveryId })).replayDelivery.replayOf?.id).toBe(other.deliveryId);
  });
});

describe('testFireEndpoint', () => {
  it('sends a signed synthetic event with data.test = true to that endpoint only', async () => {
    rx.respond(() => ({ status: 200 }));
    const a = (await t.ok(CreateEndpoint, { input: { url: `${rx.url}/tf.a`, eventTypes: ['never.matches'] } })).createEndpoint;
    const b = (await t.ok(CreateEndpoint, { input: { url: `${rx.url}/tf.b` } })).createEndpoint;
    const fired = (await t.ok(TestFire, { id: a.endpoint.id, eventType: 'message.delivered' })).testFireEndpoint;
    expect(fired).toMatchObject({ trigger: 'test', event: { test: true, eventType: 'message.delivered', payload: { test: true } } });
    expect((await settled(fired.id)).status).toBe('DELIVERED');
    const req = rx.received.filter((r) => r.path === '/tf.a').at(-1)!;
    const body = new Webhook(a.secret).verify(req.body, req.headers as Record<string, string>) as { data: { test: boolean }; type: string };
    expect(body.data.test).toBe(true);
    expect(body.type).toBe('message.delivered');
    const ev = await t.ok(GetEvent, { id: fired.event.id });
    expect(ev.event!.deliveries.edges.map((e) => e.node.endpoint.id)).toEqual([a.endpoint.id]);
    expect(rx.received.some((r) => r.path === '/tf.b')).toBe(false);
    void b;
  });

  it('allows 20 test-fires per endpoint per minute, then TEST_FIRE_RATE_LIMITED', async () => {
    const { createEndpoint } = await t.ok(CreateEndpoint, { input: { url: `${rx.url}/tf.limit` } });
    for (let i = 0; i < 20; i++) await t.ok(TestFire, { id: createEndpoint.endpoint.id, eventType: 'ping' });
    const res = await t.gql(TestFire, { id: createEndpoint.endpoint.id, eventType: 'ping' });
    expect(res.errors?.[0]?.extensions).toMatchObject({ code: 'TEST_FIRE_RATE_LIMITED', retryAfterSeconds: expect.any(Number) });
  });

  it('refuses disabled, foreign and malformed endpoints, and bad event types', async () => {
    const { createEndpoint } = await t.ok(CreateEndpoint, { input: { url: `${rx.url}/tf.refuse` } });
    const id = createEndpoint.endpoint.id;
    expect((await t.gql(TestFire, { id, eventType: 'bad type' })).errors?.[0]?.extensions).toMatchObject({ code: 'VALIDATION_FAILED', param: 'eventType' });
    expect((await t.gql(TestFire, { id, eventType: 'x' }, t.otherKey)).errors?.[0]?.extensions.code).toBe('NOT_FOUND');
    expect((await t.gql(TestFire, { id: 'ep_x', eventType: 'x' })).errors?.[0]?.extensions.code).toBe('VALIDATION_FAILED');
    await t.ok(DisableEndpoint, { id });
    expect((await t.gql(TestFire, { id, eventType: 'x' })).errors?.[0]?.extensions.code).toBe('ENDPOINT_DISABLED');
  });
});

describe('a delivery\'s attempts and replays', () => {
  it('are bounded lists: 50 by default, `first` up to 100, a negative `first` refused', async () => {
    const { deliveryId } = await failedDelivery('/lists.bounded');
    // 120 attempts on record (more than any schedule makes), written directly.
    await t.prisma.deliveryAttempt.createMany({
      data: Array.from({ length: 119 }, (_, i) => ({ id: newId('attempt'), deliveryId, attemptNumber: i + 2, trigger: 'retry', startedAt: new Date() })),
    });
    const replayIds: string[] = [];
    for (let i = 0; i < 3; i++) replayIds.push((await t.ok(ReplayDelivery, { id: deliveryId })).replayDelivery.id);

    const byDefault = (await t.ok(DeliveryLists, { id: deliveryId })).delivery!;
    expect(byDefault.attempts.map((a) => a.attemptNumber)).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
    expect(byDefault.replays.map((r) => r.id)).toEqual(replayIds);

    const sized = (await t.ok(DeliveryLists, { id: deliveryId, attempts: 1000, replays: 2 })).delivery!;
    expect(sized.attempts).toHaveLength(100);
    expect(sized.attempts.at(-1)!.attemptNumber).toBe(100);
    expect(sized.replays.map((r) => r.id)).toEqual(replayIds.slice(0, 2));
    expect((await t.ok(DeliveryLists, { id: deliveryId, attempts: 0, replays: 0 })).delivery).toMatchObject({ attempts: [], replays: [] });

    const refused = await t.gql(DeliveryLists, { id: deliveryId, attempts: -1 });
    expect(refused.errors?.[0]?.extensions).toMatchObject({ code: 'VALIDATION_FAILED', param: 'first' });
  });
});
