// Subscriptions at scale (issue 12 item 3): N graphql-ws subscribers of one tenant and one shape,
// in a process of their own; the server is one Hookyard instance (API + dispatcher). Each event
// makes three changes (PENDING, SENDING, DELIVERED) pushed to every subscriber: reported are the
// pushes delivered of those expected and the push lag (change's occurredAt → client), p50/p99.
// The first `warmupEvents` (BENCH_SUB_WARMUP, default 10) are sent the same way but not measured,
// as every other scenario here warms up: fresh processes push their first few thousand frames
// through code V8 has not optimized yet, and in a run of 34 events those few changes alone made
// the p99 (a cold first 200 ms: BENCHMARKS.md). Their lag is reported apart, as `warmup`.
// Run alone: node --import tsx bench/subscriptions.ts [subscribers] [events]
import type { GraphQLClient } from '../src/client/graphql.js';
import { createEndpoint } from './client.js';
import { BenchSendEventCount } from './operations.js';
import { spawnTs } from './procs.js';
import { sleep } from './stats.js';

export interface SubscriptionBench {
  subscribers: number;
  events: number;
  expected: number;
  pushes: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  errors: number;
  /** p50/p99 per pushed status: PENDING is published by the API, SENDING and DELIVERED by the dispatcher. */
  statuses: Record<string, { p50: number; p99: number }>;
  /** Median time between an event's changes (their occurredAt): how bursty the pushes are offered. */
  changeGapsMs: { pendingToSending: number; sendingToDelivered: number };
  /**
   * Per change: from its occurredAt to its first subscriber (startP50), and from its first
   * subscriber to its last (the fan-out's length at the clients), medians over the changes.
   */
  fanOutMs: { startP50: number; lengthP50: number; lengthMax: number };
  /** How many processes the subscribers were spread over. */
  clientProcesses: number;
  /** First push to last, at the clients. */
  pushMs: number;
  /**
   * CPU per push (user + system): the server's from the first event sent until the clients are
   * done (it includes the events' API calls and dispatch, small beside 1,000 pushes each), and
   * the clients' process's from its first push to its last. Steadier than the lag on a shared
   * machine, where the lag mostly says how much of a core each process was given.
   */
  serverCpuUsPerPush: number;
  clientCpuUsPerPush: number;
  /** Pushes per TCP read at the clients (from their first push on): how many frames shared a read. */
  framesPerRead: number;
  /** The unmeasured first events: how many, their pushes received, and their lag. */
  warmup: { events: number; pushes: number; p50Ms: number; p99Ms: number; maxMs: number };
}

interface Deps {
  /** The Hookyard instance's base URL. */
  url: string;
  key: string;
  /** A client of the instance (bench/client.ts). */
  api: GraphQLClient;
  receiverUrl: string;
}


/** hookyard_graphql_subscribers from the instance's /metrics. */
async function listening(url: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  return Number(/^hookyard_graphql_subscribers (\d+)/m.exec(text)?.[1] ?? 0);
}

/** The instance's process_cpu_seconds_total (prom-client's default metrics), in ms. */
async function serverCpuMs(url: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  return 1000 * Number(/^process_cpu_seconds_total ([\d.e+-]+)/m.exec(text)?.[1] ?? NaN);
}

/** The raw figures one client process prints (bench/subClients.ts). */
interface ClientRaw {
  byStatus: Record<string, number[]>;
  errors: number;
  changes: Record<string, number>[];
  spans: Record<string, { occurred: number; first: number; last: number }>;
  firstAt: number;
  lastAt: number;
  reads: number;
  cpuMs: number;
  warmupLags: number[];
}

const pctOf = (xs: number[], p: number) => {
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
};

/**
 * `clientProcesses` (BENCH_SUB_CLIENT_PROCS, default 1) splits the subscribers over that many
 * processes: whether the clients' own process bounds the tail of a fan-out.
 */
