import { Webhook } from 'standardwebhooks';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { newId } from '../../src/ids.js';
import {
  CreateEndpoint, DeleteEndpoint, DisableEndpoint, EnableEndpoint, GetDelivery, GetEndpoint, RotateSecret, SendEvent, OnDeliveryStatus,
  type StatusChange,
} from '../helpers/operations.js';
import { type Receiver, startReceiver } from '../helpers/receiver.js';
import { eventually, startTestApp, type TestApp } from '../helpers/testApp.js';
import { collect, watchSubscriptions, wsClient } from '../helpers/ws.js';

let t: TestApp;
let rx: Receiver;
beforeAll(async () => {
  // The timeout leaves room for a busy event loop: on PGlite the database shares this thread, and
  // at 400 ms a reset that arrived during a long query was sometimes reported as a timeout.
  t = await startTestApp({ env: { HOOKYARD_RETRY_SCHEDULE: '0s,100ms,100ms,100ms', HOOKYARD_DELIVERY_TIMEOUT_MS: '1000', HOOKYARD_LEASE_MS: '3000' } });
  rx = await startReceiver();
});
afterAll(async () => {
  await t?.stop();
  await rx?.close();
});
afterEach(() => rx.respond(() => ({ status: 200 })));

async function endpointTo(url: string, input: Record<string, unknown> = {}) {
  const res = await t.ok(CreateEndpoint, { input: { url, ...input } });
  return res.createEndpoint;
}

async function sendTo(endpointId: string, eventType = 'test.event', payload: Record<string, unknown> = { hello: 'world' }) {
  const sent = await t.ok(SendEvent, { input: { eventType, payload } });
  const d = await t.prisma.delivery.findFirstOrThrow({ where: { eventId: sent.sendEvent.event.id, endpointId } });
  return { eventId: sent.sendEvent.event.id, deliveryId: d.id };
}

const settled = (deliveryId: string, timeoutMs = 10_000) =>
  eventually(async () => {
    const d = (await t.ok(GetDelivery, { id: deliveryId })).delivery!;
    return d.status === 'DELIVERED' || d.status === 'FAILED' ? d : null;
  }, timeoutMs, `delivery ${deliveryId} to settle`);

