// A claim first offers each endpoint only its share of the pick (store.claimDue). A tenant whose
// endpoints offer less than the pick between them, one of them cut at its share, gets the rest of
// that endpoint's due rows in a second scan, so the claim takes what it would take without shares:
// here a backlog beside endpoints with one delivery each, and a tenant whose other endpoints wait
// for retries beside another tenant's backlog. The first test runs it through the dispatcher, with
// a poll interval the test never reaches.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiKey } from '../../src/auth/apiKeys.js';
import { type Database, openDatabase } from '../../src/db/client.js';
import { migrate } from '../../src/db/migrate.js';
import * as store from '../../src/dispatcher/store.js';
import { createLogger } from '../../src/logger.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { CreateEndpoint, SendEvents } from '../helpers/operations.js';
import { type Receiver, startReceiver } from '../helpers/receiver.js';
import { eventually, startTestApp, type TestApp } from '../helpers/testApp.js';

let t: TestApp;
let rx: Receiver;
beforeAll(async () => {
  // 8 at a time, 16 per endpoint: over 4 endpoints each first offers ceil(2 × 8 / 4) = 4.
  t = await startTestApp({ env: { HOOKYARD_POLL_INTERVAL_MS: '60000', HOOKYARD_DISPATCH_CONCURRENCY: '8', HOOKYARD_ENDPOINT_CONCURRENCY: '16' } });
  rx = await startReceiver();
});
afterAll(async () => {
  await t?.stop();
  await rx?.close();
});

describe('a backlog beside endpoints with one delivery each', () => {
  it('drains at once, without waiting for the next poll', async () => {
    for (const name of ['x', 'a', 'b', 'c']) {
      await t.ok(CreateEndpoint, { input: { url: `${rx.url}/${name}`, eventTypes: [`share.${name}`] } });
    }
    // One call, so one wake-up. Had the first claim taken only x's share and a, b and c's one each
    // (7 of 8), the loop would have read the short claim as "nothing more due" and slept.
    const inputs = [
      ...Array.from({ length: 30 }, (_, i) => ({ eventType: 'share.x', payload: { i } })),
      ...['a', 'b', 'c'].map((name) => ({ eventType: `share.${name}`, payload: {} })),
    ];
    const sent = await t.ok(SendEvents, { inputs });
    expect(sent.sendEvents.results.every((r) => r.deliveriesCreated === 1)).toBe(true);
    await rx.waitFor(33, 20_000);
    expect(rx.received.filter((r) => r.path === '/x')).toHaveLength(30);
    await eventually(async () => (await t.prisma.delivery.count({ where: { status: 'DELIVERED' } })) === 33, 10_000, 'all 33 recorded DELIVERED');
  });
});

describe('the claim statement: each endpoint offers its share of the pick', () => {
  let database: TestDatabase;
  let db: Database;
  let tenantId: string;
  beforeAll(async () => {
    database = await createTestDatabase();
    const logger = createLogger('silent');
    db = await openDatabase({ databaseUrl: database.databaseUrl, dataDir: database.dataDir }, logger);
    await migrate(db, logger);
    ({ tenantId } = await createApiKey(db.prisma, 'share'));
  });
  afterAll(async () => {
    await db?.close();
    await database?.drop();
  });

  /** An endpoint of `tenant` with `due` deliveries due now (or `inMs` from now); returns its id. */
  async function endpointWith(name: string, due: number, tenant = tenantId, inMs = -1000): Promise<string> {
    const id = `ep_share_${name}`;
    await db.query(`INSERT INTO "Endpoint"(id, "tenantId", url, "eventTypes", "updatedAt") VALUES ($1, $2, 'http://x.test/', '{}', now())`, [id, tenant]);
    await db.query(
      `WITH ev AS (INSERT INTO "Event"(id, "tenantId", "eventType", payload)
                   SELECT $1 || '_' || g, $2, 's.x', '{}' FROM generate_series(1, $3::int) g RETURNING id)
       INSERT INTO "Delivery"(id, "tenantId", "endpointId", "eventId", "eventType", "nextAttemptAt", "updatedAt")
       SELECT 'dl_' || ev.id, $2, $1, ev.id, 's.x', now() + make_interval(secs => $4::float8 / 1000), now() FROM ev`, [id, tenant, due, inMs]);
    return id;
  }
  const count = (claimed: store.Claimed[], endpointId: string) => claimed.filter((c) => c.endpointId === endpointId).length;
  const claim = (limit: number, busy: store.EndpointCapacity[] = []) => store.claimDue(db.query, 'owner', 30_000, limit, 16, busy);

  it('a backlog beside endpoints with one due each: the backlog offers the rest, as without shares', async () => {
    const x = await endpointWith('x', 30);
    const singles = await Promise.all(['a', 'b', 'c'].map((n) => endpointWith(n, 1)));
    // 4 endpoints, a pick of 16: a share of 4. x's 4 and the others' 1 make 7, short of the pick,
    // so x offers up to 16: the round robin takes one from each, then x's.
    const first = await claim(8);
    expect(first).toHaveLength(8);
    expect(count(first, x)).toBe(5);
    for (const id of singles) expect(count(first, id)).toBe(1);
    // Only x has due work left, 11 of its 16 slots free: it offers them all.
    const second = await claim(8, [{ endpointId: x, free: 11 }]);
    expect(second).toHaveLength(8);
    expect(count(second, x)).toBe(8);
  });

  it("a tenant whose other endpoints wait for retries gets its turns beside another tenant's backlog", async () => {
    await db.query(`DELETE FROM "Delivery"`, []);
    const other = (await createApiKey(db.prisma, 'share-other')).tenantId;
    const p = await endpointWith('p', 30);
    // Seven endpoints of the same tenant with a retry an hour away: open (PENDING), nothing due.
    for (let i = 0; i < 7; i++) await endpointWith(`later${i}`, 1, tenantId, 3_600_000);
    const q = await endpointWith('q', 30, other);
    // p's share is 2 (16 over 8 endpoints), and its tenant offers nothing else: p offers up to 16.
    // One per tenant per round: 4 and 4. With p's share alone it would have been 2 and 6.
    const result = await claim(8);
    expect(result).toHaveLength(8);
    expect([count(result, p), count(result, q)]).toEqual([4, 4]);
  });
});