export async function subscriptionBench(
  deps: Deps,
  subscribers: number,
  events: number,
  gapMs = 50,
  clientProcesses = Number(process.env.BENCH_SUB_CLIENT_PROCS ?? 1),
  warmupEvents = Number(process.env.BENCH_SUB_WARMUP ?? 10),
): Promise<SubscriptionBench> {
  const endpointId = await createEndpoint(deps.api, { url: `${deps.receiverUrl}/sub/0`, eventTypes: ['sub.x'] });
  const expected = events * 3 * subscribers;
  const shares = Array.from({ length: clientProcesses }, (_, i) => Math.floor(subscribers / clientProcesses) + (i < subscribers % clientProcesses ? 1 : 0));
  const clients = await Promise.all(
    shares.map((n, i) =>
      spawnTs(
        'bench/subClients.ts',
        [deps.url.replace('http', 'ws') + '/graphql', deps.key, endpointId, String(n), String(events * 3 * n), '30000', String(warmupEvents)],
        {},
        (l) => l.startsWith('{"connected"'),
        process.env.BENCH_PROFILE ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_PROFILE}/clients${i}`] : [],
      ),
    ),
  );
  // 'close', not 'exit': the figures' line may still be in the pipe when the process exits.
  const exited = clients.map((c) => new Promise<void>((r) => c.proc.on('close', () => r())));
  let cpu0 = NaN;
  let cpu1 = NaN;
  try {
    // Every subscription listening on the server, not a fixed sleep.
    const until = Date.now() + 60_000;
    while ((await listening(deps.url)) < subscribers) {
      if (Date.now() > until) throw new Error(`only ${await listening(deps.url)} of ${subscribers} subscriptions listening`);
      await sleep(100);
    }
    for (let i = 0; i < warmupEvents; i++) {
      await deps.api.request(BenchSendEventCount, { input: { eventType: 'sub.x', payload: { warmup: i } } });
      await sleep(gapMs);
    }
    cpu0 = await serverCpuMs(deps.url);
    for (let i = 0; i < events; i++) {
      await deps.api.request(BenchSendEventCount, { input: { eventType: 'sub.x', payload: { i } } });
      await sleep(gapMs);
    }
    // Every event is in: the clients give the rest of the pushes until their deadline.
    for (const c of clients) c.proc.kill('SIGUSR2');
    await Promise.all(exited);
    cpu1 = await serverCpuMs(deps.url);
  } finally {
    await Promise.all(clients.map((c) => c.kill()));
  }
  const raws = clients.map((c) => {
    const line = c.lines.find((l) => l.startsWith('{"raw"'));
    if (!line) throw new Error(`subscriber process gave no figures:\n${c.lines.slice(-10).join('\n')}`);
    return (JSON.parse(line) as { raw: ClientRaw }).raw;
  });
  const byStatus: Record<string, number[]> = {};
  for (const r of raws) for (const [status, xs] of Object.entries(r.byStatus)) (byStatus[status] ??= []).push(...xs);
  const lags = Object.values(byStatus).flat();
  const spans = new Map<string, { occurred: number; first: number; last: number }>();
  for (const r of raws) {
    for (const [change, x] of Object.entries(r.spans)) {
      const seen = spans.get(change);
      spans.set(change, seen ? { occurred: x.occurred, first: Math.min(seen.first, x.first), last: Math.max(seen.last, x.last) } : x);
    }
  }
  const gaps = (from: string, to: string) => pctOf(raws[0]!.changes.filter((t) => t[from] && t[to]).map((t) => t[to]! - t[from]!), 50);
  const cpuMs = raws.reduce((sum, r) => sum + r.cpuMs, 0);
  const warmupLags = raws.flatMap((r) => r.warmupLags);
  const perPush = (ms: number) => Math.round(((1000 * ms) / Math.max(1, lags.length)) * 10) / 10;
  return {
    subscribers,
    events,
    expected,
    pushes: lags.length,
    p50Ms: pctOf(lags, 50),
    p99Ms: pctOf(lags, 99),
    maxMs: Math.max(...lags),
    errors: raws.reduce((sum, r) => sum + r.errors, 0),
    statuses: Object.fromEntries(Object.entries(byStatus).map(([s, xs]) => [s, { p50: pctOf(xs, 50), p99: pctOf(xs, 99) }])),
    changeGapsMs: { pendingToSending: gaps('PENDING', 'SENDING'), sendingToDelivered: gaps('SENDING', 'DELIVERED') },
    fanOutMs: {
      startP50: pctOf([...spans.values()].map((x) => x.first - x.occurred), 50),
      lengthP50: pctOf([...spans.values()].map((x) => x.last - x.first), 50),
      lengthMax: Math.max(...[...spans.values()].map((x) => x.last - x.first)),
    },
    clientProcesses,
    pushMs: Math.max(...raws.map((r) => r.lastAt)) - Math.min(...raws.map((r) => r.firstAt)),
    serverCpuUsPerPush: perPush(cpu1 - cpu0),
    clientCpuUsPerPush: perPush(cpuMs),
    framesPerRead: Math.round((lags.length / Math.max(1, raws.reduce((sum, r) => sum + r.reads, 0))) * 100) / 100,
    warmup: { events: warmupEvents, pushes: warmupLags.length, p50Ms: pctOf(warmupLags, 50), p99Ms: pctOf(warmupLags, 99), maxMs: warmupLags.reduce((a, b) => Math.max(a, b), 0) },
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { createBenchDatabase, startHookyard, startReceiverProc } = await import('./procs.js');
  const { benchClient } = await import('./client.js');
  const subscribers = Number(process.argv[2] ?? 1000);
  const events = Number(process.argv[3] ?? 34);
  const db = await createBenchDatabase('hy_subs', 'bench');
  const receiver = await startReceiverProc();
  const profile = process.env.BENCH_PROFILE ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_PROFILE}`] : [];
  const server = await startHookyard({ DATABASE_URL: db.databaseUrl, LOG_LEVEL: 'info', HOOKYARD_ROLE: 'all' }, profile);
  try {
    const api = benchClient(server.url, db.key);
    console.log(JSON.stringify(await subscriptionBench({ url: server.url, key: db.key, api, receiverUrl: receiver.url }, subscribers, events)));
  } finally {
    await server.kill();
    await receiver.kill();
    await db.drop();
  }
  process.exit(0);
}
