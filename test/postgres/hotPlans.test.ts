// The dispatcher's hot statements are prepared, and a prepared statement keeps one generic plan
// made with the table sizes of the moment it was made: on a new install, nearly empty tables.
// That plan must still reach rows by key when the tables are large, or every claim and outcome
// scans the whole table (what a minute at 1,000 deliveries/s showed: BENCHMARKS.md). So: the
// generic plans, made on empty tables with the hot pool's connection options, scan nothing.
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Database, HOT_CONNECTION_OPTIONS, openDatabase, type RawQuery } from '../../src/db/client.js';
import { migrate } from '../../src/db/migrate.js';
import * as store from '../../src/dispatcher/store.js';
import { STORE_EVENTS_SQL, STORE_EVENTS_STATEMENT } from '../../src/domain/events.js';
import { createLogger } from '../../src/logger.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';

let database: TestDatabase;
let db: Database;
let client: pg.Client;

beforeAll(async () => {
  database = await createTestDatabase('postgres');
  const logger = createLogger('silent');
  db = await openDatabase({ databaseUrl: database.databaseUrl, dataDir: '' }, logger);
  await migrate(db, logger);
  client = new pg.Client({ connectionString: database.databaseUrl, options: HOT_CONNECTION_OPTIONS });
  await client.connect();
});
afterAll(async () => {
  await client?.end();
  await db?.close();
  await database?.drop();
});

it("the hot statements' connections refuse sequential scans; Prisma's do not", async () => {
  const [hot] = await db.query<{ enable_seqscan: string }>('SHOW enable_seqscan', []);
  expect(hot!.enable_seqscan).toBe('off');
  const [other] = await db.prisma.$queryRawUnsafe<{ enable_seqscan: string }[]>('SHOW enable_seqscan');
  expect(other!.enable_seqscan).toBe('on');
});

/** The statement's text and name, as the store sends them. */
async function captured(call: (sql: RawQuery) => Promise<unknown>): Promise<{ text: string; name: string }> {
  let seen: { text: string; name: string } | undefined;
  await call(async (text, _params, name) => {
    seen = { text, name: name ?? '' };
    return [];
  });
  return seen!;
}

/** The generic plan (parameters unknown) PostgreSQL would keep for this statement now. */
async function genericPlan(text: string, params: number): Promise<string> {
  await client.query('BEGIN');
  try {
    await client.query(`PREPARE p AS ${text}`);
    await client.query('SET LOCAL plan_cache_mode = force_generic_plan');
    const args = Array.from({ length: params }, () => 'NULL').join(', ');
    const { rows } = await client.query(`EXPLAIN (COSTS OFF) EXECUTE p(${args})`);
    return rows.map((r: Record<string, string>) => r['QUERY PLAN']).join('\n');
  } finally {
    await client.query('ROLLBACK');
    await client.query('DEALLOCATE ALL');
  }
}

describe('hot statements: generic plans made on empty tables', () => {
  it('the claim is prepared and its generic plan scans no table', async () => {
    const claim = await captured((sql) => store.claimDue(sql, 'owner', 30_000, 64, 16, []));
    expect(claim.name).toBe('hookyard_claim_due');
    const plan = await genericPlan(claim.text, 6);
    expect(plan).toContain('Delivery_pkey');
    expect(plan).not.toMatch(/Seq Scan/);
  });

  it('the outcome statement is prepared and its generic plan scans no table', async () => {
    const completion: store.Completion = {
      deliveryId: 'd', attemptId: 'a', attemptNumber: 1, trigger: 'event', startedAt: new Date(), durationMs: 1,
      responseStatus: 200, responseBody: 'ok', error: null, status: 'DELIVERED', retryInMs: null, disableReason: null,
    };
    const complete = await captured((sql) => store.complete(sql, 'owner', [completion], 0));
    expect(complete.name).toBe('hookyard_complete');
    const plan = await genericPlan(complete.text, 15);
    expect(plan).toContain('Delivery_pkey');
    expect(plan).not.toMatch(/Seq Scan/);
  });

  it("sendEvent's insert is prepared and its generic plan scans no table", async () => {
    expect(STORE_EVENTS_STATEMENT).toBe('hookyard_send_event');
    const plan = await genericPlan(STORE_EVENTS_SQL, 15);
    expect(plan).toContain('Endpoint_pkey');
    expect(plan).not.toMatch(/Seq Scan/);
  });
});
