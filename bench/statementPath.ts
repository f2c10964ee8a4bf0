// sendEvent's one statement (STORE_EVENTS_SQL, src/domain/events.ts), five deliveries, sent 1,000
// times over 8 in flight through Prisma's $queryRawUnsafe, the hot `pg` pool directly
// (Database.query), and that pool prepared (what sendEvent uses).
// Prints this process's CPU ms per call for each, 5 alternating rounds after a warm-up.
// CPU time, unlike calls/s, stays readable on a loaded machine. Run: npx tsx bench/statementPath.ts
import { STORE_EVENTS_SQL, STORE_EVENTS_STATEMENT } from '../src/domain/events.js';
import { newId } from '../src/ids.js';
import { createBenchDatabase } from './procs.js';
import { median } from './stats.js';

const sql = STORE_EVENTS_SQL;
const bench = await createBenchDatabase('hy_bench_stmt', 'statement');
const { openDatabase } = await import('../src/db/client.js');
const { createLogger } = await import('../src/logger.js');
const db = await openDatabase({ databaseUrl: bench.databaseUrl, dataDir: '' }, createLogger('warn'));
const tenantId = bench.tenantId;
const eps: string[] = [];
for (let i = 0; i < 5; i++) {
  eps.push((await db.prisma.endpoint.create({ data: { id: newId('endpoint'), tenantId, url: 'http://x.test/', eventTypes: [] } })).id);
}
const params = () => {
  const ev = newId('event');
  const payload = JSON.stringify({ s: 'x'.repeat(200) });
  return [tenantId, [ev], ['s.x'], [payload], [null], false, null, 'event', eps.map(() => newId('delivery')), eps, eps.map(() => ev), eps.map(() => 's.x'), eps.map(() => 1000), [], null];
};
type Rows = { created: unknown[] }[];
const paths = {
  prisma: (p: unknown[]) => db.prisma.$queryRawUnsafe<Rows>(sql, ...p),
  pg: (p: unknown[]) => db.query<Rows[number]>(sql, p),
  named: (p: unknown[]) => db.query<Rows[number]>(sql, p, STORE_EVENTS_STATEMENT),
};
async function cpuMsPerCall(fn: (p: unknown[]) => Promise<Rows>, n: number): Promise<number> {
  const c0 = process.cpuUsage();
  let i = 0;
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      while (i++ < n) if ((await fn(params()))[0]!.created.length !== 5) throw new Error('not 5 deliveries');
    }),
  );
  const c = process.cpuUsage(c0);
  return (c.user + c.system) / 1000 / n;
}
await cpuMsPerCall(paths.prisma, 500);
await cpuMsPerCall(paths.pg, 500);
await cpuMsPerCall(paths.named, 500);
const runs = { prisma: [] as number[], pg: [] as number[], named: [] as number[] };
const wall = { prisma: [] as number[], pg: [] as number[], named: [] as number[] };
for (let r = 0; r < 5; r++)
  for (const k of ['prisma', 'pg', 'named'] as const) {
    const t0 = performance.now();
    runs[k].push(Number((await cpuMsPerCall(paths[k], 1000)).toFixed(3)));
    wall[k].push(Number(((performance.now() - t0) / 1000).toFixed(3)));
  }
console.log(JSON.stringify({ cpuMsPerCall: { prisma: median(runs.prisma), pg: median(runs.pg), named: median(runs.named) }, wallMsPerCall8InFlight: { prisma: median(wall.prisma), pg: median(wall.pg), named: median(wall.named) }, runs }));
await db.close();
await bench.drop();
