import pg from 'pg';
import { readdirSync, readFileSync } from 'node:fs';
import * as newStore from './src/dispatcher/store.ts';
import * as oldStore from './oldStore-tmp.mts';

const DB = 'fifo_explain';
const admin = new pg.Client({ connectionString: 'postgres://postgres@127.0.0.1:5432/postgres' });
await admin.connect();
await admin.query(`DROP DATABASE IF EXISTS ${DB}`);
await admin.query(`CREATE DATABASE ${DB}`);
await admin.end();
const c = new pg.Client({ connectionString: `postgres://postgres@127.0.0.1:5432/${DB}` });
await c.connect();
const dir = '/work/wt-fifo/prisma/migrations';
for (const m of readdirSync(dir).filter((d) => /^\d/.test(d)).sort()) await c.query(readFileSync(`${dir}/${m}/migration.sql`, 'utf8'));
await c.query(`INSERT INTO "Tenant"(id,name) VALUES ('ten_a','a'),('ten_b','b')`);
await c.query(`INSERT INTO "Endpoint"(id,"tenantId",url,"updatedAt") SELECT 'ep_a'||g,'ten_a','http://x',now() FROM generate_series(0,9) g`);
await c.query(`INSERT INTO "Endpoint"(id,"tenantId",url,"updatedAt",fifo) VALUES ('ep_b','ten_b','http://x',now(),false),('ep_f','ten_b','http://x',now(),true)`);
// Statistics from before the backlog: the queue was empty when autovacuum last analyzed.
await c.query(`ANALYZE`);
await c.query(`INSERT INTO "Event"(id,"tenantId","eventType",payload) VALUES ('evt_a','ten_a','t','{}'),('evt_b','ten_b','t','{}')`);
await c.query(`INSERT INTO "Delivery"(id,"tenantId","endpointId","eventId","eventType","nextAttemptAt") SELECT 'dlv_'||lpad(g::text,6,'0'),'ten_a','ep_a'||(g%10),'evt_a','t',now()-interval '1 minute'+g*interval '1 ms' FROM generate_series(1,20000) g`);
await c.query(`INSERT INTO "Delivery"(id,"tenantId","endpointId","eventId","eventType","nextAttemptAt") SELECT 'dlv_f'||g,'ten_b','ep_f','evt_b','t',now() FROM generate_series(1,500) g`);
await c.query(`INSERT INTO "Delivery"(id,"tenantId","endpointId","eventId","eventType") VALUES ('dlv_zb','ten_b','ep_b','evt_b','t')`);
if (process.argv[2] === 'analyze') await c.query('ANALYZE "Delivery"');

async function explain(label: string, store: typeof newStore, busy: { endpointId: string; free: number }[]) {
  let sql = '';
  let params: unknown[] = [];
  const fake = { $queryRawUnsafe: async (s: string, ...p: unknown[]) => { sql = s; params = p; return []; } };
  await store.claimDue(fake as never, 'me', 30000, 64, 16, busy);
  const times: number[] = [];
  let plan = '';
  for (let i = 0; i < 21; i++) {
    await c.query('BEGIN');
    const ids = await c.query(`${sql.replace(/RETURNING[\s\S]*$/, 'RETURNING d.id, d."tenantId"')}`, params);
    await c.query('ROLLBACK');
    await c.query('BEGIN');
    const r = await c.query(`EXPLAIN (ANALYZE, BUFFERS) ${sql}`, params);
    await c.query('ROLLBACK');
    plan = r.rows.map((x) => x['QUERY PLAN']).join('\n');
    times.push(Number(/Execution Time: ([\d.]+)/.exec(plan)![1]));
    if (i === 0) {
      const byTenant: Record<string, number> = {};
      for (const row of ids.rows) byTenant[row.tenantId] = (byTenant[row.tenantId] ?? 0) + 1;
      console.log(label, 'claimed', ids.rows.length, JSON.stringify(byTenant));
    }
  }
  times.sort((a, b) => a - b);
  console.log(label, 'execution ms median', times[10], "min", times[0], "p90", times[18]);
  if (process.env.PLAN) console.log(plan);
}
await explain('old, nothing busy', oldStore as never, []);
await explain('new, nothing busy', newStore, []);
const busy = Array.from({ length: 10 }, (_, i) => ({ endpointId: `ep_a${i}`, free: 4 }));
await explain('old, A endpoints 12/16 busy', oldStore as never, busy);
await explain('new, A endpoints 12/16 busy', newStore, busy);
await c.end();
