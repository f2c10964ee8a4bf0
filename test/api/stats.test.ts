// deliveryStats: per-bucket counts by outcome, scoped to the tenant, bounded, typed refusals.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { graphql } from '../../src/generated/gql/gql.js';
import { CreateEndpoint, SendEvent } from '../helpers/operations.js';
import { startTestApp, type TestApp } from '../helpers/testApp.js';

const Stats = graphql(`
  query StatsTest($endpointId: ID, $since: DateTime!, $bucketSeconds: Int!) {
    deliveryStats(endpointId: $endpointId, since: $since, bucketSeconds: $bucketSeconds) { start delivered failed pending }
  }
`);

let t: TestApp;
beforeAll(async () => {
  // No dispatcher: the test sets each delivery's outcome itself.
  t = await startTestApp({ env: { HOOKYARD_ROLE: 'api' } });
});
afterAll(() => t?.stop());

describe('deliveryStats', () => {
  it('counts deliveries per bucket by outcome, per endpoint and per tenant, and nothing of another tenant', async () => {
    const a = (await t.ok(CreateEndpoint, { input: { url: 'https://a.example.com/in' } })).createEndpoint.endpoint.id;
    const b = (await t.ok(CreateEndpoint, { input: { url: 'https://b.example.com/in' } })).createEndpoint.endpoint.id;
    const other = (await t.ok(CreateEndpoint, { input: { url: 'https://c.example.com/in' } }, t.otherKey)).createEndpoint.endpoint.id;
    for (let i = 0; i < 3; i++) await t.ok(SendEvent, { input: { eventType: 'order.paid', payload: { i } } });
    await t.ok(SendEvent, { input: { eventType: 'order.paid', payload: {} } }, t.otherKey);
    // 6 deliveries (3 per endpoint), spread over two one-minute buckets, one of each outcome.
    const since = new Date(Math.floor(Date.now() / 60_000) * 60_000 - 10 * 60_000);
    const rows = await t.prisma.delivery.findMany({ where: { endpointId: { in: [a, b] } }, orderBy: { id: 'asc' } });
    expect(rows).toHaveLength(6);
    const plan: [string, Date][] = [
      ['DELIVERED', new Date(since.getTime() + 5_000)],
      ['DELIVERED', new Date(since.getTime() + 59_000)],
      ['FAILED', new Date(since.getTime() + 30_000)],
      ['FAILED', new Date(since.getTime() + 3 * 60_000)],
      ['PENDING', new Date(since.getTime() + 3 * 60_000 + 1)],
      ['SENDING', new Date(since.getTime() + 3 * 60_000 + 2)],
    ];
    for (const [i, row] of rows.entries()) {
      const [status, createdAt] = plan[i]!;
      await t.prisma.delivery.update({ where: { id: row.id }, data: { status: status as 'PENDING', createdAt } });
    }
    await t.prisma.delivery.updateMany({ where: { endpointId: other }, data: { createdAt: new Date(since.getTime() + 5_000) } });

    const all = (await t.ok(Stats, { since: since.toISOString(), bucketSeconds: 60 })).deliveryStats;
    expect(all).toEqual([
      { start: since.toISOString(), delivered: 2, failed: 1, pending: 0 },
      { start: new Date(since.getTime() + 3 * 60_000).toISOString(), delivered: 0, failed: 1, pending: 2 },
    ]);
    const ofA = (await t.ok(Stats, { endpointId: a, since: since.toISOString(), bucketSeconds: 3600 })).deliveryStats;
    const expectedA = rows.map((r, i) => ({ r, s: plan[i]![0] })).filter((x) => x.r.endpointId === a);
    expect(ofA).toEqual([
      {
        start: since.toISOString(),
        delivered: expectedA.filter((x) => x.s === 'DELIVERED').length,
        failed: expectedA.filter((x) => x.s === 'FAILED').length,
        pending: expectedA.filter((x) => x.s === 'PENDING' || x.s === 'SENDING').length,
      },
    ]);
    // Another tenant sees only its own delivery, and nothing of this tenant's endpoint.
    expect((await t.ok(Stats, { since: since.toISOString(), bucketSeconds: 3600 }, t.otherKey)).deliveryStats).toEqual([
      { start: since.toISOString(), delivered: 0, failed: 0, pending: 1 },
    ]);
    expect((await t.ok(Stats, { endpointId: a, since: since.toISOString(), bucketSeconds: 3600 }, t.otherKey)).deliveryStats).toEqual([]);
  });

  it('refuses unbounded ranges and bucket counts with typed errors', async () => {
    const day = new Date(Date.now() - 86_400_000).toISOString();
    const cases: [Record<string, unknown>, string][] = [
      [{ since: day, bucketSeconds: 30 }, 'bucketSeconds'],
      [{ since: day, bucketSeconds: 0 }, 'bucketSeconds'],
      [{ since: new Date(Date.now() - 8 * 86_400_000).toISOString(), bucketSeconds: 3600 }, 'since'],
      [{ since: day, bucketSeconds: 60, endpointId: 'nope' }, 'endpointId'],
    ];
    for (const [vars, param] of cases) {
      const res = await t.gql(Stats, vars as never);
      expect(res.errors?.[0]?.extensions).toMatchObject({ code: 'VALIDATION_FAILED', param });
    }
    expect((await t.gql(Stats, { since: day, bucketSeconds: 60 }, null)).errors?.[0]?.extensions.code).toBe('UNAUTHENTICATED');
  });
});
