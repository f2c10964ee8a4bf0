// `npm run bench:memory`: RSS of an idle API process (HOOKYARD_ROLE=api, PostgreSQL, encryption key
// set, built code run with plain node as `npm run start:prod` does) after a few authenticated
// queries, per variant of node flags / environment, MEM_ROUNDS rounds interleaved (median printed).
// Each process preloads bench/memprobe.mjs, which prints process.memoryUsage(), V8 heap spaces and
// the loaded scripts by package once the RSS has been read. Needs `npm run build` first.
import { readFileSync } from 'node:fs';
import { createBenchDatabase, spawnNode } from './procs.js';

const ROUNDS = Number(process.env.MEM_ROUNDS ?? 3);
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

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const rssMb = (pid: number) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) / 1024;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function main() {
  const db = await createBenchDatabase('hy_mem', 'mem');
  const results = new Map<string, { rss: number[]; probe: any }>();
  try {
    for (let round = 0; round < ROUNDS; round++) {
      for (const v of VARIANTS) {
        const env = {
          PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'info', HOOKYARD_ROLE: 'api', DATABASE_URL: db.databaseUrl,
          HOOKYARD_ENCRYPTION_KEY: BENCH_ENCRYPTION_KEY, ...v.env,
        };
        const argv = v.env?.MEM_VIA_BIN
          ? ['--import', './bench/memprobe.mjs', 'bin/hookyard.js', 'serve']
          : [...v.nodeArgs, '--import', './bench/memprobe.mjs', 'dist/src/main.js', 'serve'];
        const p = await spawnNode(argv, env, (l) => l.includes('"hookyard started"'));
        const base = (JSON.parse(p.readyLine) as { url: string }).url;
        for (const query of ['{ endpoints(first: 10) { edges { node { id url } } } }', '{ deliveries(first: 10) { edges { node { id status } } } }', '{ apiKeys(first: 5) { edges { node { id name } } } }', '{ endpoints(first: 1) { totalCount } }', '{ deliveries(first: 1) { edges { cursor } } }']) {
          const res = await fetch(base, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${db.key}` }, body: JSON.stringify({ query }) });
          await res.text();
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

main().then(() => process.exit(0), (err) => { console.error(err); process.exit(1); });
