// hookyard.endpoint.failing / recovered and hookyard.delivery.failed: decided by the statement that
// records outcomes, delivered (signed) to the tenant's endpoints subscribed to hookyard.*, never to
// the endpoint they are about, and pushed on endpointHealthChanged.
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CreateEndpoint, type HealthChange, OnEndpointHealth, SendEvent } from '../helpers/operations.js';
import { type Receiver, startReceiver } from '../helpers/receiver.js';
import { eventually, startTestApp, type TestApp } from '../helpers/testApp.js';
import { collect, watchSubscriptions, wsClient } from '../helpers/ws.js';

let t: TestApp;
let rx: Receiver;
/** Paths answering 500 (one attempt each: the schedule has one entry). */
const failing = new Set<string>(['/opsdown']);
beforeAll(async () => {
  t = await startTestApp({ env: { HOOKYARD_DISABLE_AFTER: '0', HOOKYARD_RETRY_SCHEDULE: '0s' } });
  rx = await startReceiver((req) => ({ status: failing.has(req.path) ? 500 : 200 }));
});
afterAll(async () => {
  await t?.stop();
  await rx?.close();
});

interface Notice {
  type: string;
  data: Record<string, unknown> & { endpointId: string };
}

const create = async (path: string, eventTypes: string[], key = t.key) =>
  (await t.ok(CreateEndpoint, { input: { url: `${rx.url}${path}`, eventTypes } }, key)).createEndpoint;

/** What reached `path`, each signature checked with the endpoint's secret. */
const noticesAt = (path: string, secret: string): Notice[] =>
  rx.received
    .filter((r) => r.path === path && String(r.headers['x-hookyard-event-type']).startsWith('hookyard.'))
    .map((r) => new Webhook(secret).verify(r.body, r.headers as Record<string, string>) as Notice);

/** The operational events stored in the tenant's stream about `endpointId`. */
async function stored(type: string, endpointId: string) {
  return t.prisma.$queryRawUnsafe<{ id: string; payload: Record<string, unknown> }[]>(
    `SELECT id, payload FROM "Event" WHERE "eventType" = $1 AND payload->>'endpointId' = $2 ORDER BY "createdAt", id`,
    type,
    endpointId,
  );
}

async function send(eventType: string, endpointId: string, key = t.key) {
  const sent = await t.ok(SendEvent, { input: { eventType, payload: {} } }, key);
  const delivery = await t.prisma.delivery.findFirstOrThrow({ where: { eventId: sent.sendEvent.event.id, endpointId } });
  return eventually(async () => {
    const d = await t.prisma.delivery.findUniqueOrThrow({ where: { id: delivery.id } });
    return d.status === 'DELIVERED' || d.status === 'FAILED' ? d : null;
  }, 20_000, `${eventType} to settle`);
}

/** Waits until hookyard.delivery.failed about this delivery is stored (with whatever its statement decided). */
const failedStored = (deliveryId: string, endpointId: string) =>
  eventually(async () => (await stored('hookyard.delivery.failed', endpointId)).find((e) => e.payload.deliveryId === deliveryId), 20_000, 'delivery.failed to be stored');

