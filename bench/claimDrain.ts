// The claim and outcome statements draining a backlog, committed as the dispatcher commits them
// (bench/claimStatements.ts rolls every round back, so it never sees the dead rows a drain leaves
// in the queue index). 10 endpoints × 2,000 due; each round claims LIMIT (32) with PER_ENDPOINT
// (64) free on each endpoint, then records them DELIVERED. Prints the medians of each 50 rounds.
// SHOWAT=100,300 prints those rounds' claim plans (EXPLAIN ANALYZE, BUFFERS; rolled back).
// Run: npx tsx bench/claimDrain.ts
import pg from 'pg';
import { HOT_CONNECTION_OPTIONS, type RawQuery } from '../src/db/client.js';
import * as store from '../src/dispatcher/store.js';
import { newId } from '../src/ids.js';
import { createBenchDatabase } from './procs.js';

const bench = await createBenchDatabase('hy_drain', 'claim');
// As the app's hot pool (src/db/client.ts): sequential scans off.
const client = new pg.Client({ connectionString: bench.databaseUrl, options: HOT_CONNECTION_OPTIONS });
await client.connect();
const q = (s: string, p: unknown[] = []) => client.query(s, p);
const { rows } = await q(
  `INSERT INTO "Endpoint"(id, "tenantId", url, "eventTypes", "updatedAt")
   SELECT 'ep_' || g, $1, 'http://x.test/', '{}', now() FROM generate_series(1, 10) g RETURNING id`, [bench.tenantId]);
const eps = rows.map((r: { id: string }) => r.id);
await q(
  `WITH ev AS (INSERT INTO "Event"(id,"tenantId","eventType",payload) SELECT 'ev_'||md5(random()::text||g), $1, 's.x', '{"a":1}' FROM generate_series(1,$2) g RETURNING id)
   INSERT INTO "Delivery"(id,"tenantId","endpointId","eventId","eventType",status,"nextAttemptAt","updatedAt")
   SELECT 'dl_'||md5(random()::text||ev.id||e), $1, e, ev.id, 's.x', 'PENDING', now() - interval '1 second', now() FROM ev, unnest($3::text[]) e`,
  [bench.tenantId, 2000, eps]);
await q('ANALYZE');

const LIMIT = Number(process.env.LIMIT ?? 32);
const PER_ENDPOINT = Number(process.env.PER_ENDPOINT ?? 64);
const SHOWAT = new Set((process.env.SHOWAT ?? '').split(',').filter(Boolean).map(Number));
let round = 0;
const sql: RawQuery = async (text, params, name) => {
  if (name === 'hookyard_claim_due' && SHOWAT.has(round)) {
    await q('BEGIN');
    const r = await q(`EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) ${text}`, params);
    await q('ROLLBACK');
    console.log(r.rows.map((x: Record<string, string>) => x['QUERY PLAN']).join('\n'));
  }
  return (await client.query({ name, text, values: params })).rows;
};
const med = (a: number[]) => [...a].sort((x, y) => x - y)[a.length >> 1]!.toFixed(2);
let total = 0;
const claimMs: number[] = [];
const completeMs: number[] = [];
for (;;) {
  const t0 = performance.now();
  const claimed = await store.claimDue(sql, 'owner1', 30_000, LIMIT, PER_ENDPOINT, []);
  const t1 = performance.now();
  if (claimed.length === 0) break;
  await store.complete(sql, 'owner1', claimed.map((c) => ({
    deliveryId: c.id, attemptId: newId('attempt'), attemptNumber: 1, trigger: 'event', startedAt: new Date(), durationMs: 3,
    responseStatus: 200, responseBody: 'ok', error: null, status: 'DELIVERED', retryInMs: null, disableReason: null,
  })), 0);
  claimMs.push(t1 - t0);
  completeMs.push(performance.now() - t1);
  total += claimed.length;
  if (++round % 50 === 0) {
    console.log(`rounds ${round - 49}-${round} (${total} claimed): claim median ${med(claimMs)} ms, outcome median ${med(completeMs)} ms`);
    claimMs.length = 0;
    completeMs.length = 0;
  }
}
await client.end();
await bench.drop();
