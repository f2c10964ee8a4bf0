// Runs the graphile-worker peer (./graphile.ts) for a benchmark: bundled with esbuild and run with
// plain node, as the built Hookyard runs (tsx's compiler in its process would count against it),
// against N deliveries seeded for it in the same database, to the same receiver.
import { spawnNode } from '../procs.js';
import { seedPeer } from './graphile.js';

// Beside dist/ (gitignored), so the bundle's packages resolve from this checkout's node_modules.
export const PEER_SCRIPT = 'dist-peers/graphile.mjs';

export async function buildPeer(): Promise<void> {
  const { build } = await import('esbuild');
  await build({ entryPoints: ['bench/peers/graphile.ts'], bundle: true, packages: 'external', platform: 'node', format: 'esm', outfile: PEER_SCRIPT, logLevel: 'warning' });
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
  const peer = await startPeer(databaseUrl, `${receiver.url}/peer`, n, payload);
  try {
    const t0 = Date.now();
    while ((await receiver.count()) < n) {
      if (Date.now() - t0 > 600_000) throw new Error('peer: dispatch did not finish in 10 minutes');
      await new Promise((r) => setTimeout(r, 200));
    }
  } finally {
    await peer.kill();
  }
  const times = (await receiver.stats()).arrivals.map((a) => a[2]).sort((a, b) => a - b);
  return { deliveriesPerSecond: times.length / ((times.at(-1)! - times[0]!) / 1000) };
}