describe('hookyard.endpoint.failing, recovered, delivery.failed', () => {
  it('reach an operator endpoint signed: failing once for the first FAILED delivery, recovered after it, at most one failing an hour', async () => {
    const ops = await create('/ops', ['hookyard.*']);
    const flaky = (await create('/flaky', ['flaky.*'])).endpoint;
    const ofFlaky = (type: string) => noticesAt('/ops', ops.secret).filter((n) => n.type === type && n.data.endpointId === flaky.id);

    failing.add('/flaky');
    const a = await send('flaky.a', flaky.id);
    expect(a.status).toBe('FAILED');
    const [failedA] = await eventually(async () => ofFlaky('hookyard.delivery.failed').length > 0 && ofFlaky('hookyard.delivery.failed'), 20_000, 'delivery.failed at /ops');
    expect(failedA!.data).toMatchObject({ deliveryId: a.id, eventId: a.eventId, eventType: 'flaky.a', endpointId: flaky.id, attempts: 1, lastError: a.lastError });
    expect(a.lastError).toMatch(/500/);
    const [failingA] = await eventually(async () => ofFlaky('hookyard.endpoint.failing').length > 0 && ofFlaky('hookyard.endpoint.failing'), 20_000, 'failing at /ops');
    expect(failingA!.data).toMatchObject({ endpointId: flaky.id, deliveryId: a.id, eventId: a.eventId, lastError: a.lastError });

    failing.delete('/flaky');
    expect((await send('flaky.b', flaky.id)).status).toBe('DELIVERED');
    const [recovered] = await eventually(async () => ofFlaky('hookyard.endpoint.recovered').length > 0 && ofFlaky('hookyard.endpoint.recovered'), 20_000, 'recovered at /ops');
    expect(recovered!.data.endpointId).toBe(flaky.id);

    // Failing again within the hour: delivery.failed, but no second failing (the statement that
    // stored this delivery.failed would have stored it too).
    failing.add('/flaky');
    const c = await send('flaky.c', flaky.id);
    await failedStored(c.id, flaky.id);
    expect(await stored('hookyard.endpoint.failing', flaky.id)).toHaveLength(1);
    // So its next success is no recovery either.
    failing.delete('/flaky');
    expect((await send('flaky.d', flaky.id)).status).toBe('DELIVERED');

    // An hour later (shifted in the database): the next FAILED delivery is announced again.
    await t.prisma.$executeRawUnsafe(`UPDATE "Endpoint" SET "failingNotifiedAt" = "failingNotifiedAt" - interval '61 minutes' WHERE id = $1`, flaky.id);
    failing.add('/flaky');
    const e = await send('flaky.e', flaky.id);
    await failedStored(e.id, flaky.id);
    const failings = await stored('hookyard.endpoint.failing', flaky.id);
    expect(failings.map((f) => f.payload.deliveryId)).toEqual([a.id, e.id]);
    expect(await stored('hookyard.endpoint.recovered', flaky.id)).toHaveLength(1);
    await eventually(async () => ofFlaky('hookyard.endpoint.failing').length === 2, 20_000, 'the second failing at /ops');
    failing.delete('/flaky');
  });

  it('never tells an endpoint about itself, and a failed hookyard.* delivery raises no delivery.failed (no loops)', async () => {
    const ops = await create('/ops2', ['hookyard.*']);
    const down = (await create('/opsdown', ['hookyard.*'])).endpoint;
    const app = (await create('/app2', ['loop.*'])).endpoint;
    failing.add('/app2');
    const d = await send('loop.x', app.id);
    expect(d.status).toBe('FAILED');
    // /opsdown's deliveries of those notices fail too: it is reported failing, to /ops2 only.
    const aboutDown = await eventually(async () => {
      const got = noticesAt('/ops2', ops.secret).filter((n) => n.type === 'hookyard.endpoint.failing' && n.data.endpointId === down.id);
      return got.length > 0 && got;
    }, 20_000, 'failing about /opsdown at /ops2');
    expect(aboutDown).toHaveLength(1);
    const [own] = await t.prisma.$queryRawUnsafe<{ n: number }[]>(
      `SELECT count(*)::int AS n FROM "Delivery" d JOIN "Event" ev ON ev.id = d."eventId" WHERE d."endpointId" = $1 AND ev.payload->>'endpointId' = $1`,
      down.id,
    );
    expect(own!.n).toBe(0);
    // Its failed hookyard.* deliveries (decided in the statement that stored the failing notice) raised nothing.
    const [recursive] = await t.prisma.$queryRawUnsafe<{ n: number }[]>(
      `SELECT count(*)::int AS n FROM "Event" WHERE "eventType" = 'hookyard.delivery.failed' AND payload->>'eventType' LIKE 'hookyard.%'`,
    );
    expect(recursive!.n).toBe(0);
    expect(await t.prisma.delivery.count({ where: { endpointId: down.id, status: 'FAILED' } })).toBeGreaterThan(0);
    failing.delete('/app2');
  });
});

describe('endpointHealthChanged', () => {
  it('pushes the tenant its operational events over graphql-ws, and nothing to another tenant', async () => {
    const mineEp = (await create('/sub-mine', ['sub.*'])).endpoint;
    const theirsEp = (await create('/sub-theirs', ['sub.*'], t.otherKey)).endpoint;
    failing.add('/sub-mine');
    failing.add('/sub-theirs');
    const mineClient = wsClient(t.wsUrl, t.key);
    const theirsClient = wsClient(t.wsUrl, t.otherKey);
    const listening = watchSubscriptions(t.app.services).expect(2);
    const mine = collect<HealthChange>(mineClient, OnEndpointHealth, { endpointId: mineEp.id });
    const theirs = collect<HealthChange>(theirsClient, OnEndpointHealth, {});
    await listening();

    const d = await send('sub.x', mineEp.id);
    const items = await mine.until((list) => list.some((i) => i.endpointHealthChanged.type === 'hookyard.endpoint.failing'), 20_000);
    const byType = new Map(items.map((i) => [i.endpointHealthChanged.type, i.endpointHealthChanged]));
    expect(byType.get('hookyard.delivery.failed')).toMatchObject({ endpointId: mineEp.id, endpoint: { id: mineEp.id }, data: { deliveryId: d.id } });
    const failingChange = byType.get('hookyard.endpoint.failing')!;
    expect(failingChange.reason).toContain(d.id);
    const [storedFailing] = await stored('hookyard.endpoint.failing', mineEp.id);
    expect(failingChange.eventId).toBe(storedFailing!.id);

    // The other tenant's own event reaches its subscriber after ours did, on its own connection:
    // had ours leaked to it, it would be there first.
    await send('sub.y', theirsEp.id, t.otherKey);
    const theirItems = await theirs.until((list) => list.some((i) => i.endpointHealthChanged.type === 'hookyard.endpoint.failing'), 20_000);
    expect(new Set(theirItems.map((i) => i.endpointHealthChanged.endpointId))).toEqual(new Set([theirsEp.id]));
    await Promise.all([mineClient.dispose(), theirsClient.dispose()]);
    failing.delete('/sub-mine');
    failing.delete('/sub-theirs');
  });
});
