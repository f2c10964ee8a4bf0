// Subscriptions that cross instances through Redis resume by themselves after Redis goes away and
// comes back. The outage is a proxy in front of the machine's Redis that the test cuts and
// restores (the shared Redis itself is never restarted).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { CreateEndpoint, OnDeliveryStatus, SendEvent, type StatusChange } from '../helpers/operations.js';
import { type Receiver, startReceiver } from '../helpers/receiver.js';
import { type RedisProxy, startRedisProxy } from '../helpers/redisProxy.js';
import { startTestApp, type TestApp } from '../helpers/testApp.js';
import { collect, wsClient } from '../helpers/ws.js';

let proxy: RedisProxy;

let database: TestDatabase;
let sender: TestApp;
let watcher: TestApp;
let rx: Receiver;

beforeAll(async () => {
  database = await createTestDatabase();
  proxy = await startRedisProxy();
  const env = { REDIS_URL: `redis://127.0.0.1:${proxy.port}`, HOOKYARD_RETRY_SCHEDULE: '0s' };
  // The dispatching instance, and an API-only one whose subscribers only Redis can reach.
  sender = await startTestApp({ db: database, env });
  watcher = await startTestApp({ db: database, env: { ...env, HOOKYARD_ROLE: 'api' } });
  rx = await startReceiver();
});
afterAll(async () => {
  await watcher?.stop();
  await sender?.stop();
  await rx?.close();
  if (proxy?.listening()) await proxy.cut();
  await database?.drop();
});

describe('Redis outage', () => {
  it('cross-instance subscriptions resume once Redis is back', async () => {
    const { endpoint } = (await sender.ok(CreateEndpoint, { input: { url: `${rx.url}/resume` } })).createEndpoint;
    const client = wsClient(watcher.wsUrl, watcher.key);
    const sub = collect(client, OnDeliveryStatus, { endpointId: endpoint.id, statuses: ['DELIVERED'] });
    const deliveredIds = (items: StatusChange[]) => new Set(items.map((i) => i.deliveryStatusChanged.delivery.id));
    const deliveryOf = async (eventId: string) => (await sender.prisma.delivery.findFirstOrThrow({ where: { eventId } })).id;

    // Sends events until the watcher's subscriber has seen one of them DELIVERED: proves the path
    // sender → Redis → watcher → socket works at that moment.
    const throughRedis = async (what: string, timeoutMs: number) => {
      const deadline = Date.now() + timeoutMs;
      const ids: string[] = [];
      while (Date.now() < deadline) {
        const sent = await sender.ok(SendEvent, { input: { eventType: 'resume.check', payload: { what } } });
        ids.push(await deliveryOf(sent.sendEvent.event.id));
        const seen = await sub.until((items) => ids.some((id) => deliveredIds(items).has(id)), 1_000).then(() => true, () => false);
        if (seen) return;
      }
      throw new Error(`no push reached the watcher through Redis within ${timeoutMs} ms (${what})`);
    };

    try {
      await throughRedis('before the outage', 15_000);
      await proxy.cut();
      // While Redis is away, deliveries go on (they live in PostgreSQL); only the pushes wait.
      const during = await sender.ok(SendEvent, { input: { eventType: 'resume.check', payload: { what: 'during' } } });
      const duringId = await deliveryOf(during.sendEvent.event.id);
      await expect.poll(async () => (await sender.prisma.delivery.findUniqueOrThrow({ where: { id: duringId } })).status, { timeout: 10_000 }).toBe('DELIVERED');
      await proxy.restore();
      await throughRedis('after the outage', 20_000);
    } finally {
      sub.unsubscribe();
      await client.dispose();
    }
  }, 60_000);
});
