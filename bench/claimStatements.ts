// The dispatcher's two hot statements (store.claimDue of 5, store.complete of those 5), timed one
// round trip each, in a transaction rolled back every round, in three ways: unnamed (parsed and
// planned every call, as before), prepared with PostgreSQL's default plan_cache_mode, and prepared
// with the generic plan forced (the plan a prepared statement may settle on). Scenarios: little
// due over a large archive, a backlog with statistics from before it and after ANALYZE, busy
// endpoints, FIFO lines, 500 endpoints with work. N=5000 adds that many idle endpoints; SHOW=<statement
// name> prints its plan; LIMIT and PER_ENDPOINT set the claim's. Prints medians and p90 in ms. Run: npx tsx bench/claimStatements.ts
import pg from 'pg';
import { HOT_CONNECTION_OPTIONS, type RawQuery } from '../src/db/client.js';
import * as store from '../src/dispatcher/store.js';
import { newId } from '../src/ids.js';
import { createBenchDatabase } from './procs.js';

const bench = await createBenchDatabase('hy_claimplan', 'claim');
// As the app's hot pool (src/db/client.ts): sequential scans off.
const client = new pg.Client({ connectionString: bench.databaseUrl, options: HOT_CONNECTION_OPTIONS });
await client.connect();
const q = (s: string, p: unknown[] = []) => client.query(s, p);
const tenantId = bench.tenantId;
async function addEndpoints(prefix: string, n: number): Promise<string[]> {
  const { rows } = await q(
    `INSERT INTO "Endpoint"(id, "tenantId", url, "eventTypes", "updatedAt")
     SELECT $1 || g, $2, 'http://x.test/', '{}', now() FROM generate_series(1, $3::int) g RETURNING id`, [prefix, tenantId, n]);
  return rows.map((r: { id: string }) => r.id);
}
const eps = await addEndpoints('ep_', 10);
await addEndpoints('ep_idle_', Number(process.env.N ?? 0));
async function seed(n: number, status: string, endpoints: string[]) {
  await q(`WITH ev AS (INSERT INTO "Event"(id,"tenantId","eventType",payload) SELECT 'ev_'||md5(random()::text||g), $1, 's.x', '{"a":1}' FROM generate_series(1,$2) g RETURNING id)
    INSERT INTO "Delivery"(id,"tenantId","endpointId","eventId","eventType",status,"nextAttemptAt","updatedAt")
    SELECT 'dl_'||md5(random()::text||ev.id||e), $1, e, ev.id, 's.x', $3::"DeliveryStatus", CASE WHEN $3 = 'PENDING' THEN now() - interval '1 second' END, now() FROM ev, unnest($4::text[]) e`, [tenantId, n, status, endpoints]);
}
let named = false;
/** SHOW=hookyard_claim_due or hookyard_complete: that statement's EXPLAIN ANALYZE, once, in the stale backlog. */
let explain: string | undefined;
const sql: RawQuery = async (text, params, name) => {
  if (explain && name === explain) {
    explain = undefined;
    await client.query('SAVEPOINT x');
    const r = await client.query(`EXPLAIN (ANALYZE, COSTS OFF) ${text}`, params);
    await client.query('ROLLBACK TO SAVEPOINT x');
    console.log(r.rows.map((x: Record<string, string>) => x['QUERY PLAN']).join('\n'));
  }
  return (await (named && name ? client.query({ name, text, values: params }) : client.query(text, params))).rows;
};
const modes = ['unnamed', 'auto', 'generic'] as const;
let busy: store.EndpointCapacity[] = [];
// LIMIT=64 PER_ENDPOINT=16: the dispatcher's batch and per-endpoint defaults at saturation.
const LIMIT = Number(process.env.LIMIT ?? 5);
const PER_ENDPOINT = Number(process.env.PER_ENDPOINT ?? 10);
async function measure(label: string, rounds = 200) {
  const t: Record<string, { claim: number[]; complete: number[] }> = {};
  for (const m of modes) t[m] = { claim: [], complete: [] };
  for (let r = 0; r < rounds; r++) {
    for (const m of modes) {
      named = m !== 'unnamed';
      await q(`SET plan_cache_mode = ${m === 'generic' ? 'force_generic_plan' : 'auto'}`);
      await q('BEGIN');
      let t0 = performance.now();
      const claimed = await store.claimDue(sql, 'owner1', 30_000, LIMIT, PER_ENDPOINT, busy);
      t[m]!.claim.push(performance.now() - t0);
      if (claimed.length === 0) throw new Error(`claimed ${claimed.length}`);
      t0 = performance.now();
      const rec = await store.complete(sql, 'owner1', claimed.map((c) => ({ deliveryId: c.id, attemptId: newId('attempt'), attemptNumber: 1, trigger: 'event', startedAt: new Date(), durationMs: 3, responseStatus: 200, responseBody: 'ok', error: null, status: 'DELIVERED', retryInMs: null, disableReason: null })), 0);
      t[m]!.complete.push(performance.now() - t0);
      if (rec.length !== 1) throw new Error('not recorded');
      await q('ROLLBACK');
    }
  }
  const med = (a: number[]) => a.sort((x, y) => x - y)[a.length >> 1]!.toFixed(3);
  const p90 = (a: number[]) => a.sort((x, y) => x - y)[Math.floor(a.length * 0.9)]!.toFixed(3);
  console.log(label, Object.fromEntries(modes.map((m) => [m, `claim ${med(t[m]!.claim)}/${p90(t[m]!.claim)}  complete ${med(t[m]!.complete)}/${p90(t[m]!.complete)}`])));
}
await seed(20000, 'DELIVERED', eps);
await q('ANALYZE');
await seed(1, 'PENDING', eps.slice(0, 5));
await measure('low (5 due, 200k archived)');
await seed(4000, 'PENDING', eps.slice(0, 5));
explain = process.env.SHOW;
await measure('backlog stale stats (20k due)', 60);
await q('ANALYZE');
await measure('backlog fresh stats (20k due)', 60);
busy = [{ endpointId: eps[0]!, free: 0 }, { endpointId: eps[1]!, free: 0 }, { endpointId: eps[2]!, free: 1 }];
await measure('backlog, 3 busy endpoints', 60);
await q(`UPDATE "Endpoint" SET fifo = true WHERE id = ANY($1)`, [eps.slice(2, 5)]);
await measure('backlog, 3 busy, 3 fifo lines of 4000', 60);
await seed(2, 'PENDING', await addEndpoints('ep_more_', 500));
await measure('plus 500 endpoints with 2 due each (stale)', 60);
await q('ANALYZE');
await measure('plus 500 endpoints with 2 due each (fresh)', 60);
await client.end();
await bench.drop();