describe('delivering', () => {
  it('POSTs the signed envelope with Standard Webhooks and Hookyard headers, verifiable by the standardwebhooks package', async () => {
    const path = `/ok-${newId('event')}`;
    const { endpoint, secret } = await endpointTo(`${rx.url}${path}`, { headers: { 'X-Tenant-Ref': 'acme' } });
    const { eventId, deliveryId } = await sendTo(endpoint.id, 'invoice.paid', { amount: 4200, note: 'ünïcødé ✓' });
    const d = await settled(deliveryId);
    expect(d).toMatchObject({ status: 'DELIVERED', attemptCount: 1, lastResponseStatus: 200, lastError: null, nextAttemptAt: null });
    expect(d.deliveredAt).toBeTruthy();
    expect(d.attempts).toHaveLength(1);
    expect(d.attempts[0]).toMatchObject({ attemptNumber: 1, trigger: 'event', responseStatus: 200, error: null });

    const req = rx.received.find((r) => r.path === path)!;
    expect(req.headers['content-type']).toBe('application/json');
    expect(req.headers['webhook-id']).toBe(eventId);
    expect(req.headers['x-hookyard-delivery-id']).toBe(deliveryId);
    expect(req.headers['x-hookyard-event-type']).toBe('invoice.paid');
    expect(req.headers['x-hookyard-attempt']).toBe('1');
    expect(req.headers['x-tenant-ref']).toBe('acme');
    const verified = new Webhook(secret).verify(req.body, req.headers as Record<string, string>) as Record<string, unknown>;
    expect(verified).toMatchObject({ id: eventId, type: 'invoice.paid', data: { amount: 4200, note: 'ünïcødé ✓' } });
    expect(new Date(verified.timestamp as string).toString()).not.toBe('Invalid Date');
  });

  it('signs with every active secret during a rotation grace period, and only the new one after', async () => {
    const path = `/rot-${newId('event')}`;
    const { endpoint, secret: oldSecret } = await endpointTo(`${rx.url}${path}`);
    const rotated = await t.ok(RotateSecret, { id: endpoint.id, graceSeconds: 60 });
    const newSecret = rotated.rotateEndpointSecret.secret;
    const first = await sendTo(endpoint.id);
    await settled(first.deliveryId);
    const req = rx.received.filter((r) => r.path === path).at(-1)!;
    expect(String(req.headers['webhook-signature']).split(' ')).toHaveLength(2);
    expect(new Webhook(oldSecret).verify(req.body, req.headers as Record<string, string>)).toBeTruthy();
    expect(new Webhook(newSecret).verify(req.body, req.headers as Record<string, string>)).toBeTruthy();

    const again = await t.ok(RotateSecret, { id: endpoint.id, graceSeconds: 0 });
    const second = await sendTo(endpoint.id);
    await settled(second.deliveryId);
    const req2 = rx.received.filter((r) => r.path === path).at(-1)!;
    expect(String(req2.headers['webhook-signature']).split(' ')).toHaveLength(1);
    expect(new Webhook(again.rotateEndpointSecret.secret).verify(req2.body, req2.headers as Record<string, string>)).toBeTruthy();
    expect(() => new Webhook(newSecret).verify(req2.body, req2.headers as Record<string, string>)).toThrow();
  });

  it('retries 500s on the schedule and then succeeds, recording every attempt', async () => {
    const path = `/flaky-${newId('event')}`;
    let n = 0;
    rx.respond((req) => (req.path === path && n++ < 2 ? { status: 500, body: 'boom' } : { status: 204 }));
    const { endpoint } = await endpointTo(`${rx.url}${path}`);
    const { deliveryId } = await sendTo(endpoint.id);
    const d = await settled(deliveryId);
    expect(d.status).toBe('DELIVERED');
    expect(d.attempts.map((a) => [a.attemptNumber, a.trigger, a.responseStatus, a.error, a.responseBody])).toEqual([
      [1, 'event', 500, 'HTTP 500', 'boom'],
      [2, 'retry', 500, 'HTTP 500', 'boom'],
      [3, 'retry', 204, null, null],
    ]);
    const gaps = d.attempts.slice(1).map((a, i) => Date.parse(a.startedAt) - Date.parse(d.attempts[i]!.startedAt));
    for (const gap of gaps) expect(gap).toBeGreaterThanOrEqual(75); // 100 ms ± 20%
    const seen = rx.received.filter((r) => r.path === path);
    expect(seen.map((r) => r.headers['x-hookyard-attempt'])).toEqual(['1', '2', '3']);
    expect(new Set(seen.map((r) => r.headers['webhook-id'])).size).toBe(1);
  });

  it('dead-letters to FAILED when the schedule is exhausted', async () => {
    const path = `/down-${newId('event')}`;
    rx.respond((req) => (req.path === path ? { status: 503 } : { status: 200 }));
    const { endpoint } = await endpointTo(`${rx.url}${path}`);
    const { deliveryId } = await sendTo(endpoint.id);
    const d = await settled(deliveryId);
    expect(d).toMatchObject({ status: 'FAILED', attemptCount: 4, lastResponseStatus: 503, lastError: 'HTTP 503', nextAttemptAt: null, deliveredAt: null });
    expect(d.attempts.map((a) => a.attemptNumber)).toEqual([1, 2, 3, 4]);
  });

  it('records timeouts, refused connections and resets as errors', async () => {
    const slow = `/slow-${newId('event')}`;
    const reset = `/reset-${newId('event')}`;
    rx.respond((req) => (req.path === slow ? { delayMs: 3000 } : req.path === reset ? { reset: true } : { status: 200 }));
    const a = await endpointTo(`${rx.url}${slow}`);
    const closed = await startReceiver();
    await closed.close(); // a port nobody listens on
    const b = await endpointTo(`http://127.0.0.1:${closed.port}/refused`);
    const c = await endpointTo(`${rx.url}${reset}`);
    const [da, db_, dc] = await Promise.all([sendTo(a.endpoint.id), sendTo(b.endpoint.id), sendTo(c.endpoint.id)]);
    const [ra, rb, rc] = await Promise.all([settled(da.deliveryId), settled(db_.deliveryId), settled(dc.deliveryId)]);
    expect(ra.status).toBe('FAILED');
    expect(ra.attempts[0]!.error).toBe('timeout after 1000 ms');
    expect(ra.attempts[0]!.durationMs).toBeGreaterThanOrEqual(980);
    expect(rb.attempts.map((x) => x.error)).toEqual(Array(4).fill('connection refused'));
    expect(rc.attempts[0]!.error).toMatch(/connection reset|socket|other side closed/i);
    expect(rb.attempts).toHaveLength(4);
  });

  it('does not follow redirects: a 3xx is a failure', async () => {
    const path = `/moved-${newId('event')}`;
    rx.respond((req) => (req.path === path ? { status: 301, headers: { location: `${rx.url}/elsewhere` } } : { status: 200 }));
    const { endpoint } = await endpointTo(`${rx.url}${path}`);
    const { deliveryId } = await sendTo(endpoint.id);
    const d = await settled(deliveryId);
    expect(d.status).toBe('FAILED');
    expect(d.attempts[0]!.error).toMatch(/^redirect not followed \(301/);
    expect(rx.received.some((r) => r.path === '/elsewhere')).toBe(false);
  });

  it('honours Retry-After on 429', async () => {
    const path = `/limited-${newId('event')}`;
    let n = 0;
    rx.respond((req) => (req.path === path && n++ === 0 ? { status: 429, headers: { 'retry-after': '1' } } : { status: 200 }));
    const { endpoint } = await endpointTo(`${rx.url}${path}`);
    const { deliveryId } = await sendTo(endpoint.id);
    const d = await settled(deliveryId);
    expect(d.status).toBe('DELIVERED');
    const gap = Date.parse(d.attempts[1]!.startedAt) - Date.parse(d.attempts[0]!.startedAt);
    expect(gap).toBeGreaterThanOrEqual(950);
  });

  it('disables the endpoint on 410 Gone and stops sending to it', async () => {
    const path = `/gone-${newId('event')}`;
    rx.respond((req) => (req.path === path ? { status: 410 } : { status: 200 }));
    const { endpoint } = await endpointTo(`${rx.url}${path}`);
    const { deliveryId } = await sendTo(endpoint.id);
    const d = await settled(deliveryId);
    expect(d).toMatchObject({ status: 'FAILED', attemptCount: 1, lastResponseStatus: 410 });
    const ep = await eventually(async () => {
      const e = (await t.ok(GetEndpoint, { id: endpoint.id })).endpoint!;
      return e.status === 'DISABLED' ? e : null;
    });
    expect(ep.disabledReason).toMatch(/410/);
    const next = await t.ok(SendEvent, { input: { eventType: 'after.gone', payload: {} } });
    expect(await t.prisma.delivery.count({ where: { eventId: next.sendEvent.event.id, endpointId: endpoint.id } })).toBe(0);
  });

  it('holds deliveries of a disabled endpoint and sends them once it is enabled', async () => {
    const path = `/paused-${newId('event')}`;
    const { endpoint } = await endpointTo(`${rx.url}${path}`);
    const { deliveryId } = await sendTo(endpoint.id);
    await settled(deliveryId);
    await t.ok(DisableEndpoint, { id: endpoint.id, reason: 'maintenance' });
    // A delivery created before the disable, still waiting.
    const held = newId('delivery');
    const ev = await t.prisma.event.findFirstOrThrow({ where: { deliveries: { some: { id: deliveryId } } } });
    await t.prisma.delivery.create({ data: { id: held, tenantId: ev.tenantId, endpointId: endpoint.id, eventId: ev.id, eventType: ev.eventType } });
    t.app.services.notifyWork();
    // The thing under test is that nothing happens: give the woken dispatcher (100 ms polls) a
    // few passes in which it must not send the held delivery.
    await new Promise((r) => setTimeout(r, 400));
    expect((await t.prisma.delivery.findUniqueOrThrow({ where: { id: held } })).status).toBe('PENDING');
    expect(rx.received.filter((r) => r.path === path)).toHaveLength(1);
    await t.ok(EnableEndpoint, { id: endpoint.id });
    expect((await settled(held)).status).toBe('DELIVERED');
  });

  it('fails the waiting deliveries of a deleted endpoint', async () => {
    const { endpoint } = await endpointTo('http://127.0.0.1:1234/deleted');
    await t.ok(DisableEndpoint, { id: endpoint.id });
    const ev = await t.ok(SendEvent, { input: { eventType: 'x', payload: {} } });
    const held = newId('delivery');
    const tenant = await t.prisma.event.findUniqueOrThrow({ where: { id: ev.sendEvent.event.id } });
    await t.prisma.delivery.create({ data: { id: held, tenantId: tenant.tenantId, endpointId: endpoint.id, eventId: tenant.id, eventType: 'x' } });
    await t.ok(DeleteEndpoint, { id: endpoint.id });
    expect(await t.prisma.delivery.findUniqueOrThrow({ where: { id: held } })).toMatchObject({ status: 'FAILED', lastError: 'endpoint deleted' });
  });

  it('keeps only the first 16 KiB of a response body', async () => {
    const path = `/big-${newId('event')}`;
    rx.respond((req) => (req.path === path ? { status: 200, body: 'z'.repeat(100_000) } : { status: 200 }));
    const { endpoint } = await endpointTo(`${rx.url}${path}`);
    const { deliveryId } = await sendTo(endpoint.id);
    const d = await settled(deliveryId);
    expect(d.attempts[0]!.responseBody).toHaveLength(16 * 1024);
  });
});

describe('deliveryStatusChanged', () => {
  it('pushes PENDING, SENDING, DELIVERED in order for each delivery, and nothing to another tenant', async () => {
    const path = `/live-${newId('event')}`;
    const a = await endpointTo(`${rx.url}${path}`, { eventTypes: ['live.*'] });
    const b = await endpointTo(`${rx.url}${path}`, { eventTypes: ['live.*'] });
    const mine = wsClient(t.wsUrl, t.key);
    const theirs = wsClient(t.wsUrl, t.otherKey);
    const listening = watchSubscriptions(t.app.services).expect(3);
    const sub = collect(mine, OnDeliveryStatus, {});
    const onlyA = collect(mine, OnDeliveryStatus, { endpointId: a.endpoint.id, statuses: ['DELIVERED'] });
    const spy = collect(theirs, OnDeliveryStatus, {});
    await listening();
    const sent = await t.ok(SendEvent, { input: { eventType: 'live.one', payload: { n: 1 } } });
    const ids = (await t.prisma.delivery.findMany({ where: { eventId: sent.sendEvent.event.id, endpointId: { in: [a.endpoint.id, b.endpoint.id] } } })).map((d) => d.id);
    expect(ids).toHaveLength(2);
    await sub.until((items) => ids.every((id) => items.some((i) => i.deliveryStatusChanged.delivery.id === id && i.deliveryStatusChanged.status === 'DELIVERED')));
    for (const id of ids) {
      const changes = sub.items.filter((i) => i.deliveryStatusChanged.delivery.id === id).map((i) => i.deliveryStatusChanged);
      expect(changes.map((c) => [c.previousStatus, c.status])).toEqual([[null, 'PENDING'], ['PENDING', 'SENDING'], ['SENDING', 'DELIVERED']]);
      expect(changes[2]!.attempt).toMatchObject({ attemptNumber: 1, responseStatus: 200 });
    }
    await onlyA.until((items) => items.length >= 1);
    // Proving that nothing more arrives: a short window after every change has been pushed to `sub`.
    await new Promise((r) => setTimeout(r, 200));
    expect(onlyA.items.map((i) => [i.deliveryStatusChanged.delivery.endpoint.id, i.deliveryStatusChanged.status])).toEqual([[a.endpoint.id, 'DELIVERED']]);
    expect(spy.items).toEqual([]);
    expect(spy.errors).toEqual([]);
    void b;
    await mine.dispose();
    await theirs.dispose();
  });

  it('pushes every change to each subscriber of the same shape, and stops for one that left', async () => {
    const path = `/same-${newId('event')}`;
    const { endpoint } = await endpointTo(`${rx.url}${path}`);
    const first = wsClient(t.wsUrl, t.key);
    const second = wsClient(t.wsUrl, t.key);
    const vars = { endpointId: endpoint.id };
    const listening = watchSubscriptions(t.app.services).expect(2);
    const a = collect(first, OnDeliveryStatus, vars);
    const b = collect(second, OnDeliveryStatus, vars);
    await listening();
    const one = await sendTo(endpoint.id);
    const done = (items: StatusChange[], id: string) =>
      items.some((i) => i.deliveryStatusChanged.delivery.id === id && i.deliveryStatusChanged.status === 'DELIVERED');
    await a.until((items) => done(items, one.deliveryId));
    await b.until((items) => done(items, one.deliveryId));
    expect(b.items).toEqual(a.items);
    expect(a.items.map((i) => i.deliveryStatusChanged.status)).toEqual(['PENDING', 'SENDING', 'DELIVERED']);

    await first.dispose();
    const two = await sendTo(endpoint.id);
    await b.until((items) => done(items, two.deliveryId));
    expect(a.items).toHaveLength(3);
    expect(b.errors).toEqual([]);
    await second.dispose();
  });

  it('publishes final changes an instance committed but never published (it died), and drains the outbox', async () => {
    const { endpoint } = await endpointTo(`${rx.url}/outbox`);
    const { deliveryId, eventId } = await sendTo(endpoint.id);
    await settled(deliveryId);
    await eventually(async () => (await t.prisma.statusOutbox.count()) === 0, 5_000, 'outbox drained');
    const client = wsClient(t.wsUrl, t.key);
    const listening = watchSubscriptions(t.app.services).expect(1);
    const sub = collect(client, OnDeliveryStatus, { deliveryId });
    await listening();
    const tenantId = (await t.prisma.tenant.findUniqueOrThrow({ where: { name: 'default' } })).id;
    // As left by an instance killed between its commit and its publish.
    await t.prisma.statusOutbox.create({
      data: {
        id: 'orphan-1',
        tenantId,
        createdAt: new Date(Date.now() - 10_000),
        changes: [{ deliveryId, endpointId: endpoint.id, eventId, previousStatus: 'SENDING', status: 'DELIVERED', attemptId: null, occurredAt: new Date().toISOString() }],
      },
    });
    const items = await sub.until((list) => list.length >= 1, 8_000);
    expect(items[0]!.deliveryStatusChanged).toMatchObject({ previousStatus: 'SENDING', status: 'DELIVERED', delivery: { id: deliveryId } });
    await eventually(async () => (await t.prisma.statusOutbox.count({ where: { id: 'orphan-1' } })) === 0);
    await client.dispose();
  });

  it("refuses to subscribe by another tenant's ids: they simply never match", async () => {
    const { endpoint } = await endpointTo(`${rx.url}/iso`);
    const theirs = wsClient(t.wsUrl, t.otherKey);
    const listening = watchSubscriptions(t.app.services).expect(1);
    const spy = collect(theirs, OnDeliveryStatus, { endpointId: endpoint.id });
    await listening();
    const { deliveryId } = await sendTo(endpoint.id);
    await settled(deliveryId);
    // Proving that nothing arrives: a short window after the delivery settled.
    await new Promise((r) => setTimeout(r, 200));
    expect(spy.items).toEqual([]);
    await theirs.dispose();
  });
});

describe('SSRF guard at send time', () => {
  it('refuses private targets that slipped past validation (DNS, stored URLs), recording the error', async () => {
    await t.stop();
    t = await startTestApp({ env: { HOOKYARD_ALLOW_PRIVATE_TARGETS: 'false', HOOKYARD_RETRY_SCHEDULE: '0s' } });
    const before = rx.received.length;
    const tenant = await t.prisma.tenant.findUniqueOrThrow({ where: { name: 'default' } });
    const ids: string[] = [];
    for (const url of [`${rx.url}/literal`, `http://localhost:${rx.port}/dns`, `http://[::ffff:127.0.0.1]:${rx.port}/mapped`]) {
      // As if the URL had been saved while allowed, or its name later re-pointed at a private address.
      const ep = await t.prisma.endpoint.create({ data: { id: newId('endpoint'), tenantId: tenant.id, url, secrets: { create: { id: newId('secret'), secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw' } } } });
      ids.push(ep.id);
    }
    await t.ok(SendEvent, { input: { eventType: 'ssrf', payload: {} } });
    for (const endpointId of ids) {
      const d = await eventually(() => t.prisma.delivery.findFirst({ where: { endpointId, status: 'FAILED' }, include: { attempts: true } }));
      expect(d.attempts[0]!.error).toMatch(/^blocked target: .* is a private, loopback or link-local address$/);
    }
    expect(rx.received.length).toBe(before);
  });
});
