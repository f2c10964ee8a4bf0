// `npm run bench`: Hookyard against a real PostgreSQL and a local receiver (its own process).
// Medians of repeated runs where it makes sense; results to bench/results/<date>.json and the
// table in BENCHMARKS.md. BENCH_QUICK=1 runs a small version (CI), checking only that it works.
import { execSync } from 'node:child_process';
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import ky from 'ky';
import { Agent, Pool, setGlobalDispatcher } from 'undici';
import { newId } from '../src/ids.js';
import { createBenchDatabase, ROOT, spawnTs, startHookyard, startReceiverProc } from './procs.js';
import { subscriptionBench } from './subscriptions.js';
import { MAX_RESPONSE_BODY } from '../src/dispatcher/send.js';
import { undiciFetch, type TransportInit } from '../src/dispatcher/transport.js';
import { benchIssue15 } from './fairness.js';
import { floorDispatchRate, peerDispatchRate } from './peers/harness.js';
import { benchClient, createEndpoint, postClient } from './client.js';
import type { DeliveryFilter } from '../src/generated/gql/graphql.js';
import { BenchBulkReplay, BenchDeliveries, BenchDeliveryIds, BenchSendEvent, BenchSendEventCount, BenchSendEventId, BenchSendEvents } from './operations.js';
import { median, round, sleep } from './stats.js';

const QUICK = process.env.BENCH_QUICK === '1';
/** BENCH_ONLY=ceiling,dispatch runs just those (the table is then not rewritten). */
const ONLY = process.env.BENCH_ONLY ? new Set(process.env.BENCH_ONLY.split(',')) : null;
const want = (name: string) => !ONLY || ONLY.has(name);
const CONCURRENCY = 64;
const N = {
  ceilingSeconds: QUICK ? 1 : 5,
  repeats: QUICK ? 1 : 3,
  dispatch: QUICK ? 500 : 20_000,
  latencySeconds: Number(process.env.BENCH_LATENCY_SECONDS ?? (QUICK ? 2 : 10)),
  latencyEventsPerSecond: Number(process.env.BENCH_LATENCY_EVENTS_PER_SECOND ?? (QUICK ? 20 : 200)),
  latencyBelowEventsPerSecond: QUICK ? 10 : 40,
  ingestSeconds: QUICK ? 1 : 5,
  sendEventSeconds: QUICK ? 1 : Number(process.env.BENCH_SENDEVENT_SECONDS ?? 8),
  sendEventInFlight: 16,
  subscribers: QUICK ? 50 : 1000,
  subscriptionChanges: QUICK ? 10 : 100,
  rows: Number(process.env.BENCH_ROWS ?? (QUICK ? 20_000 : 1_000_000)),
  queries: QUICK ? 20 : 300,
  soakSeconds: Number(process.env.BENCH_SOAK_SECONDS ?? (QUICK ? 3 : 300)),
};

const log = (...args: unknown[]) => console.log(`[bench ${new Date().toISOString().slice(11, 19)}]`, ...args);
const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
};
/** CPU time (user + system) a process has used so far, in ms, from /proc (clock ticks of 10 ms). */
const cpuMs = (pid: number) => {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
};
/** The machine's busy and total CPU time so far, in clock ticks (/proc/stat's first line; idle and iowait are not busy). */
const machineTicks = () => {
  const f = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1, 9).map(Number);
  const total = f.reduce((a, b) => a + b, 0);
  return { busy: total - f[3]! - f[4]!, total };
};
const rssMb = (pid: number) => {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? round(Number(m[1]) / 1024) : NaN;
};

// At most 64 connections per server from this driver: past a server's capacity, requests wait here
// (and count against the latency measured from their intended send time) instead of opening
// sockets until connects time out.
setGlobalDispatcher(new Agent({ connections: CONCURRENCY }));

const results: Record<string, unknown> = {};
const BODY = JSON.stringify({ id: 'evt_x', type: 'bench.event', timestamp: new Date().toISOString(), data: { n: 1, s: 'x'.repeat(200) } });

async function loop(seconds: number, concurrency: number, once: () => Promise<void>): Promise<number> {
  let done = 0;
  const until = performance.now() + seconds * 1000;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < until) {
        await once();
        done++;
      }
    }),
  );
  return done / seconds;
}

