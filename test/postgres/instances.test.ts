// Several real instances over one PostgreSQL: no delivery sent by two at once, nothing lost when
// one is killed mid-flight, and subscriptions across instances through Redis.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { CreateEndpoint, OnDeliveryStatus, SendEvent, type StatusChange } from '../helpers/operations.js';
import { REDIS_URL, createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { type Instance, startInstance } from '../helpers/instances.js';
import { type Receiver, type Received, startReceiver } from '../helpers/receiver.js';
import { eventually, startTestApp, type TestApp } from '../helpers/testApp.js';
import { collect, watchSubscriptions, wsClient } from '../helpers/ws.js';

let database: TestDatabase;
let api: TestApp;
let rx: Receiver;
const instances: Instance[] = [];

beforeAll(async () => {
  database = await createTestDatabase('postgres');
  // This process serves the API only; the dispatchers are separate processes.
  api = await startTestApp({ db: database, env: { HOOKYARD_ROLE: 'api', REDIS_URL } });
  rx = await startReceiver();
});
afterEach(async () => {
  await Promise.all(instances.splice(0).map((i) => i.kill('SIGKILL')));
  rx.respond(() => ({ status: 200 }));
});
afterAll(async () => {
  await api?.stop();
  await rx?.close();
  await database?.drop();
});

const dispatcherEnv = (extra: Record<string, string> = {}) => ({
  DATABASE_URL: database.databaseUrl!,
  REDIS_URL,
  HOOKYARD_ROLE: 'dispatcher',
  HOOKYARD_POLL_INTERVAL_MS: '200',
  HOOKYARD_RETRY_SCHEDULE: '0s,200ms,200ms,200ms,200ms',
  HOOKYARD_DELIVERY_TIMEOUT_MS: '2000',
  HOOKYARD_LEASE_MS: '3000',
  ...extra,
});

async function fanOut(endpoints: number, events: number, path: string) {
  const ids: string[] = [];
  for (let i = 0; i < endpoints; i++) {
    const r = await api.ok(CreateEndpoint, { input: { url: `${rx.url}${path}/${i}`, eventTypes: [path.slice(1)] } });
    ids.push(r.createEndpoint.endpoint.id);
  }
  for (let i = 0; i < events; i++) await api.ok(SendEvent, { input: { eventType: path.slice(1), payload: { i } } });
  return ids;
}

function requestsPerDelivery(received: Received[]) {
  const byDelivery = new Map<string, number>();
  for (const r of received) {
    const id = String(r.headers['x-hookyard-delivery-id']);
    byDelivery.set(id, (byDelivery.get(id) ?? 0) + 1);
  }
  return byDelivery;
}

describe('several dispatchers on one PostgreSQL', () => {
  it('deliver everything exactly once between them, never the same delivery concurrently', async () => {
    rx.respond(() => ({ status: 200, delayMs: 20 }));
    const endpointIds = await fanOut(5, 120, '/shared');
    instances.push(...(await Promise.all([startInstance(dispatcherEnv()), startInstance(dispatcherEnv()), startInstance(dispatcherEnv())])));
    const total = 5 * 120;
    await eventually(async () => (await api.prisma.delivery.count({ where: { endpointId: { in: endpointIds }, status: 'DELIVERED' } })) === total, 60_000, 'all delivered');
    const received = rx.received.filter((r) => r.path.startsWith('/shared/'));
    const byDelivery = requestsPerDelivery(received);
    expect(byDelivery.size).toBe(total);
    expect([...byDelivery.values()].every((n) => n === 1)).toBe(true);
    // The work was really shared.
    const owners = instances.map((i) => i.logs.join('\n').match(/"owner":"([^"]+)"/)?.[1]);
    expect(new Set(owners).size).toBe(3);
    const attempts = await api.prisma.deliveryAttempt.count({ where: { delivery: { endpointId: { in: endpointIds } } } });
    expect(attempts).toBe(total);
  }, 120_000);

  it('loses nothing when a dispatcher is killed with SIGKILL mid-flight; another takes over its leases', async () => {
    let failEvery = 0;
    rx.respond(() => ({ status: ++failEvery % 7 === 0 ? 500 : 200, delayMs: 150 }));
    const endpointIds = await fanOut(4, 100, '/crash');
    const total = 400;
    const victim = await startInstance(dispatcherEnv({ HOOKYARD_DISPATCH_CONCURRENCY: '32' }));
    instances.push(victim);
    await eventually(async () => rx.received.filter((r) => r.path.startsWith('/crash/')).length >= 60, 30_000, 'sending under way');
    const inFlightAtKill = await api.prisma.delivery.count({ where: { endpointId: { in: endpointIds }, status: 'SENDING' } });
    await victim.kill('SIGKILL');
    const survivor = await startInstance(dispatcherEnv());
    instances.push(survivor);
    await eventually(
      async () => (await api.prisma.delivery.count({ where: { endpointId: { in: endpointIds }, status: { in: ['DELIVERED', 'FAILED'] } } })) === total,
      90_000,
      'every delivery settled',
    );
    const rows = await api.prisma.delivery.findMany({ where: { endpointId: { in: endpointIds } }, include: { attempts: true } });
    expect(rows).toHaveLength(total);
    for (const d of rows) {
      expect(['DELIVERED', 'FAILED']).toContain(d.status);
      expect(d.attempts).toHaveLength(d.attemptCount);
      expect(d.attempts.map((a) => a.attemptNumber).sort((a, b) => a - b)).toEqual(Array.from({ length: d.attemptCount }, (_, i) => i + 1));
    }
    const taken = rows.filter((d) => d.attempts.some((a) => a.error?.startsWith('lease expired')));
    expect(taken.length).toBeGreaterThan(0);
    expect(taken.length).toBeLessThanOrEqual(inFlightAtKill + 32);
    // Duplicates at the receiver: only deliveries that were in flight when the victim died.
    const received = rx.received.filter((r) => r.path.startsWith('/crash/'));
    const perDelivery = requestsPerDelivery(received);
    const delivered = rows.filter((d) => d.status === 'DELIVERED');
    for (const d of delivered) expect(perDelivery.has(d.id)).toBe(true);
    const extra = received.length - rows.reduce((n, d) => n + d.attempts.filter((a) => !a.error?.startsWith('lease expired')).length, 0);
    expect(extra).toBeGreaterThanOrEqual(0);
    expect(extra).toBeLessThanOrEqual(32);
  }, 180_000);

  it('wakes a dispatcher in another process at once through LISTEN/NOTIFY, not by polling', async () => {
    // Polling once a minute: only the NOTIFY sent by the API instance can explain a quick delivery.
    const sleeper = await startInstance(dispatcherEnv({ HOOKYARD_POLL_INTERVAL_MS: '60000' }));
    instances.push(sleeper);
    await new Promise((r) => setTimeout(r, 1500)); // its first (empty) poll is over
    const { createEndpoint } = await api.ok(CreateEndpoint, { input: { url: `${rx.url}/wake`, eventTypes: ['wake.x'] } });
    const sentAt = Date.now();
    await api.ok(SendEvent, { input: { eventType: 'wake.x', payload: {} } });
    await eventually(async () => (await api.prisma.delivery.count({ where: { endpointId: createEndpoint.endpoint.id, status: 'DELIVERED' } })) === 1, 20_000);
    expect(Date.now() - sentAt).toBeLessThan(5_000);
  }, 60_000);

  it('pushes status changes made by a dispatcher instance to a subscriber on another instance, through Redis', async () => {
    instances.push(await startInstance(dispatcherEnv()));
    const { createEndpoint } = await api.ok(CreateEndpoint, { input: { url: `${rx.url}/redis`, eventTypes: ['redis.x'] } });
    const client = wsClient(api.wsUrl, api.key);
    const listening = watchSubscriptions(api.app.services).expect(1);
    const sub = collect<StatusChange>(client, OnDeliveryStatus, { endpointId: createEndpoint.endpoint.id });
    await listening();
    await api.ok(SendEvent, { input: { eventType: 'redis.x', payload: {} } });
    const items = await sub.until((list) => list.some((i) => i.deliveryStatusChanged.status === 'DELIVERED'), 20_000);
    expect(items.map((i) => i.deliveryStatusChanged.status)).toEqual(['PENDING', 'SENDING', 'DELIVERED']);
    await client.dispose();
  }, 60_000);
});
