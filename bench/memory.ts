// `npm run bench:memory`: RSS of an idle API process (HOOKYARD_ROLE=api, PostgreSQL, encryption key
// set, built code run with plain node as `npm run start:prod` does) after a few authenticated
// queries, per variant of node flags / environment, MEM_ROUNDS rounds interleaved (median printed).
// Each process preloads bench/memprobe.mjs, which prints process.memoryUsage(), V8 heap spaces and
// the loaded scripts by package once the RSS has been read. Needs `npm run build` first.
import { readFileSync } from 'node:fs';
import { graphqlClient } from '../src/client/graphql.js';
import { createEndpoint } from './client.js';
import { BenchSendEvents } from './operations.js';
import { createBenchDatabase, spawnNode, startReceiverProc } from './procs.js';
import { median, sleep } from './stats.js';

const ROUNDS = Number(process.env.MEM_ROUNDS ?? 3);
// Builds to compare in the same run, `dir:label,…` (e.g. a `node scripts/build.mjs --out DIR` of the commit before).
const DISTS = (process.env.MEM_DISTS ?? 'dist:current').split(',').map((d) => {
  const [dir, label] = d.split(':');
  return { dir: dir!, label: label ?? dir! };
});
// MEM_MODE=dispatch: a dispatcher process (HOOKYARD_ROLE=dispatcher) draining MEM_DELIVERIES
// pending deliveries to a receiver that answers 200 at once: peak RSS (sampled every 100 ms) and
// deliveries/s, per variant, so a flag's throughput cost is measured beside its memory saving.
const MODE = process.env.MEM_MODE ?? 'idle';
const DELIVERIES = Number(process.env.MEM_DELIVERIES ?? 20_000);
const SETTLE_MS = Number(process.env.MEM_SETTLE_MS ?? 5000);
const BENCH_ENCRYPTION_KEY = 'YmVuY2gta2V5LWZvci1ob29reWFyZC1iZW5jaGVzLTA=';

interface Variant { name: string; nodeArgs: string[]; env?: Record<string, string> }
const VARIANTS = ([
  { name: 'node (no flags)', nodeArgs: [] },
  { name: '--max-semi-space-size=2', nodeArgs: ['--max-semi-space-size=2'] },
  { name: '--v8-pool-size=1', nodeArgs: ['--v8-pool-size=1'] },
  { name: 'MALLOC_ARENA_MAX=2', nodeArgs: [], env: { MALLOC_ARENA_MAX: '2' } },
  { name: 'bin/hookyard.js start (production flags)', nodeArgs: [], env: { MEM_VIA_BIN: '1' } },
] as Variant[]).filter((v) => !process.env.MEM_ONLY || process.env.MEM_ONLY.split(',').some((o) => v.name.includes(o)));

const rssMb = (pid: number) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) / 1024;

async function main() {
  const db = await createBenchDatabase('hy_mem', 'mem');
  const results = new Map<string, { rss: number[]; probe: any }>();
  try {
    if (MODE === 'dispatch') return void (await dispatch(db));
    for (let round = 0; round < ROUNDS; round++) {
      for (const dist of DISTS) for (const variant of VARIANTS) {
        const v = { ...variant, name: DISTS.length > 1 ? `${dist.label}, ${variant.name}` : variant.name };
        const env = {
          PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'info', HOOKYARD_ROLE: 'api', DATABASE_URL: db.databaseUrl,
          HOOKYARD_ENCRYPTION_KEY: BENCH_ENCRYPTION_KEY, ...v.env,
        };
        const argv = v.env?.MEM_VIA_BIN
          ? ['--import', './bench/memprobe.mjs', 'bin/hookyard.js', 'serve']
          : [...v.nodeArgs, '--import', './bench/memprobe.mjs', `${dist.dir}/src/main.js`, 'serve'];
        const p = await spawnNode(argv, env, (l) => l.includes('"hookyard started"'));
        const api = graphqlClient({ url: (JSON.parse(p.readyLine) as { url: string }).url, apiKey: db.key });
        for (const query of ['{ endpoints(first: 10) { edges { node { id url } } } }', '{ deliveries(first: 10) { edges { node { id status } } } }', '{ apiKeys(first: 5) { edges { node { id name } } } }', '{ endpoints(first: 1) { totalCount } }', '{ deliveries(first: 1) { edges { cursor } } }']) {
          // Warm-up only: answers, errors included, are not looked at.
          await api.execute(query);
        }
        await sleep(SETTLE_MS);
        const rss = rssMb(p.proc.pid!);
        const probeLine = new Promise<string>((resolve) => {
          const onData = (c: Buffer) => {
            const line = c.toString().split('\n').find((l) => l.startsWith('MEMPROBE '));
            if (line) resolve(line.slice('MEMPROBE '.length));
          };
          p.proc.stderr!.on('data', onData);
          p.proc.stdout!.on('data', onData);
        });
        p.proc.kill('SIGUSR2');
        const probe = JSON.parse(await Promise.race([probeLine, sleep(10_000).then(() => '{}')]));
        await p.kill();
        const r = results.get(v.name) ?? { rss: [], probe };
        r.rss.push(Math.round(rss * 10) / 10);
        results.set(v.name, r);
        console.log(`[memory] round ${round + 1} ${v.name}: RSS ${rss.toFixed(1)} MB (MiB), heap used ${probe.heapUsedMb} / total ${probe.heapTotalMb}, external ${probe.externalMb}`);
      }
    }
  } finally {
    await db.drop();
  }
  const summary = Object.fromEntries([...results].map(([name, r]) => [name, { rssMiB: median(r.rss), rounds: r.rss, ...r.probe }]));
  console.log(JSON.stringify(summary, null, 2));
}

