// Runs the graphile-worker peer (./graphile.ts) and the dispatch floor (./floor.ts) for a
// benchmark: bundled with esbuild and run with plain node, as the built Hookyard runs (tsx's
// compiler in their process would count against them), against N deliveries seeded for each in
// the same database, to the same receiver.
import { type Proc, spawnNode } from '../procs.js';
import { seedFloor } from './floor.js';
import { seedPeer } from './graphile.js';

// Beside dist/ (gitignored), so the bundles' packages resolve from this checkout's node_modules.
export const PEER_SCRIPT = 'dist-peers/graphile.mjs';
const FLOOR_SCRIPT = 'dist-peers/floor.mjs';

export async function buildPeer(): Promise<void> {
  const { build } = await import('esbuild');
  for (const [entry, outfile] of [['bench/peers/graphile.ts', PEER_SCRIPT], ['bench/peers/floor.ts', FLOOR_SCRIPT]]) {
    await build({ entryPoints: [entry!], bundle: true, packages: 'external', platform: 'node', format: 'esm', outfile, logLevel: 'warning' });
  }
}

/** Seeds `n` pending deliveries of `payload(i)` to `url`, then starts the peer on them (64 jobs at a time, as Hookyard's dispatch concurrency). */
export async function startPeer(databaseUrl: string, url: string, n: number, payload: (i: number) => unknown, options: { nodeArgs?: string[]; env?: Record<string, string> } = {}) {
  await seedPeer(databaseUrl, url, n, payload);
  return spawnNode([...(options.nodeArgs ?? []), PEER_SCRIPT], { DATABASE_URL: databaseUrl, PEER_CONCURRENCY: '64', ...options.env }, (l) => l.includes('"peer":"ready"'));
}

/** Throws unless every delivery the peer was given is DELIVERED (run after the receiver counted them all). */
export async function checkPeerDelivered(query: <T>(sql: string) => Promise<T[]>): Promise<void> {
  const [row] = await query<{ n: number }>(`SELECT count(*)::int AS n FROM peer.delivery WHERE status <> 'DELIVERED'`);
  if (row!.n !== 0) throw new Error(`peer: ${row!.n} deliveries not DELIVERED after the receiver got them all`);
}

interface Receiver { url: string; reset(): Promise<void>; count(): Promise<number>; stats(): Promise<{ arrivals: [string, string, number, string][] }> }

/**
 * One peer run for `npm run bench`'s dispatch scenario, measured as that scenario measures
 * Hookyard: deliveries per second between the receiver's first and last arrival.
 */
export async function peerDispatchRate(databaseUrl: string, receiver: Receiver, n: number, payload: (i: number) => unknown): Promise<{ deliveriesPerSecond: number }> {
  await buildPeer();
  await receiver.reset();
  return rateOf(await startPeer(databaseUrl, `${receiver.url}/peer`, n, payload), receiver, n, 'peer');
}

/**
 * One run of the dispatch floor (./floor.ts), measured as peerDispatchRate measures the peer.
 * `watch` is called with the floor's pid once it runs and again once the receiver has every
 * delivery (the bench reads its CPU and its database's there, as it does for Hookyard).
 */
export async function floorDispatchRate(databaseUrl: string, receiver: Receiver, n: number, payload: (i: number) => unknown,
  watch: (pid: number, phase: 'start' | 'end') => Promise<void> = async () => {}): Promise<{ deliveriesPerSecond: number }> {
  await buildPeer();
  await seedFloor(databaseUrl, `${receiver.url}/floor`, n, payload);
  await receiver.reset();
  // BENCH_PROFILE=dir: its CPU profiles go to dir/floor, beside the dispatcher's.
  const profile = process.env.BENCH_PROFILE ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_PROFILE}/floor`] : [];
  const floor = await spawnNode([...profile, FLOOR_SCRIPT], { DATABASE_URL: databaseUrl }, (l) => l.includes('"floor":"ready"'));
  // Killed (SIGTERM: it finishes its writes, then exits) before its deliveries are checked.
  const rate = await rateOf(floor, receiver, n, 'floor', () => watch(floor.proc.pid!, 'start'), () => watch(floor.proc.pid!, 'end'));
  if (floor.proc.exitCode !== 0) throw new Error(`floor did not exit cleanly (${floor.proc.exitCode ?? floor.proc.signalCode}):\n${floor.lines.slice(-20).join('\n')}`);
  const pg = (await import('pg')).default;
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const { rows: [row] } = await client.query<{ n: number }>(`SELECT count(*)::int AS n FROM floor.delivery WHERE status <> 'DELIVERED'`);
    if (row!.n !== 0) throw new Error(`floor: ${row!.n} deliveries not DELIVERED after the receiver got them all`);
  } finally {
    await client.end();
  }
  return rate;
}

/** Waits for the receiver to have `n`, then kills `proc`; fails at once, with its output, if `proc` exits first. */
async function rateOf(proc: Proc, receiver: Receiver, n: number, name: string, started = async () => {}, done = async () => {}): Promise<{ deliveriesPerSecond: number }> {
  try {
    await started();
    const t0 = Date.now();
    while ((await receiver.count()) < n) {
      if (proc.proc.exitCode !== null || proc.proc.signalCode !== null) throw new Error(`${name} exited:\n${proc.lines.slice(-20).join('\n')}`);
      if (Date.now() - t0 > 600_000) throw new Error(`${name}: dispatch did not finish in 10 minutes`);
      await new Promise((r) => setTimeout(r, 200));
    }
    await done();
  } finally {
    await proc.kill();
  }
  const times = (await receiver.stats()).arrivals.map((a) => a[2]).sort((a, b) => a - b);
  return { deliveriesPerSecond: times.length / ((times.at(-1)! - times[0]!) / 1000) };
}
