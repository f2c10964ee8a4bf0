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
import { buildPeer, checkPeerDelivered, startPeer } from './peers/harness.js';
import { median, sleep } from './stats.js';

const ROUNDS = Number(process.env.MEM_ROUNDS ?? 3);
// Builds to compare in the same run, `dir:label,…` (e.g. a `node scripts/build.mjs --out DIR` of the commit before).
const DISTS = (process.env.MEM_DISTS ?? 'dist:current').split(',').map((d) => {
  const [dir, label] = d.split(':');
  return { dir: dir!, label: label ?? dir! };
});
// MEM_MODE=dispatch: a dispatcher process (HOOKYARD_ROLE=dispatcher) draining MEM_DELIVERIES
// pending deliveries to a receiver that answers 200 at once: peak RSS (sampled every 100 ms),
// deliveries/s and CPU per delivery, per variant, so a flag's throughput cost is measured beside its
// memory saving; then, each round, the graphile-worker peer (bench/peers/) on as many deliveries to
// the same receiver, and each variant's ratios to it. MEM_ONLY=peer runs the peer alone.
const MODE = process.env.MEM_MODE ?? 'idle';
const DELIVERIES = Number(process.env.MEM_DELIVERIES ?? 20_000);
const SETTLE_MS = Number(process.env.MEM_SETTLE_MS ?? 5000);
const BENCH_ENCRYPTION_KEY = 'YmVuY2gta2V5LWZvci1ob29reWFyZC1iZW5jaGVzLTA=';

/** `dispatchOnly`: measured in MEM_MODE=dispatch only. */
interface Variant { name: string; nodeArgs: string[]; env?: Record<string, string>; dispatchOnly?: boolean }
/** MEM_MODE=dispatch without MEM_ONLY: as it ships, and with the dispatcher's growing turned off (what that default costs and saves). */
const DISPATCH_DEFAULT = ['node (no flags)', '--heap-growing-percent=0'];
const VARIANTS = ([
  { name: 'node (no flags)', nodeArgs: [] },
  { name: '--max-semi-space-size=2', nodeArgs: ['--max-semi-space-size=2'] },
  { name: '--v8-pool-size=1', nodeArgs: ['--v8-pool-size=1'] },
  { name: 'MALLOC_ARENA_MAX=2', nodeArgs: [], env: { MALLOC_ARENA_MAX: '2' } },
  // Where the dispatcher's peak goes is old-space garbage awaiting V8's first full GC (BENCHMARKS.md, issue 11
  // item 2, dispatcher): these move when that GC comes.
  { name: '--max-old-space-size=256', nodeArgs: ['--max-old-space-size=256'], dispatchOnly: true },
  { name: '--max-old-space-size=1024', nodeArgs: ['--max-old-space-size=1024'], dispatchOnly: true },
  { name: '--optimize-for-size', nodeArgs: ['--optimize-for-size'], dispatchOnly: true },
  { name: '--heap-growing-percent=50', nodeArgs: ['--heap-growing-percent=50'], dispatchOnly: true },
  { name: '--heap-growing-percent=25', nodeArgs: ['--heap-growing-percent=25'], dispatchOnly: true },
  { name: '--heap-growing-percent=100', nodeArgs: ['--heap-growing-percent=100'], dispatchOnly: true },
  // V8's own growing (the flag's default, 0): on a build that sets the dispatcher's at run time, turns it off.
  { name: '--heap-growing-percent=0', nodeArgs: ['--heap-growing-percent=0'], dispatchOnly: true },
  { name: '--max-semi-space-size=8', nodeArgs: ['--max-semi-space-size=8'], dispatchOnly: true },
  { name: 'bin/hookyard.js start (production flags)', nodeArgs: [], env: { MEM_VIA_BIN: '1' } },
] as Variant[]).filter((v) => !process.env.MEM_ONLY || process.env.MEM_ONLY.split(',').some((o) => v.name.includes(o.split(':').at(-1)!)));
/** MEM_ONLY entries `label:part` pick a variant for that build only (MEM_DISTS label); `part` alone, for every build. */
const wanted = (dist: string, variant: string) =>
  !process.env.MEM_ONLY || process.env.MEM_ONLY.split(',').some((o) => {
    const [label, part] = o.includes(':') ? o.split(':') : [undefined, o];
    return (label === undefined || label === dist) && variant.includes(part!);
  });

