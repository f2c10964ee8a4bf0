// Subscriptions that cross instances through Redis resume by themselves after Redis goes away and
// comes back. The outage is a proxy in front of the machine's Redis that the test cuts and
// restores (the shared Redis itself is never restarted).
import { connect, createServer, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, REDIS_URL, type TestDatabase } from '../helpers/db.js';
import { CreateEndpoint, OnDeliveryStatus, SendEvent, type StatusChange } from '../helpers/operations.js';
import { type Receiver, startReceiver } from '../helpers/receiver.js';
import { startTestApp, type TestApp } from '../helpers/testApp.js';
import { collect, wsClient } from '../helpers/ws.js';

const target = new URL(REDIS_URL);
const sockets = new Set<Socket>();
let proxy: Server | undefined;

async function listen(port = 0): Promise<number> {
  proxy = createServer((inbound) => {
    const outbound = connect(Number(target.port || 6379), target.hostname);
    for (const s of [inbound, outbound]) {
      sockets.add(s);
      s.on('error', () => {});
      s.on('close', () => sockets.delete(s));
    }
    inbound.pipe(outbound).pipe(inbound);
  });
  await new Promise<void>((r) => proxy!.listen(port, '127.0.0.1', r));
  return (proxy.address() as AddressInfo).port;
}

async function cut(): Promise<void> {
  const closed = new Promise((r) => proxy!.close(r));
  for (const s of sockets) s.destroy();
  await closed;
}

let database: TestDatabase;
let sender: TestApp;
let watcher: TestApp;
let rx: Receiver;
let port: number;

beforeAll(async () => {
  database = await createTestDatabase();
  port = await listen();
  const env = { REDIS_URL: `redis://127.0.0.1:${port}`, HOOKYARD_RETRY_SCHEDULE: '0s' };
  // The dispatching instance, and an API-only one whose subscribers only Redis can reach.
  sender = await startTestApp({ db: database, env });
  watcher = await startTestApp({ db: database, env: { ...env, HOOKYARD_ROLE: 'api' } });
  rx = await startReceiver();
});
afterAll(async () => {
  await watcher?.stop();
  await sender?.stop();
  await rx?.close();
  if (proxy?.listening) await cut();
  await database?.drop();
});

describe('Redis outage', () => {
  it('cross-instance subscriptions resume once Redis is back', async () => {
    const { endpoint } = (await sender.ok(CreateEndpoint, { input: { url: `${rx.url}/resume` } })).createEndpoint;
    const client = wsClient(watcher.wsUrl, watcher.key);
    const sub = collect<StatusChange>(client, OnDeliveryStatus, { endpointId: endpoint.id, statuses: ['DELIVERED'] });
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
      await cut();
      // While Redis is away, deliveries go on (they live in PostgreSQL); only the pushes wait.
      const during = await sender.ok(SendEvent, { input: { eventType: 'resume.check', payload: { what: 'during' } } });
      const duringId = await deliveryOf(during.sendEvent.event.id);
      await expect.poll(async () => (await sender.prisma.delivery.findUniqueOrThrow({ where: { id: duringId } })).status, { timeout: 10_000 }).toBe('DELIVERED');
      await listen(port);
      await throughRedis('after the outage', 20_000);
    } finally {
      sub.unsubscribe();
      await client.dispose();
    }
  }, 60_000);
});
