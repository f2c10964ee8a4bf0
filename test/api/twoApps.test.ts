// Two Hookyards in one process, each on its own database: nothing is shared through module state
// (database client, API-key cache, Pothos's Prisma client). Both use the same bootstrap key, so a
// process-wide cache or client would hand one app the other's tenant or rows.
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CreateEndpoint, GetDelivery, GetEndpoint, GetEvent, GetNode, ListEndpoints, SendEvent } from '../helpers/operations.js';
import { type Receiver, startReceiver } from '../helpers/receiver.js';
import { eventually, startTestApp, type TestApp } from '../helpers/testApp.js';

let a: TestApp;
let b: TestApp;
let rx: Receiver;
let aStopped = false;
beforeAll(async () => {
  rx = await startReceiver();
  // One after the other: each creates its own database (no shared `db` option).
  a = await startTestApp({ env: { HOOKYARD_RETRY_SCHEDULE: '0s' } });
  b = await startTestApp({ env: { HOOKYARD_RETRY_SCHEDULE: '0s' } });
});
afterAll(async () => {
  if (!aStopped) await a?.stop();
  await b?.stop();
  await rx?.close();
});

const delivered = (t: TestApp, id: string) =>
  eventually(async () => {
    const d = (await t.ok(GetDelivery, { id })).delivery;
    return d?.status === 'DELIVERED' ? d : null;
  }, 20_000, `delivery ${id}`);

describe('two apps in one process', () => {
  it('keep endpoints, events and deliveries apart, and each dispatcher sends only its own', async () => {
    expect(a.db.dataDir).not.toBe(b.db.dataDir);
    expect(a.prisma).not.toBe(b.prisma);
    // The same key resolves to each database's own tenant.
    const tenantA = (await a.prisma.tenant.findUniqueOrThrow({ where: { name: 'default' } })).id;
    const tenantB = (await b.prisma.tenant.findUniqueOrThrow({ where: { name: 'default' } })).id;
    expect(tenantA).not.toBe(tenantB);

    const epA = (await a.ok(CreateEndpoint, { input: { url: `${rx.url}/a` } })).createEndpoint;
    const epB = (await b.ok(CreateEndpoint, { input: { url: `${rx.url}/b` } })).createEndpoint;
    expect(epA.endpoint.id).not.toBe(epB.endpoint.id);

    // Each app sees its own endpoint only, whether asked directly, through node(id:) or listed.
    expect((await a.ok(GetEndpoint, { id: epA.endpoint.id })).endpoint?.url).toBe(`${rx.url}/a`);
    const missing = await b.gql(GetEndpoint, { id: epA.endpoint.id });
    expect(missing.errors?.[0]?.extensions.code).toBe('NOT_FOUND');
    expect((await b.gql(GetNode, { id: epA.endpoint.id })).errors?.[0]?.extensions.code).toBe('NOT_FOUND');
    // node(id:) loads through Pothos's Prisma client, which must be the asking app's.
    expect((await a.ok(GetNode, { id: epA.endpoint.id })).node).toMatchObject({ url: `${rx.url}/a` });
    expect((await b.ok(GetNode, { id: epB.endpoint.id })).node).toMatchObject({ url: `${rx.url}/b` });
    expect((await a.ok(ListEndpoints, { first: 10 })).endpoints.edges.map((e) => e.node.id)).toEqual([epA.endpoint.id]);
    expect((await b.ok(ListEndpoints, { first: 10 })).endpoints.edges.map((e) => e.node.id)).toEqual([epB.endpoint.id]);

    // One event per app; each fans out to its own endpoint only.
    const sentA = (await a.ok(SendEvent, { input: { eventType: 'two.apps', payload: { app: 'a' } } })).sendEvent;
    const sentB = (await b.ok(SendEvent, { input: { eventType: 'two.apps', payload: { app: 'b' } } })).sendEvent;
    expect([sentA.deliveriesCreated, sentB.deliveriesCreated]).toEqual([1, 1]);
    expect((await b.gql(GetEvent, { id: sentA.event.id })).errors?.[0]?.extensions.code).toBe('NOT_FOUND');
    expect(await b.prisma.event.count({ where: { id: sentA.event.id } })).toBe(0);
    expect(await a.prisma.event.count({ where: { id: sentB.event.id } })).toBe(0);

    const dA = await a.prisma.delivery.findFirstOrThrow({ where: { eventId: sentA.event.id } });
    const dB = await b.prisma.delivery.findFirstOrThrow({ where: { eventId: sentB.event.id } });
    expect((await b.gql(GetDelivery, { id: dA.id })).errors?.[0]?.extensions.code).toBe('NOT_FOUND');
    const doneA = await delivered(a, dA.id);
    const doneB = await delivered(b, dB.id);
    expect(doneA.attempts).toHaveLength(1);
    expect(doneB.attempts).toHaveLength(1);
    // Attempts are recorded in the delivery's own database, by its own dispatcher.
    expect(await a.prisma.deliveryAttempt.count()).toBe(1);
    expect(await b.prisma.deliveryAttempt.count()).toBe(1);

    // Each request carried its own app's payload, signed with its own endpoint's secret.
    const toA = rx.received.filter((r) => r.path === '/a');
    const toB = rx.received.filter((r) => r.path === '/b');
    expect([toA.length, toB.length]).toEqual([1, 1]);
    const verify = (secret: string, req: (typeof rx.received)[number]) =>
      new Webhook(secret).verify(req.body, {
        'webhook-id': String(req.headers['webhook-id']),
        'webhook-timestamp': String(req.headers['webhook-timestamp']),
        'webhook-signature': String(req.headers['webhook-signature']),
      }) as { data: unknown };
    expect(verify(epA.secret, toA[0]!).data).toEqual({ app: 'a' });
    expect(verify(epB.secret, toB[0]!).data).toEqual({ app: 'b' });
  });

  it('stopping one app leaves the other serving and delivering', async () => {
    await a.stop();
    aStopped = true;
    const ep = (await b.ok(CreateEndpoint, { input: { url: `${rx.url}/b-after` } })).createEndpoint;
    const sent = (await b.ok(SendEvent, { input: { eventType: 'two.apps', payload: { after: true } } })).sendEvent;
    const d = await b.prisma.delivery.findFirstOrThrow({ where: { eventId: sent.event.id, endpointId: ep.endpoint.id } });
    await delivered(b, d.id);
    expect(rx.received.filter((r) => r.path === '/b-after')).toHaveLength(1);
  });
});