async function main() {
  const bench = await createBenchDatabase('hy_bench', 'bench');
  const { databaseUrl: DATABASE_URL, prisma, key, tenantId } = bench;
  const receiver = await startReceiverProc();
  const procs: { kill(s?: NodeJS.Signals): Promise<void> }[] = [receiver];
  const common = { DATABASE_URL, LOG_LEVEL: 'info', HOOKYARD_DISPATCH_CONCURRENCY: String(CONCURRENCY), HOOKYARD_ENDPOINT_CONCURRENCY: String(CONCURRENCY) };

  const client = (base: string) => benchClient(base, key);
  const endpoints = async (base: string, n: number, eventType: string, path = '/') => {
    const api = client(base);
    const ids: string[] = [];
    for (let i = 0; i < n; i++) ids.push(await createEndpoint(api, { url: `${receiver.url}${path}${i}`, eventTypes: [eventType] }));
    return ids;
  };
  const seedDeliveries = async (endpointIds: string[], perEndpoint: number, status: string, eventType: string) => {
    // Straight SQL: one event per (row index), one delivery per endpoint and event.
    await prisma.$executeRawUnsafe(
      `INSERT INTO "Event" (id, "tenantId", "eventType", payload, "createdAt")
       SELECT 'evt_' || $3 || lpad(g::text, 16, '0'), $1, $2, '{"n":1,"s":"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"}'::jsonb,
              now() - make_interval(secs => g)
       FROM generate_series(1, $4) g`,
      tenantId, eventType, newId('event').slice(4, 14), perEndpoint,
    );
    const prefix = newId('event').slice(4, 14);
    await prisma.$executeRawUnsafe(
      `INSERT INTO "Delivery" (id, "tenantId", "endpointId", "eventId", "eventType", status, "nextAttemptAt", "attemptCount", "createdAt", "updatedAt")
       SELECT 'dlv_' || $5 || lpad((e.n * 1000 + ep.i)::text, 16, '0'), $1, ep.id, e.id, $2, $3::"DeliveryStatus",
              CASE WHEN $3 = 'PENDING' THEN now() ELSE NULL END, CASE WHEN $3 = 'PENDING' THEN 0 ELSE 10 END, e."createdAt", now()
       FROM (SELECT id, "createdAt", row_number() OVER () AS n FROM "Event" WHERE "tenantId" = $1 AND "eventType" = $2) e
       CROSS JOIN (SELECT id, row_number() OVER () AS i FROM unnest($4::text[]) AS id) ep`,
      tenantId, eventType, status, endpointIds, prefix,
    );
  };

  try {
    // 1. Ceiling: the HTTP clients alone, same receiver, same concurrency.
    // Three ceilings: ky on Node's WHATWG fetch, bare undici, and ky over a fetch built on
    // undici.request (src/dispatcher/transport.ts, what the dispatcher sends through: the ceiling its
    // dispatch ratio is honestly measured against).
    let ceiling = { kyPerSecond: NaN, undiciPerSecond: NaN, transportPerSecond: NaN };
    if (want('ceiling')) {
    log('ceiling: ky (WHATWG fetch), bare undici, and ky over undici.request (the transport) against the receiver');
    const kyRates: number[] = [];
    const undiciRates: number[] = [];
    const transportRates: number[] = [];
    const transportAgent = new Agent({ connections: CONCURRENCY });
    const transport = ky.create({ retry: 0, throwHttpErrors: false, timeout: 15_000, fetch: undiciFetch(transportAgent, MAX_RESPONSE_BODY) as typeof fetch });
    const pool = new Pool(receiver.url, { connections: CONCURRENCY });
    const client = ky.create({ retry: 0, throwHttpErrors: false, timeout: 15_000 });
    const headers = { 'content-type': 'application/json', 'webhook-id': 'evt_x', 'webhook-timestamp': '1', 'webhook-signature': 'v1,xxx', 'x-hookyard-delivery-id': 'dlv_x' };
    for (let r = 0; r < N.repeats; r++) {
      kyRates.push(await loop(N.ceilingSeconds, CONCURRENCY, async () => void (await (await client.post(receiver.url + '/ceiling', { body: BODY, headers })).text())));
      undiciRates.push(
        await loop(N.ceilingSeconds, CONCURRENCY, async () => {
          const res = await pool.request({ path: '/ceiling', method: 'POST', body: BODY, headers });
          await res.body.text();
        }),
      );
      transportRates.push(
        await loop(N.ceilingSeconds, CONCURRENCY, async () => {
          const init: Parameters<typeof transport.post>[1] & TransportInit = { payload: BODY, headers };
          await (await transport.post(receiver.url + '/ceiling', init)).text();
        }),
      );
    }
    await pool.close();
    await transportAgent.close();
    ceiling = { kyPerSecond: round(median(kyRates), 0), undiciPerSecond: round(median(undiciRates), 0), transportPerSecond: round(median(transportRates), 0) };
    results.ceiling = ceiling;
    log(ceiling);
    await receiver.reset();
    }

    // 1b. sendEvent against its floor: a bare Yoga + pg server doing the same inserts (bench/floor.ts),
    // five matching endpoints, the same load generator, alternating runs. CPU per call is the
    // server process's own (/proc/<pid>/stat) over the measured seconds.
    if (want('sendevent')) {
      log(`sendevent: Hookyard vs the Yoga + pg floor, 5 endpoints, ${N.sendEventInFlight} in flight`);
      const profile = process.env.BENCH_PROFILE ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_PROFILE}`] : [];
      const hy = await startHookyard({ ...common, HOOKYARD_ROLE: 'api' }, profile);
      procs.push(hy);
      const eps = await endpoints(hy.url, 5, 'floor.x', '/floor/');
      const floor = await spawnTs('bench/floor.ts', [], { DATABASE_URL, FLOOR_TENANT_ID: tenantId, FLOOR_ENDPOINTS: eps.join(',') }, (l) => l.startsWith('{"port"'));
      procs.push(floor);
      const floorUrl = `http://127.0.0.1:${(JSON.parse(floor.readyLine) as { port: number }).port}`;
      // The load generator goes through the typed client too: it is the same fetch POST of the same
      // JSON a hand-written loop sends, and both servers get it, so the ratio measures the servers.
      const measure = async (base: string, pid: number) => {
        const api = client(base);
        let n = 0;
        const cpu0 = cpuMs(pid);
        const t0 = performance.now();
        const perSecond = await loop(N.sendEventSeconds, N.sendEventInFlight, async () => {
          const d = await api.request(BenchSendEvent, { input: { eventType: 'floor.x', payload: { n: n++, s: 'x'.repeat(200) } } });
          if (d.sendEvent.deliveriesCreated !== 5) throw new Error(`sendEvent created ${d.sendEvent.deliveriesCreated} deliveries, not 5`);
        });
        const elapsed = performance.now() - t0;
        return { perSecond, cpuMsPerCall: (cpuMs(pid) - cpu0) / (perSecond * (elapsed / 1000)) };
      };
      // Warm both up (JIT, pools, first plans), unmeasured.
      await measure(hy.url, hy.proc.pid!);
      await measure(floorUrl, floor.proc.pid!);
      const runs: { hookyard: number; floor: number; ratio: number; hookyardCpuMs: number; floorCpuMs: number }[] = [];
      for (let r = 0; r < N.repeats; r++) {
        const f = await measure(floorUrl, floor.proc.pid!);
        const h = await measure(hy.url, hy.proc.pid!);
        runs.push({ hookyard: round(h.perSecond, 0), floor: round(f.perSecond, 0), ratio: round(h.perSecond / f.perSecond, 2), hookyardCpuMs: round(h.cpuMsPerCall, 2), floorCpuMs: round(f.cpuMsPerCall, 2) });
      }
      const mid = runs.map((x) => x.ratio).sort((a, b) => a - b)[Math.floor(runs.length / 2)]!;
      const m = runs.find((x) => x.ratio === mid)!;
      results.sendEvent = { endpoints: 5, inFlight: N.sendEventInFlight, callsPerSecond: m.hookyard, floorCallsPerSecond: m.floor, ofFloor: m.ratio, cpuMsPerCall: m.hookyardCpuMs, floorCpuMsPerCall: m.floorCpuMs, cpuOfFloor: round(m.hookyardCpuMs / m.floorCpuMs, 2), runs };
      log(results.sendEvent);
      await floor.kill();
      await hy.kill();
      procs.splice(-2);
      // The instances started next dispatch: keep them from working off this backlog meanwhile.
      await prisma.endpoint.updateMany({ where: { id: { in: eps } }, data: { status: 'DISABLED', disabledReason: 'bench: ingest only' } });
    }

    // 1c. Batch ingest: sendEvents of 100 events, each to five matching endpoints (API only).
    if (want('batch')) {
      log('batch: sendEvents of 100 events × 5 endpoints, 4 calls in flight');
      const hy = await startHookyard({ ...common, HOOKYARD_ROLE: 'api' });
      procs.push(hy);
      const eps = await endpoints(hy.url, 5, 'batch.x', '/batch/');
      const api = client(hy.url);
      let n = 0;
      const call = async () => {
        const d = await api.request(BenchSendEvents, { inputs: Array.from({ length: 100 }, () => ({ eventType: 'batch.x', payload: { n: n++, s: 'x'.repeat(200) } })) });
        const created = d.sendEvents.results.reduce((sum, r) => sum + (r.deliveriesCreated ?? 0), 0);
        if (created !== 500) throw new Error(`sendEvents created ${created} deliveries, not 500`);
      };
      await loop(N.ingestSeconds, 4, call); // warm-up
      const rates: number[] = [];
      for (let r = 0; r < N.repeats; r++) rates.push((await loop(N.ingestSeconds, 4, call)) * 500);
      results.batchIngest = { deliveriesCreatedPerSecond: round(median(rates), 0), eventsPerSecond: round(median(rates) / 5, 0), runs: rates.map((x) => round(x, 0)) };
      log(results.batchIngest);
      await hy.kill();
      procs.pop();
      await prisma.endpoint.updateMany({ where: { id: { in: eps } }, data: { status: 'DISABLED', disabledReason: 'bench: ingest only' } });
    }

    // 2. Dispatch at saturation: a backlog over 10 endpoints, one dispatcher instance.
    const api = await startHookyard({ ...common, HOOKYARD_ROLE: 'api' });
    procs.push(api);
    if (want('dispatch')) {
    // BENCH_DISPATCH_THREADS=0,1,2,4: one dispatcher per HOOKYARD_DISPATCH_THREADS value, the
    // values alternating within each repeat so that the machine's drift hits them alike.
    const threadCounts = (process.env.BENCH_DISPATCH_THREADS ?? (QUICK ? '0' : '0,2')).split(',').map(Number);
    log(`dispatch: ${N.dispatch} deliveries over 10 endpoints, send threads ${threadCounts.join(', ')}`);
    const byThreads = new Map(threadCounts.map((n) => [n, {
      rates: [] as number[], cpuMsPerDelivery: [] as number[], postgresCpuMsPerDelivery: [] as number[],
      receiverCpuMsPerDelivery: [] as number[], busyCores: [] as number[], peakRssMb: 0,
    }]));
    let seeded = 0;
    // The dispatch floor (bench/peers/floor.ts) runs in every repeat, after the dispatchers in even
    // repeats and before them in odd ones: the least this stack does per delivery, at this moment
    // of the machine's drift.
    const floorRates: number[] = [];
    const floorCost = { cpuMsPerDelivery: [] as number[], postgresCpuMsPerDelivery: [] as number[] };
    const payload = (n: number) => ({ n, s: 'x'.repeat(92) });
    const runFloor = async () => {
      let cost0: Awaited<ReturnType<typeof serverCost>>;
      floorRates.push((await floorDispatchRate(DATABASE_URL, receiver, N.dispatch, payload, async (pid, phase) => {
        if (phase === 'start') {
          cost0 = await serverCost(pid);
          return;
        }
        const c = costPerDelivery(cost0, await serverCost(pid), N.dispatch);
        floorCost.cpuMsPerDelivery.push(c.dispatcherCpuMsPerDelivery);
        floorCost.postgresCpuMsPerDelivery.push(c.postgresCpuMsPerDelivery);
      })).deliveriesPerSecond);
    };
    for (let r = 0; r < N.repeats; r++) {
      if (r % 2 === 1) await runFloor();
      for (const threads of threadCounts) {
      const m = byThreads.get(threads)!;
      const tag = `sat.${seeded++}`;
      const eps = await endpoints(api.url, 10, tag, `/${tag}/`);
      await seedDeliveries(eps, N.dispatch / 10, 'PENDING', tag);
      await receiver.reset();
      // BENCH_PROFILE=dir writes a CPU profile of each dispatcher run there (one per thread).
      const profile = process.env.BENCH_PROFILE ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_PROFILE}`] : [];
      // BENCH_DISPATCH_BUILT=1 (dist/) or =DIR (`node scripts/build.mjs --out DIR`): the dispatcher as
      // `npm run start:prod` runs it. From the sources, every send thread carries tsx (its own
      // loader-hooks thread and compiled copies of the sources), which the built code does not.
      const built = process.env.BENCH_DISPATCH_BUILT;
      const dispatcher = await startHookyard({ ...common, HOOKYARD_ROLE: 'dispatcher', HOOKYARD_DISPATCH_THREADS: String(threads) }, profile,
        { built: Boolean(built), distDir: built && built !== '1' ? built : undefined });
      const pid = dispatcher.proc.pid!;
      const t0 = Date.now();
      // Where the machine's CPU goes, per delivery: the dispatcher, its database's backends and the
      // receiver share the two cores, and each delivery costs all three (BENCHMARKS.md, item 5).
      // serverCost reads the dispatcher's CPU too, as it does for the floor's.
      const [db0, rx0, m0] = [await serverCost(pid), cpuMs(receiver.proc.pid!), machineTicks()];
      // Watch the receiver, not the database: polling the table would compete with the dispatcher.
      while ((await receiver.count()) < N.dispatch) {
        if (Date.now() - t0 > 600_000) throw new Error('dispatch did not finish');
        m.peakRssMb = Math.max(m.peakRssMb, rssMb(pid));
        await sleep(200);
      }
      const [db1, rx1, m1] = [await serverCost(pid), cpuMs(receiver.proc.pid!), machineTicks()];
      const cost = costPerDelivery(db0, db1, N.dispatch);
      m.cpuMsPerDelivery.push(cost.dispatcherCpuMsPerDelivery);
      m.postgresCpuMsPerDelivery.push(cost.postgresCpuMsPerDelivery);
      m.receiverCpuMsPerDelivery.push((rx1 - rx0) / N.dispatch);
      m.busyCores.push(((m1.busy - m0.busy) / (m1.total - m0.total)) * cpus().length);
      await sleep(500);
      const left = await prisma.delivery.count({ where: { tenantId, endpointId: { in: eps }, status: { not: 'DELIVERED' } } });
      if (left !== 0) throw new Error(`${left} deliveries not DELIVERED after the receiver got them all`);
      const { arrivals } = await receiver.stats();
      const times = arrivals.map((a) => a[2]).sort((a, b) => a - b);
      m.rates.push(arrivals.length / ((times.at(-1)! - times[0]!) / 1000));
      await dispatcher.kill();
      }
      if (r % 2 === 0) await runFloor();
    }
    const floorRate = median(floorRates);
    // The graphile-worker peer (bench/peers/): the same N deliveries and payload size, the same receiver.
    const peer = await peerDispatchRate(DATABASE_URL, receiver, N.dispatch, payload);
    const summary = (threads: number) => {
      const m = byThreads.get(threads)!;
      const rate = median(m.rates);
      return {
        threads,
        ofPeer: round(rate / peer.deliveriesPerSecond, 2),
        peerDeliveriesPerSecond: round(peer.deliveriesPerSecond, 0),
        deliveriesPerSecond: round(rate, 0),
        ofFloor: round(rate / floorRate, 2),
        floorDeliveriesPerSecond: round(floorRate, 0),
        floorRuns: floorRates.map((x) => round(x, 0)),
        floorOfUndiciCeiling: round(floorRate / ceiling.undiciPerSecond, 3),
        floorCpuMsPerDelivery: round(median(floorCost.cpuMsPerDelivery), 2),
        floorPostgresCpuMsPerDelivery: round(median(floorCost.postgresCpuMsPerDelivery), 2),
        ofKyCeiling: round(rate / ceiling.kyPerSecond, 2),
        ofUndiciCeiling: round(rate / ceiling.undiciPerSecond, 3),
        ofTransportCeiling: round(rate / ceiling.transportPerSecond, 2),
        runs: m.rates.map((x) => round(x, 0)),
        /** The dispatcher process's CPU (all its threads) per delivery. */
        cpuMsPerDelivery: round(median(m.cpuMsPerDelivery), 2),
        postgresCpuMsPerDelivery: round(median(m.postgresCpuMsPerDelivery), 2),
        receiverCpuMsPerDelivery: round(median(m.receiverCpuMsPerDelivery), 2),
        /** Of the machine's cores, how many were busy (with anything) while the backlog drained. */
        busyCores: round(median(m.busyCores), 2),
        /** The CPU one delivery may cost in all, on every core of this machine, at 0.15 × bare undici. */
        cpuBudgetMsAtTarget: round((cpus().length * 1000) / (0.15 * ceiling.undiciPerSecond), 2),
        peakRssMb: m.peakRssMb,
      };
    };
    results.dispatch = { ...summary(threadCounts[0]!), built: process.env.BENCH_DISPATCH_BUILT ?? null };
    results.dispatchThreads = threadCounts.map(summary);
    log(results.dispatchThreads);
    }
    await api.kill();
    procs.pop();

    // 3. End-to-end latency at a fixed offered load (sendEvent → receiver): at the target load, and
    // at a load below saturation, where the figure is the system's own latency, not a queue's.
    let latencyRuns = 0;
    if (want('latency')) {
      results.latency = await latencyAt(N.latencyEventsPerSecond);
      results.latencyBelowSaturation = await latencyAt(N.latencyBelowEventsPerSecond);
      // BENCH_LATENCY_SWEEP=160,120,80 (events/s, × 5 deliveries): the highest rate whose p99 ≤ 50 ms.
      const sweep = (process.env.BENCH_LATENCY_SWEEP ?? '').split(',').filter(Boolean).map(Number);
      if (sweep.length > 0) {
        const points = [];
        for (const rate of sweep) points.push(await latencyAt(rate));
        const holding = points.filter((p) => p.p99Ms <= 50 && p.delivered === p.expected);
        results.latencySweep = { points, highestHoldingDeliveriesPerSecond: holding.length ? Math.max(...holding.map((p) => p.offeredDeliveriesPerSecond)) : null };
        log(results.latencySweep);
      }
    }
    /**
     * CPU so far of the dispatcher and of this database's PostgreSQL client backends (from /proc:
     * the server is local; other databases' backends, autovacuum and the server's own background
     * processes are left out), and the database's commits (each autocommit statement is one).
     */
    async function serverCost(dispatcherPid: number) {
      const [db] = await prisma.$queryRawUnsafe<{ pids: number[]; commits: number }[]>(
        `SELECT array(SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND backend_type = 'client backend') AS pids,
                (SELECT xact_commit::float8 FROM pg_stat_database WHERE datname = current_database()) AS commits`);
      const backends = new Map<number, number>();
      for (const pid of db!.pids) {
        try {
          backends.set(pid, cpuMs(pid));
        } catch {
          // ended since the query
        }
      }
      return { dispatcher: cpuMs(dispatcherPid), backends, commits: db!.commits };
    }
    // Backends that ended within the window are missed; the pools keep theirs while busy.
    function costPerDelivery(a: Awaited<ReturnType<typeof serverCost>>, b: Awaited<ReturnType<typeof serverCost>>, deliveries: number) {
      let postgres = 0;
      for (const [pid, ms] of b.backends) postgres += ms - (a.backends.get(pid) ?? 0);
      return {
        dispatcherCpuMsPerDelivery: round((b.dispatcher - a.dispatcher) / deliveries, 3),
        postgresCpuMsPerDelivery: round(postgres / deliveries, 3),
        commitsPerDelivery: round((b.commits - a.commits) / deliveries, 2),
      };
    }
    async function latencyAt(eventsPerSecond: number) {
    log(`latency: ${eventsPerSecond} events/s × 5 endpoints for ${N.latencySeconds}s (an API and a dispatcher process)`);
    // One Node thread cannot both answer 200 sendEvent calls a second and send 1,000 deliveries
    // a second: run the two roles as the two processes a deployment on two cores would run.
    // BENCH_PROFILE with BENCH_ONLY=latency: CPU profiles of both processes at the target rate.
    const latProfile = process.env.BENCH_PROFILE && ONLY?.has('latency') && eventsPerSecond === N.latencyEventsPerSecond
      ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_PROFILE}`] : [];
    const api = await startHookyard({ ...common, HOOKYARD_ROLE: 'api' }, latProfile);
    procs.push(api);
    // BENCH_LATENCY_DISPATCHER_ARGS: node flags for the dispatcher (e.g. --heap-growing-percent=100,
    // V8's default growth, against the 25 % a dispatcher sets itself: src/main.ts).
    const dispatcherArgs = (process.env.BENCH_LATENCY_DISPATCHER_ARGS ?? '').split(' ').filter(Boolean);
    const dispatcher = await startHookyard({ ...common, HOOKYARD_ROLE: 'dispatcher' }, [...latProfile, ...dispatcherArgs]);
    procs.push(dispatcher);
    // Its own event type per run: a rate swept twice must not reach the first run's endpoints too.
    const eventType = `lat.${eventsPerSecond}.${++latencyRuns}`;
    // The load generator posts with undici's request (bench/client.ts: postClient);
    // BENCH_LATENCY_CLIENT=fetch uses Hookyard's fetch client instead, as before 2026-11-24.
    const apiClient = process.env.BENCH_LATENCY_CLIENT === 'fetch' ? Object.assign(client(api.url), { close: async () => {} }) : postClient(api.url, key);
    await endpoints(api.url, 5, eventType, `/lat${eventsPerSecond}.${latencyRuns}/`);
    // Fresh processes answer their first second slowly (JIT, connection pools, first plans): warm
    // them up at the same rate, unmeasured, and measure the steady state.
    const warmup = Math.min(eventsPerSecond * 2, 100);
    for (let i = 0; i < warmup; i++) {
      await apiClient.request(BenchSendEventId, { input: { eventType, payload: { warmup: i } } });
      await sleep(1000 / eventsPerSecond);
    }
    for (let waited = 0; waited < 30_000 && (await receiver.count()) < warmup * 5; waited += 100) await sleep(100);
    await receiver.reset();
    const sentAt = new Map<string, number>();
    const cost0 = await serverCost(dispatcher.proc.pid!);
    const interval = 1000 / eventsPerSecond;
    const total = eventsPerSecond * N.latencySeconds;
    const startAt = performance.now();
    const driverCpu0 = process.cpuUsage();
    const inflight: Promise<void>[] = [];
    let rssSteady = 0;
    for (let i = 0; i < total; i++) {
      const due = startAt + i * interval;
      const wait = due - performance.now();
      if (wait > 0) await sleep(wait);
      const t = Date.now();
      inflight.push(
        apiClient.request(BenchSendEventId, { input: { eventType, payload: { i } } }).then((d) => {
          sentAt.set(d.sendEvent.event.id, t);
        }),
      );
      if (i % eventsPerSecond === 0) rssSteady = Math.max(rssSteady, rssMb(api.proc.pid!) + rssMb(dispatcher.proc.pid!));
    }
    await Promise.all(inflight);
    const offeredSeconds = (performance.now() - startAt) / 1000;
    const driverCpu = process.cpuUsage(driverCpu0);
    for (let waited = 0; waited < 60_000; waited += 200) {
      if ((await receiver.count()) >= total * 5) break;
      await sleep(200);
    }
    const cost1 = await serverCost(dispatcher.proc.pid!);
    const arrivals = (await receiver.stats()).arrivals.filter((a) => sentAt.has(a[1]));
    const lat = arrivals.map((a) => a[2] - sentAt.get(a[1])!);
    // Where the time went, per delivery (one clock: everything runs on this machine): accept =
    // the call until the event's row was stamped (Event.createdAt, the database's now()); queue =
    // from there until the dispatcher started its attempt (DeliveryAttempt.startedAt: NOTIFY, wake,
    // claim); send = from the attempt's start until the receiver had the whole request.
    const rows = await prisma.$queryRawUnsafe<{ id: string; created: number; started: number }[]>(
      `SELECT d.id, (extract(epoch FROM e."createdAt") * 1000)::float8 AS created, (extract(epoch FROM a."startedAt") * 1000)::float8 AS started
       FROM "Delivery" d JOIN "Event" e ON e.id = d."eventId" JOIN "DeliveryAttempt" a ON a."deliveryId" = d.id AND a."attemptNumber" = 1
       WHERE d."eventType" = $1`, eventType);
    const byDelivery = new Map(rows.map((r) => [r.id, r]));
    const parts = { accept: [] as number[], queue: [] as number[], send: [] as number[] };
    for (const [deliveryId, eventId, at] of arrivals) {
      const r = byDelivery.get(deliveryId);
      if (!r) continue;
      parts.accept.push(r.created - sentAt.get(eventId)!);
      parts.queue.push(r.started - r.created);
      parts.send.push(at - r.started);
    }
    const result = {
      offeredDeliveriesPerSecond: round((total * 5) / offeredSeconds, 0),
      seconds: N.latencySeconds,
      delivered: lat.length,
      expected: total * 5,
      p50Ms: pct(lat, 50),
      p99Ms: pct(lat, 99),
      breakdownMs: Object.fromEntries(Object.entries(parts).map(([k, xs]) => [k, { p50: pct(xs, 50), p99: pct(xs, 99) }])),
      rssMb: rssSteady,
      ...costPerDelivery(cost0, cost1, total * 5),
      /** This driver's CPU per sendEvent call while it offered the load (the load generator's own cost). */
      loadGeneratorCpuMsPerCall: round((driverCpu.user + driverCpu.system) / 1000 / total, 3),
    };
    log(result);
    await apiClient.close();
    await dispatcher.kill();
    await api.kill();
    procs.splice(-2);
    return result;
    }

    // 4. Ingest: sendEvent fan-out to 100 endpoints (API only, nothing dispatched meanwhile).
    if (want('ingest')) {
    log('ingest: sendEvent fan-out to 100 endpoints');
    const ingestApi = await startHookyard({ ...common, HOOKYARD_ROLE: 'api' });
    procs.push(ingestApi);
    const fanEps = await endpoints(ingestApi.url, 100, 'fan.out', '/fan/');
    const ingestClient = client(ingestApi.url);
    const ingestRates: number[] = [];
    for (let r = 0; r < N.repeats; r++) {
      const events = await loop(N.ingestSeconds, 4, async () => {
        await ingestClient.request(BenchSendEventCount, { input: { eventType: 'fan.out', payload: { r } } });
      });
      ingestRates.push(events * 100);
    }
    results.ingest = { deliveriesCreatedPerSecond: round(median(ingestRates), 0), eventsPerSecond: round(median(ingestRates) / 100, 0), runs: ingestRates.map((x) => round(x, 0)) };
    log(results.ingest);
    await ingestApi.kill();
    procs.pop();
    // The instances started next dispatch: keep them from working off this backlog meanwhile.
    await prisma.endpoint.updateMany({ where: { id: { in: fanEps } }, data: { status: 'DISABLED', disabledReason: 'bench: ingest only' } });
    }

    // 5. Subscriptions: many graphql-ws subscribers, status change → received.
    const subProfile = process.env.BENCH_PROFILE && ONLY?.has('subscriptions') ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_PROFILE}`] : [];
    const subServer = await startHookyard({ ...common, HOOKYARD_ROLE: 'all' }, subProfile);
    procs.push(subServer);
    const subClient = client(subServer.url);
    if (want('subscriptions')) {
    log(`subscriptions: ${N.subscribers} graphql-ws subscribers in their own process (bench/subscriptions.ts)`);
    const sub = await subscriptionBench({ url: subServer.url, key, api: subClient, receiverUrl: receiver.url }, N.subscribers, Math.ceil(N.subscriptionChanges / 3));
    results.subscriptions = { ...sub, rssMb: rssMb(subServer.proc.pid!) };
    log(results.subscriptions);
    }

    // 6. Queries over many rows, and 7. bulk replay of 1,000 FAILED deliveries.
    if (want('queries')) {
    log(`queries: seeding ${N.rows} deliveries`);
    const qEps = await endpoints(subServer.url, 10, 'rows.x', '/rows/');
    const seedStart = Date.now();
    await seedDeliveries(qEps, N.rows / 10, 'FAILED', 'rows.x');
    // A table in service has been vacuumed; a freshly bulk-loaded one has autovacuum running
    // over it for a while. Measure the steady state.
    await prisma.$executeRawUnsafe('VACUUM ANALYZE "Delivery"');
    await prisma.$executeRawUnsafe('VACUUM ANALYZE "Event"');
    log(`seeded in ${round((Date.now() - seedStart) / 1000)}s`);
    const filters: DeliveryFilter[] = [
      { endpointId: qEps[3], status: ['FAILED'] },
      { endpointId: qEps[5], eventType: 'rows.x', createdAfter: new Date(Date.now() - 86400_000).toISOString() },
      { status: ['FAILED', 'PENDING'] },
    ];
    const qTimes: number[] = [];
    const perShape: number[][] = filters.map(() => []);
    for (let i = 0; i < 30; i++) {
      await subClient.request(BenchDeliveryIds, { filter: filters[i % filters.length] });
    }
    for (let i = 0; i < N.queries; i++) {
      const t = performance.now();
      await subClient.request(BenchDeliveries, { filter: filters[i % filters.length] });
      qTimes.push(performance.now() - t);
      perShape[i % filters.length]!.push(performance.now() - t);
    }
    results.queries = {
      rows: N.rows,
      p50Ms: round(pct(qTimes, 50)),
      p99Ms: round(pct(qTimes, 99)),
      byShape: perShape.map((xs, i) => ({ filter: Object.keys(filters[i]!).join('+'), p50Ms: round(pct(xs, 50)), p99Ms: round(pct(xs, 99)) })),
    };
    log(results.queries);
    }

    if (want('bulk')) {
    log('bulk replay: 1,000 FAILED deliveries per call');
    const bulkTimes: number[] = [];
    const bulkEps = await endpoints(subServer.url, N.repeats + 2, 'bulk.x', '/bulk/');
    // Their replays go nowhere slow: disable sending by pointing at the receiver (fast 200s).
    await seedDeliveries(bulkEps, 1000, 'FAILED', 'bulk.x');
    for (const ep of bulkEps) {
      const t = performance.now();
      const d = await subClient.request(BenchBulkReplay, { input: { endpointId: ep } });
      bulkTimes.push(performance.now() - t);
      if (d.bulkReplayDeliveries.enqueued !== 1000) throw new Error('bulk replay enqueued the wrong count');
    }
    results.bulkReplay = { deliveries: 1000, p50Ms: round(median(bulkTimes)), maxMs: round(Math.max(...bulkTimes)), runs: bulkTimes.map((x) => round(x)) };
    log(results.bulkReplay);
    }

    // 8. Memory over a soak at a steady moderate load.
    if (want('memory')) {
    log(`soak: ${N.soakSeconds}s at 100 events/s × 3 endpoints`);
    await endpoints(subServer.url, 3, 'soak.x', '/soak/');
    const rss: number[] = [];
    const soakStart = performance.now();
    let k = 0;
    while (performance.now() - soakStart < N.soakSeconds * 1000) {
      const due = soakStart + k * 10;
      const wait = due - performance.now();
      if (wait > 0) await sleep(wait);
      void subClient.request(BenchSendEventCount, { input: { eventType: 'soak.x', payload: { k } } }).catch(() => {});
      if (k % 1000 === 0) rss.push(rssMb(subServer.proc.pid!));
      k++;
    }
    rss.push(rssMb(subServer.proc.pid!));
    const third = Math.max(1, Math.floor(rss.length / 3));
    results.memory = {
      soakSeconds: N.soakSeconds,
      events: k,
      rssStartMb: rss[0],
      rssAfterWarmupMb: median(rss.slice(0, third)),
      rssEndMb: median(rss.slice(-third)),
      samples: rss,
    };
    log(results.memory);
    }
    // FIFO and fair dispatch (issue 15): its own database and process (bench/fairness.ts).
    if (want('fairness')) Object.assign(results, await benchIssue15(QUICK, log));
  } finally {
    await Promise.all(procs.map((p) => p.kill().catch(() => {})));
    await bench.drop();
  }

  const commit = execSync('git rev-parse --short HEAD', { cwd: ROOT }).toString().trim();
  const machine = `${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${round(totalmem() / 2 ** 30, 0)} GiB, Node ${process.version}, PostgreSQL 15`;
  const report = { date: new Date().toISOString(), commit, machine, quick: QUICK, parameters: N, results };
  mkdirSync(join(ROOT, 'bench', 'results'), { recursive: true });
  const file = join(ROOT, 'bench', 'results', QUICK || ONLY ? 'partial.tmp.json' : `${report.date.slice(0, 10)}-${commit}.json`);
  writeFileSync(file, `${JSON.stringify(report, null, 2)}\n`);
  log(`wrote ${file}`);
  if (!QUICK && !ONLY) writeTable(report);
}

function writeTable(report: { date: string; commit: string; machine: string; results: Record<string, any> }) {
  const r = report.results;
  const rows = [
    ['HTTP ceiling: bare ky loop (64 in flight)', `${r.ceiling.kyPerSecond} POST/s`, '—'],
    ['HTTP ceiling: bare undici Pool loop (64 in flight)', `${r.ceiling.undiciPerSecond} POST/s`, '—'],
    ["HTTP ceiling: ky over undici.request, Hookyard's transport (64 in flight)", `${r.ceiling.transportPerSecond} POST/s`, '—'],
    ['Dispatch at saturation (10 endpoints)', `${r.dispatch.deliveriesPerSecond} deliveries/s = ${r.dispatch.ofFloor} × the dispatch floor (bench/peers/floor.ts: ${r.dispatch.floorDeliveriesPerSecond}/s = ${r.dispatch.floorOfUndiciCeiling} × bare undici; CPU per delivery ${r.dispatch.floorCpuMsPerDelivery} ms, PostgreSQL ${r.dispatch.floorPostgresCpuMsPerDelivery}), ${r.dispatch.ofTransportCeiling} × its transport (ky over undici.request), ${r.dispatch.ofUndiciCeiling} × bare undici, ${r.dispatch.ofKyCeiling} × ky on fetch, ${r.dispatch.ofPeer} × a graphile-worker peer (${r.dispatch.peerDeliveriesPerSecond}/s); peak RSS ${r.dispatch.peakRssMb} MB; CPU per delivery: dispatcher ${r.dispatch.cpuMsPerDelivery} ms, PostgreSQL ${r.dispatch.postgresCpuMsPerDelivery}, receiver ${r.dispatch.receiverCpuMsPerDelivery}, with ${r.dispatch.busyCores} of ${cpus().length} cores busy (the target leaves ${r.dispatch.cpuBudgetMsAtTarget} ms in all on every core)`, '≥ 0.15 × bare undici'],
    ...(r.dispatchThreads ?? []).filter((d: { threads: number }) => d.threads > 0).map((d: Record<string, number>) => [
      `Dispatch at saturation, HOOKYARD_DISPATCH_THREADS=${d.threads}`,
      `${d.deliveriesPerSecond} deliveries/s = ${d.ofTransportCeiling} × its transport, ${d.ofUndiciCeiling} × bare undici; peak RSS ${d.peakRssMb} MB`,
      '≥ 0.15 × bare undici',
    ]),
    ['sendEvent → receiver latency', `p50 ${r.latency.p50Ms} ms, p99 ${r.latency.p99Ms} ms at ${r.latency.offeredDeliveriesPerSecond} deliveries/s offered`, 'p99 ≤ 50 ms at 1,000/s'],
    ['sendEvent → receiver latency, below saturation', `p50 ${r.latencyBelowSaturation.p50Ms} ms, p99 ${r.latencyBelowSaturation.p99Ms} ms at ${r.latencyBelowSaturation.offeredDeliveriesPerSecond} deliveries/s offered`, '—'],
    ...(r.latencySweep
      ? [['sendEvent → receiver latency: highest rate with p99 ≤ 50 ms (BENCH_LATENCY_SWEEP)', r.latencySweep.highestHoldingDeliveriesPerSecond === null ? 'none of the rates swept' : `${r.latencySweep.highestHoldingDeliveriesPerSecond} deliveries/s`, '1,000/s']]
      : []),
    ['sendEvent vs the Yoga + pg floor (5 endpoints, 16 in flight)', `${r.sendEvent.callsPerSecond} calls/s = ${r.sendEvent.ofFloor} × floor (${r.sendEvent.floorCallsPerSecond}/s); CPU ${r.sendEvent.cpuMsPerCall} ms/call = ${r.sendEvent.cpuOfFloor} × floor`, '≥ 0.7 × floor'],
    ['Batch ingest: sendEvents of 100 events × 5 endpoints', `${r.batchIngest.deliveriesCreatedPerSecond} deliveries created/s`, '≥ 20,000/s'],
    ['Ingest: sendEvent fan-out to 100 endpoints', `${r.ingest.deliveriesCreatedPerSecond} deliveries created/s`, '≥ 10,000/s'],
    [`Subscriptions: ${r.subscriptions.subscribers} graphql-ws subscribers`, `p50 ${r.subscriptions.p50Ms} ms, p99 ${r.subscriptions.p99Ms} ms (${r.subscriptions.pushes} of ${r.subscriptions.expected} pushes), after ${r.subscriptions.warmup.events} warm-up events (their p99 ${r.subscriptions.warmup.p99Ms} ms)`, 'p99 ≤ 50 ms'],
    [`Filtered deliveries query over ${r.queries.rows.toLocaleString('en')} rows`, `p50 ${r.queries.p50Ms} ms, p99 ${r.queries.p99Ms} ms`, 'p99 ≤ 20 ms'],
    ['bulkReplayDeliveries of 1,000 FAILED', `median ${r.bulkReplay.p50Ms} ms, max ${r.bulkReplay.maxMs} ms`, '≤ 250 ms'],
    [`RSS over a ${r.memory.soakSeconds}s soak`, `${r.memory.rssAfterWarmupMb} MB after warm-up → ${r.memory.rssEndMb} MB at the end`, 'flat'],
  ];
  const table = [
    `Measured ${report.date.slice(0, 16).replace('T', ' ')} UTC on ${report.machine}, commit ${report.commit}.`,
    '',
    '| scenario | result | target |',
    '| --- | --- | --- |',
    ...rows.map((row) => `| ${row.join(' | ')} |`),
  ].join('\n');
  const path = join(ROOT, 'BENCHMARKS.md');
  const text = readFileSync(path, 'utf8');
  writeFileSync(path, text.replace(/<!-- bench:start -->[\s\S]*<!-- bench:end -->/, `<!-- bench:start -->\n${table}\n<!-- bench:end -->`));
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