/** CPU time (user + system) a process has used so far, in ms (clock ticks of 10 ms): a cost per delivery that the machine's load moves less than deliveries/s. */
const cpuMs = (pid: number) => {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
};
const rssMb = (pid: number) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) / 1024;

async function main() {
  const db = await createBenchDatabase('hy_mem', 'mem');
  const results = new Map<string, { rss: number[]; probe: any }>();
  try {
    if (MODE === 'dispatch') return void (await dispatch(db));
    for (let round = 0; round < ROUNDS; round++) {
      for (const dist of DISTS) for (const variant of VARIANTS.filter((x) => !x.dispatchOnly)) {
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

/** Asks a process that preloaded memprobe.mjs for its figures (SIGUSR2) and waits for its line. */
async function probeOf(p: { proc: import('node:child_process').ChildProcess }): Promise<any> {
  const line = new Promise<string>((resolve) => {
    const onData = (c: Buffer) => {
      const l = c.toString().split('\n').find((x) => x.startsWith('MEMPROBE {'));
      if (l) resolve(l.slice('MEMPROBE '.length));
    };
    p.proc.stderr!.on('data', onData);
    p.proc.stdout!.on('data', onData);
  });
  p.proc.kill('SIGUSR2');
  return JSON.parse(await Promise.race([line, sleep(10_000).then(() => '{}')]));
}

const PEER = 'graphile-worker peer';

async function dispatch(db: Awaited<ReturnType<typeof createBenchDatabase>>) {
  const receiver = await startReceiverProc();
  const base = { PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'info', DATABASE_URL: db.databaseUrl, HOOKYARD_ENCRYPTION_KEY: BENCH_ENCRYPTION_KEY, HOOKYARD_ALLOW_PRIVATE_TARGETS: 'true' };
  const ready = (l: string) => l.includes('"hookyard started"');
  const api = await spawnNode([`${DISTS[0]!.dir}/src/main.js`, 'serve'], { ...base, HOOKYARD_ROLE: 'api' }, ready);
  const url = (JSON.parse(api.readyLine) as { url: string }).url;
  const client = graphqlClient({ url, apiKey: db.key });
  await createEndpoint(client, { url: `${receiver.url}/mem` });
  const payload = (i: number) => ({ i, pad: 'x'.repeat(200) });
  const runPeer = !process.env.MEM_ONLY || process.env.MEM_ONLY.split(',').some((o) => PEER.includes(o));
  if (runPeer) await buildPeer();
  // Every run preloads the probe with sampling on, the peer too: the same (small) cost for all.
  const probeArgs = ['--import', './bench/memprobe.mjs'];
  const probeEnv = { MEMPROBE_SAMPLE_MS: '100', ...(process.env.MEMPROBE_SNAPSHOT_MB ? { MEMPROBE_SNAPSHOT_MB: process.env.MEMPROBE_SNAPSHOT_MB, MEMPROBE_SNAPSHOT_DIR: process.env.MEMPROBE_SNAPSHOT_DIR ?? '/tmp' } : {}) };
  const results = new Map<string, { peak: number[]; rate: number[]; cpuUs: number[]; probe: any }>();
  /** Starts a process against the N pending deliveries; peak RSS (100 ms samples) and deliveries/s until the receiver has them all. */
  const measure = async (name: string, start: () => Promise<Awaited<ReturnType<typeof spawnNode>>>, round: number) => {
    await receiver.reset();
    const d = await start();
    const started = performance.now();
    const cpu0 = cpuMs(d.proc.pid!);
    let peak = 0;
    // At the peak: how much of the RSS is anonymous memory (heaps, malloc) and how much mapped files (node, code).
    let split = '';
    for (;;) {
      if (d.proc.exitCode !== null || d.proc.signalCode !== null) throw new Error(`${name} exited (${d.proc.exitCode ?? d.proc.signalCode}):\n${d.lines.slice(-20).join('\n')}`);
      const status = readFileSync(`/proc/${d.proc.pid!}/status`, 'utf8');
      const kb = (field: string) => Number(new RegExp(`${field}:\\s+(\\d+)`).exec(status)?.[1] ?? 0);
      if (kb('VmRSS') / 1024 > peak) {
        peak = kb('VmRSS') / 1024;
        split = `anon ${(kb('RssAnon') / 1024).toFixed(1)}, file ${(kb('RssFile') / 1024).toFixed(1)}`;
      }
      if ((await receiver.count()) >= DELIVERIES) break;
      if (performance.now() - started > 600_000) throw new Error(`${name}: did not deliver ${DELIVERIES} in 10 minutes`);
      await sleep(100);
    }
    const rate = DELIVERIES / ((performance.now() - started) / 1000);
    const cpuUs = Math.round(((cpuMs(d.proc.pid!) - cpu0) * 1000) / DELIVERIES);
    const probe = await probeOf(d);
    await d.kill();
    const r = results.get(name) ?? { peak: [], rate: [], cpuUs: [], probe };
    r.peak.push(Math.round(peak * 10) / 10);
    r.rate.push(Math.round(rate));
    r.cpuUs.push(cpuUs);
    results.set(name, r);
    const at = probe.atPeak ?? {};
    console.log(`[memory] dispatch round ${round + 1} ${name}: peak RSS ${peak.toFixed(1)} MiB (${split}), ${Math.round(rate)} deliveries/s from the ready line, ${cpuUs} µs CPU per delivery; at the peak sample: heap used ${at.heapUsedMb} / total ${at.heapTotalMb}, new space ${at.spaces?.new_space?.sizeMb}, old space ${at.spaces?.old_space?.sizeMb} (used ${at.spaces?.old_space?.usedMb}), external ${at.externalMb}, arrayBuffers ${at.arrayBuffersMb}`);
  };
  try {
    for (let round = 0; round < ROUNDS; round++) {
      for (const dist of DISTS) for (const v of VARIANTS.filter((x) => !x.env?.MEM_VIA_BIN && (process.env.MEM_ONLY ? wanted(dist.label, x.name) : DISPATCH_DEFAULT.includes(x.name)))) {
        const name = DISTS.length > 1 ? `${dist.label}, ${v.name}` : v.name;
        // Seeded while no dispatcher runs: the one measured starts with all of them pending.
        for (let i = 0; i < DELIVERIES; i += 100) {
          await client.request(BenchSendEvents, {
            inputs: Array.from({ length: Math.min(100, DELIVERIES - i) }, (_, k) => ({ eventType: 'mem.x', payload: payload(i + k) })),
          });
        }
        // One endpoint: without raising its cap (16 in flight) the run measures that cap, not saturation.
        await measure(name, () => spawnNode([...v.nodeArgs, ...probeArgs, `${dist.dir}/src/main.js`, 'serve'], { ...base, HOOKYARD_ROLE: 'dispatcher', HOOKYARD_ENDPOINT_CONCURRENCY: '64', ...probeEnv, ...v.env }, ready), round);
      }
      if (runPeer) {
        // The same N deliveries of the same payload to the same receiver, 64 jobs at a time.
        await measure(PEER, () => startPeer(db.databaseUrl, `${receiver.url}/peer`, DELIVERIES, payload, { nodeArgs: probeArgs, env: probeEnv }), round);
        await checkPeerDelivered((sql) => db.prisma.$queryRawUnsafe(sql));
      }
    }
  } finally {
    await Promise.all([api.kill(), receiver.kill()]);
  }
  const summary = Object.fromEntries([...results].map(([n, r]) => [n, { peakRssMiB: median(r.peak), deliveriesPerS: median(r.rate), cpuUsPerDelivery: median(r.cpuUs), peak: r.peak, rate: r.rate, cpuUs: r.cpuUs, atPeak: r.probe.atPeak, packages: r.probe.packages }]));
  console.log(JSON.stringify(summary, null, 2));
  const peer = summary[PEER];
  if (peer) {
    for (const [n, r] of Object.entries(summary)) {
      if (n === PEER) continue;
      console.log(`[memory] ${n}: peak RSS ${r.peakRssMiB} MiB = ${(r.peakRssMiB / peer.peakRssMiB).toFixed(2)} × the peer's ${peer.peakRssMiB} MiB; ${r.deliveriesPerS} deliveries/s = ${(r.deliveriesPerS / peer.deliveriesPerS).toFixed(2)} × the peer's ${peer.deliveriesPerS}; ${r.cpuUsPerDelivery} µs CPU per delivery = ${(r.cpuUsPerDelivery / peer.cpuUsPerDelivery).toFixed(2)} × the peer's ${peer.cpuUsPerDelivery}`);
    }
  }
}

main().then(() => process.exit(0), (err) => { console.error(err); process.exit(1); });
