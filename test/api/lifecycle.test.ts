import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { migrate, MIGRATIONS_DIR } from '../../src/db/migrate.js';
import { CreateEndpoint, GetEndpoint, SendEvent, UpdateEndpoint } from '../helpers/operations.js';
import { appsOn, BOOTSTRAP_KEY, eventually, sharedDatabaseAndReceiver, type TestApp } from '../helpers/testApp.js';

const shared = sharedDatabaseAndReceiver();

describe('lifecycle', () => {
  // Each test starts (and restarts) its own app; what they share, the database, only holds
  // endpoints filtered to the test's own event types, so no test's events reach another's endpoints.
  const apps = appsOn(shared);
  let t: TestApp;
  const start = async (env: Record<string, string> = {}, options?: Parameters<typeof apps.start>[1]) => (t = await apps.start(env, options));
  const stop = apps.stop;
  beforeEach(() => {
    shared.rx.respond(() => ({ status: 200 }));
  });
  afterEach(stop);

  it('applies the migrations into Prisma history with Prisma checksums, once', async () => {
    await start({ HOOKYARD_ROLE: 'api' });
    const rows = await t.prisma.$queryRawUnsafe<{ migration_name: string; checksum: string; finished_at: Date | null; applied_steps_count: number }[]>(
      'SELECT migration_name, checksum, finished_at, applied_steps_count FROM "_prisma_migrations" ORDER BY migration_name',
    );
    const dirs = readdirSync(MIGRATIONS_DIR, { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name).sort();
    expect(rows.map((r) => r.migration_name)).toEqual(dirs);
    for (const r of rows) {
      const sql = readFileSync(`${MIGRATIONS_DIR}/${r.migration_name}/migration.sql`);
      expect(r.checksum).toBe(createHash('sha256').update(sql).digest('hex'));
      expect(r.finished_at).toBeInstanceOf(Date);
      expect(r.applied_steps_count).toBe(1);
    }
    expect(await migrate(t.app.database, t.app.logger)).toEqual([]);
  });

  it('serves the same schema through yoga.fetch without a socket', async () => {
    await start({ HOOKYARD_ROLE: 'api' });
    const { createEndpoint } = await t.ok(CreateEndpoint, { input: { url: `${shared.rx.url}/in-process`, eventTypes: ['in.process'] } });
    const res = await t.app.yoga.fetch(
      'http://in-process/graphql',
      { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${BOOTSTRAP_KEY}` }, body: JSON.stringify({ query: '{ endpoints(first: 1) { edges { node { id } } } }' }) },
      { requestId: 'in-process-1' },
    );
    expect(await res.json()).toEqual({ data: { endpoints: { edges: [{ node: { id: createEndpoint.endpoint.id } }] } } });
  });

  it('keeps its data across a restart', async () => {
    await start({ HOOKYARD_ROLE: 'api' });
    const { createEndpoint } = await t.ok(CreateEndpoint, { input: { url: `${shared.rx.url}/persist`, description: 'survives', eventTypes: ['persist'] } });
    await stop();
    await start({ HOOKYARD_ROLE: 'api' });
    const again = await t.ok(GetEndpoint, { id: createEndpoint.endpoint.id });
    expect(again.endpoint).toMatchObject({ description: 'survives' });
    await stop();
  });

  it('on shutdown lets quick sends finish and hands slow ones back untouched', async () => {
    await start({ HOOKYARD_SHUTDOWN_GRACE_MS: '500', HOOKYARD_DELIVERY_TIMEOUT_MS: '5000', HOOKYARD_LEASE_MS: '10000' });
    shared.rx.respond((req) => (req.path === '/slow' ? { status: 200, delayMs: 3000 } : { status: 200, delayMs: 100 }));
    const slow = (await t.ok(CreateEndpoint, { input: { url: `${shared.rx.url}/slow`, eventTypes: ['shutdown'] } })).createEndpoint.endpoint.id;
    const quick = (await t.ok(CreateEndpoint, { input: { url: `${shared.rx.url}/quick`, eventTypes: ['shutdown'] } })).createEndpoint.endpoint.id;
    const sent = await t.ok(SendEvent, { input: { eventType: 'shutdown', payload: {} } });
    await eventually(async () => shared.rx.received.filter((r) => r.path === '/slow' || r.path === '/quick').length === 2);
    const started = Date.now();
    await stop();
    expect(Date.now() - started).toBeLessThan(3000);
    await start({ HOOKYARD_ROLE: 'api' });
    const rows = await t.prisma.delivery.findMany({ where: { eventId: sent.sendEvent.event.id }, include: { attempts: true } });
    const bySlow = rows.find((r) => r.endpointId === slow)!;
    const byQuick = rows.find((r) => r.endpointId === quick)!;
    expect(byQuick).toMatchObject({ status: 'DELIVERED', attemptCount: 1 });
    expect(bySlow).toMatchObject({ status: 'PENDING', attemptCount: 0, leaseOwner: null });
    expect(bySlow.attempts).toEqual([]);
    await stop();
  });

  it('caps sends in flight per endpoint, and honours an endpoint rate limit', async () => {
    await start({ HOOKYARD_ENDPOINT_CONCURRENCY: '3', HOOKYARD_DISPATCH_CONCURRENCY: '50' });
    let inFlight = 0;
    let maxInFlight = 0;
    shared.rx.respond(async (req) => {
      if (req.path !== '/capped') return { status: 200 };
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      await new Promise((r) => setTimeout(r, 50)); // a send that takes a while: what keeps it in flight
      inFlight--;
      return { status: 200 };
    });
    const capped = (await t.ok(CreateEndpoint, { input: { url: `${shared.rx.url}/capped`, eventTypes: ['cap'] } })).createEndpoint.endpoint.id;
    const limited = (await t.ok(CreateEndpoint, { input: { url: `${shared.rx.url}/limited`, eventTypes: ['limit'], rateLimitPerSecond: 5 } })).createEndpoint.endpoint.id;
    for (let i = 0; i < 20; i++) await t.ok(SendEvent, { input: { eventType: 'cap', payload: { i } } });
    const began = Date.now();
    for (let i = 0; i < 15; i++) await t.ok(SendEvent, { input: { eventType: 'limit', payload: { i } } });
    await eventually(async () => (await t.prisma.delivery.count({ where: { endpointId: capped, status: 'DELIVERED' } })) === 20, 20_000);
    await eventually(async () => (await t.prisma.delivery.count({ where: { endpointId: limited, status: 'DELIVERED' } })) === 15, 20_000);
    expect(maxInFlight).toBeLessThanOrEqual(3);
    expect(maxInFlight).toBeGreaterThan(1);
    const times = shared.rx.received.filter((r) => r.path === '/limited').map((r) => r.at - began);
    // 5 at once (a second's burst), then 5 a second: the 15th cannot arrive before ~2 s.
    expect(Math.max(...times)).toBeGreaterThanOrEqual(1800);
    await stop();
  });

  it('sends a rate-limited backlog as its tokens come back, not at the next poll', async () => {
    // A poll a minute away: only the wake at the tokens' return can send the rest within the test.
    await start({ HOOKYARD_POLL_INTERVAL_MS: '60000' });
    const limited = (await t.ok(CreateEndpoint, { input: { url: `${shared.rx.url}/refill`, eventTypes: ['refill'], rateLimitPerSecond: 8 } })).createEndpoint.endpoint.id;
    const began = Date.now();
    for (let i = 0; i < 20; i++) await t.ok(SendEvent, { input: { eventType: 'refill', payload: { i } } });
    await eventually(async () => (await t.prisma.delivery.count({ where: { endpointId: limited, status: 'DELIVERED' } })) === 20, 10_000);
    const times = shared.rx.received.filter((r) => r.path === '/refill').map((r) => r.at - began).sort((a, b) => a - b);
    // Still the token bucket: a second's burst (8), then 8 a second. Between any two sends, at most
    // 8 plus what refilled meanwhile (a token of slack for timer rounding), so the last of the 12
    // beyond the burst comes 1.5 s after the first at the earliest.
    for (let i = 0; i < times.length; i++) {
      for (let j = i + 1; j < times.length; j++) expect(j - i + 1).toBeLessThanOrEqual(8 + 1 + (8 * (times[j]! - times[i]!)) / 1000);
    }
    expect(times.at(-1)! - times[0]!).toBeGreaterThanOrEqual(1400);
  });

  it('never has more sends in flight than the global limit', async () => {
    await start({ HOOKYARD_DISPATCH_CONCURRENCY: '2', HOOKYARD_ENDPOINT_CONCURRENCY: '10' });
    let inFlight = 0;
    let maxInFlight = 0;
    shared.rx.respond(async (req) => {
      if (!req.path.startsWith('/global')) return { status: 200 };
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      await new Promise((r) => setTimeout(r, 40)); // a send that takes a while: what keeps it in flight
      inFlight--;
      return { status: 200 };
    });
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) ids.push((await t.ok(CreateEndpoint, { input: { url: `${shared.rx.url}/global${i}`, eventTypes: ['global'] } })).createEndpoint.endpoint.id);
    for (let i = 0; i < 8; i++) await t.ok(SendEvent, { input: { eventType: 'global', payload: { i } } });
    await eventually(async () => (await t.prisma.delivery.count({ where: { endpointId: { in: ids }, status: 'DELIVERED' } })) === 24, 20_000);
    expect(maxInFlight).toBe(2);
    await stop();
  });

  it('updates the target URL of waiting deliveries (they read the endpoint at send time)', async () => {
    await start({ HOOKYARD_ROLE: 'api' });
    const id = (await t.ok(CreateEndpoint, { input: { url: `${shared.rx.url}/old`, eventTypes: ['move'] } })).createEndpoint.endpoint.id;
    await t.ok(SendEvent, { input: { eventType: 'move', payload: {} } });
    await t.ok(UpdateEndpoint, { id, input: { url: `${shared.rx.url}/new` } });
    await stop();
    await start();
    await eventually(async () => (await t.prisma.delivery.count({ where: { endpointId: id, status: 'DELIVERED' } })) === 1);
    expect(shared.rx.received.some((r) => r.path === '/new')).toBe(true);
    expect(shared.rx.received.some((r) => r.path === '/old')).toBe(false);
    await stop();
  });
});