async function dispatch(db: Awaited<ReturnType<typeof createBenchDatabase>>) {
  const receiver = await startReceiverProc();
  const base = { PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'info', DATABASE_URL: db.databaseUrl, HOOKYARD_ENCRYPTION_KEY: BENCH_ENCRYPTION_KEY, HOOKYARD_ALLOW_PRIVATE_TARGETS: 'true' };
  const ready = (l: string) => l.includes('"hookyard started"');
  const api = await spawnNode([`${DISTS[0]!.dir}/src/main.js`, 'serve'], { ...base, HOOKYARD_ROLE: 'api' }, ready);
  const url = (JSON.parse(api.readyLine) as { url: string }).url;
  const client = graphqlClient({ url, apiKey: db.key });
  await createEndpoint(client, { url: `${receiver.url}/mem` });
  const results = new Map<string, { peak: number[]; rate: number[] }>();
  try {
    for (let round = 0; round < ROUNDS; round++) {
      for (const dist of DISTS) for (const v of VARIANTS.filter((x) => !x.env?.MEM_VIA_BIN)) {
        const name = DISTS.length > 1 ? `${dist.label}, ${v.name}` : v.name;
        // Seeded while no dispatcher runs: the one measured starts with all of them pending.
        for (let i = 0; i < DELIVERIES; i += 100) {
          await client.request(BenchSendEvents, {
            inputs: Array.from({ length: Math.min(100, DELIVERIES - i) }, (_, k) => ({ eventType: 'mem.x', payload: { i: i + k, pad: 'x'.repeat(200) } })),
          });
        }
        await receiver.reset();
        // One endpoint: without raising its cap (16 in flight) the run measures that cap, not saturation.
        const d = await spawnNode([...v.nodeArgs, `${dist.dir}/src/main.js`, 'serve'], { ...base, HOOKYARD_ROLE: 'dispatcher', HOOKYARD_ENDPOINT_CONCURRENCY: '64', ...v.env }, ready);
        const started = performance.now();
        let peak = 0;
        for (;;) {
          peak = Math.max(peak, rssMb(d.proc.pid!));
          if ((await receiver.count()) >= DELIVERIES) break;
          await sleep(100);
        }
        const rate = DELIVERIES / ((performance.now() - started) / 1000);
        await d.kill();
        const r = results.get(name) ?? { peak: [], rate: [] };
        r.peak.push(Math.round(peak * 10) / 10);
        r.rate.push(Math.round(rate));
        results.set(name, r);
        console.log(`[memory] dispatch round ${round + 1} ${name}: peak RSS ${peak.toFixed(1)} MiB, ${Math.round(rate)} deliveries/s from the ready line`);
      }
    }
  } finally {
    await Promise.all([api.kill(), receiver.kill()]);
  }
  console.log(JSON.stringify(Object.fromEntries([...results].map(([n, r]) => [n, { peakRssMiB: median(r.peak), deliveriesPerS: median(r.rate), ...r }])), null, 2));
}

main().then(() => process.exit(0), (err) => { console.error(err); process.exit(1); });
