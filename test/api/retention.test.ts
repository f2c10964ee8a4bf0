// Retention: finished events go with their deliveries and attempts once older than
// HOOKYARD_RETENTION; an event with any PENDING or SENDING delivery stays whole.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CreateEndpoint, DisableEndpoint, SendEvent } from '../helpers/operations.js';
import { type Receiver, startReceiver } from '../helpers/receiver.js';
import { eventually, startTestApp, type TestApp } from '../helpers/testApp.js';

let rx: Receiver;
beforeAll(async () => {
  rx = await startReceiver((req) => ({ status: req.path === '/ok' ? 200 : req.path === '/gone' ? 410 : 500 }));
});
afterAll(async () => {
  await rx?.close();
});

async function endpoint(t: TestApp, path: string, eventType: string) {
  const { createEndpoint } = await t.ok(CreateEndpoint, { input: { url: `${rx.url}${path}`, eventTypes: [eventType] } });
  return createEndpoint.endpoint.id;
}

async function send(t: TestApp, eventType: string) {
  return (await t.ok(SendEvent, { input: { eventType, payload: { n: 1 } } })).sendEvent.event.id;
}

const statuses = async (t: TestApp, eventId: string) => (await t.prisma.delivery.findMany({ where: { eventId }, select: { status: true } })).map((d) => d.status).sort();

async function rowsOf(t: TestApp, eventId: string) {
  const deliveries = await t.prisma.delivery.findMany({ where: { eventId }, select: { id: true } });
  return {
    event: await t.prisma.event.count({ where: { id: eventId } }),
    deliveries: deliveries.length,
    attempts: await t.prisma.deliveryAttempt.count({ where: { deliveryId: { in: deliveries.map((d) => d.id) } } }),
  };
}

describe('retention (HOOKYARD_RETENTION=3s)', () => {
  let t: TestApp;
  beforeAll(async () => {
    // One retry an hour away: a failing receiver leaves its delivery PENDING.
    t = await startTestApp({ env: { HOOKYARD_RETENTION: '3s', HOOKYARD_RETRY_SCHEDULE: '0s,1h' } });
  });
  afterAll(async () => {
    await t?.stop();
  });

  it('deletes finished events with their deliveries and attempts, and keeps every event with live work whole', async () => {
    await endpoint(t, '/ok', 'ret.delivered');
    await endpoint(t, '/gone', 'ret.failed');
    const retrying = await endpoint(t, '/down', 'ret.pending');
    await endpoint(t, '/ok', 'ret.mixed');
    await endpoint(t, '/down', 'ret.mixed');
    await endpoint(t, '/down', 'ret.sending');

    const delivered = await send(t, 'ret.delivered');
    const failed = await send(t, 'ret.failed');
    const pending = await send(t, 'ret.pending');
    const mixed = await send(t, 'ret.mixed');
    const sending = await send(t, 'ret.sending');
    await eventually(async () => (await statuses(t, delivered)).join() === 'DELIVERED', 15_000, 'delivered');
    await eventually(async () => (await statuses(t, failed)).join() === 'FAILED', 15_000, 'failed');
    await eventually(
      async () => (await t.prisma.deliveryAttempt.count({ where: { delivery: { eventId: { in: [pending, mixed, sending] } } } })) === 4,
      15_000,
      'first attempts',
    );
    expect(await statuses(t, pending)).toEqual(['PENDING']);
    expect(await statuses(t, mixed)).toEqual(['DELIVERED', 'PENDING']);
    await t.ok(DisableEndpoint, { id: retrying, reason: 'down for the test' });
    // A send in progress elsewhere: the lease is held by another (live) instance.
    await t.prisma.delivery.updateMany({
      where: { eventId: sending },
      data: { status: 'SENDING', leaseOwner: 'another-instance', leaseExpiresAt: new Date(Date.now() + 3_600_000) },
    });
    const keptBefore = { pending: await rowsOf(t, pending), mixed: await rowsOf(t, mixed), sending: await rowsOf(t, sending) };
    expect(keptBefore.mixed).toEqual({ event: 1, deliveries: 2, attempts: 2 });

    // Leftovers: a rate-limit log whose hits are all older than a minute, a live one, and an outbox
    // row nobody published for an hour.
    await t.prisma.$executeRawUnsafe(
      `INSERT INTO "RateLimit" (key, hits) VALUES ('replay:old', ARRAY[now() - interval '2 minutes']), ('replay:live', ARRAY[now()])`,
    );
    await t.prisma.$executeRawUnsafe(
      `INSERT INTO "StatusOutbox" (id, "tenantId", changes, "createdAt") SELECT 'stale-row', id, '[]', now() - interval '1 hour' FROM "Tenant" LIMIT 1`,
    );

    expect((await rowsOf(t, delivered)).attempts).toBe(1);
    await eventually(async () => (await rowsOf(t, delivered)).event === 0 && (await rowsOf(t, failed)).event === 0, 20_000, 'finished events deleted');
    // Deliveries and attempts went with them (their rows, looked up by the ids they had).
    expect(await t.prisma.delivery.count({ where: { eventId: { in: [delivered, failed] } } })).toBe(0);
    expect(await t.prisma.deliveryAttempt.count({ where: { delivery: { eventId: { in: [delivered, failed] } } } })).toBe(0);
    await eventually(async () => (await t.prisma.statusOutbox.count({ where: { id: 'stale-row' } })) === 0, 20_000, 'stale outbox row deleted');
    expect((await t.prisma.rateLimit.findMany({ select: { key: true } })).map((r) => r.key)).not.toContain('replay:old');
    expect((await t.prisma.rateLimit.findMany({ select: { key: true } })).map((r) => r.key)).toContain('replay:live');

    // Another full pass, so the kept events were looked at after they were old enough.
    const passes = t.app.retention.stats.passes;
    await eventually(async () => t.app.retention.stats.passes >= passes + 1, 20_000, 'another pass');
    expect({ pending: await rowsOf(t, pending), mixed: await rowsOf(t, mixed), sending: await rowsOf(t, sending) }).toEqual(keptBefore);
    expect(await statuses(t, sending)).toEqual(['SENDING']);
  }, 60_000);
});

describe('retention 0', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ env: { HOOKYARD_RETENTION: '0' } });
  });
  afterAll(async () => {
    await t?.stop();
  });

  it('keeps every event, however old', async () => {
    await endpoint(t, '/ok', 'keep.me');
    const id = await send(t, 'keep.me');
    await eventually(async () => (await statuses(t, id)).join() === 'DELIVERED', 15_000, 'delivered');
    await t.prisma.$executeRawUnsafe(`UPDATE "Event" SET "createdAt" = now() - interval '10 years' WHERE id = $1`, id);
    const counts = await t.app.retention.runOnce();
    expect(counts).toMatchObject({ events: 0, deliveries: 0, attempts: 0 });
    expect(await rowsOf(t, id)).toEqual({ event: 1, deliveries: 1, attempts: 1 });
  });
});
