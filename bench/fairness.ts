// Issue 15's bench scenarios, called from bench/run.ts: FIFO throughput per endpoint (against a
// plain endpoint in the same run), and fair dispatch (how long a quiet endpoint's, or another
// tenant's, new event takes to arrive while a backlog of slow deliveries drains). Each runs on its
// own database and Hookyard process, with the default concurrency (64 in flight, 16 per endpoint),
// and its own receiver in this process (paths under /slow/ answer after 200 ms).
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createApiKey } from '../src/auth/apiKeys.js';
import { newId } from '../src/ids.js';
import { benchClient, createEndpoint } from './client.js';
import { BenchSendEventCount } from './operations.js';
import { createBenchDatabase, startHookyard } from './procs.js';
import { median, round, sleep } from './stats.js';

type Log = (...args: unknown[]) => void;


/** Answers at once, or after 200 ms under /slow/; tells when a path first got a request. */
async function receiver() {
  const counts = new Map<string, number>();
  const times = new Map<string, [number, number]>(); // first and last arrival per path
  const waiters = new Map<string, (at: number) => void>();
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      const path = req.url ?? '/';
      counts.set(path, (counts.get(path) ?? 0) + 1);
      const now = Date.now();
      times.set(path, [times.get(path)?.[0] ?? now, now]);
      waiters.get(path)?.(Date.now());
      waiters.delete(path);
      if (path.startsWith('/slow/')) setTimeout(() => res.end('ok'), 200);
      else res.end('ok');
    });
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    count: (prefix: string) => [...counts].filter(([p]) => p.startsWith(prefix)).reduce((n, [, c]) => n + c, 0),
    /** First and last arrival on a path. */
    span: (path: string) => times.get(path) ?? [NaN, NaN],
    arrival: (path: string) => new Promise<number>((r) => waiters.set(path, r)),
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

async function setup(prefix: string) {
  const db = await createBenchDatabase(prefix, 'tenant-a');
  const other = await createApiKey(db.prisma, 'tenant-b');
  const rx = await receiver();
  const hy = await startHookyard({ DATABASE_URL: db.databaseUrl, LOG_LEVEL: 'info', HOOKYARD_DISPATCH_CONCURRENCY: '64', HOOKYARD_ENDPOINT_CONCURRENCY: '16' });
  const api = benchClient(hy.url, db.key);
  const endpoint = (path: string, input: { fifo?: boolean } = {}, key = db.key) =>
    createEndpoint(api, { url: `${rx.url}${path}`, eventTypes: [path.split('/')[2]!], ...input }, key);
  /** `count` due first attempts of one stored event over `endpointIds`, in creation order. */
  const backlog = async (endpointIds: string[], count: number) => {
    const run = newId('event').slice(4);
    const { tenantId } = await db.prisma.endpoint.findUniqueOrThrow({ where: { id: endpointIds[0]! } });
    await db.prisma.$executeRawUnsafe(`INSERT INTO "Event" (id, "tenantId", "eventType", payload) VALUES ($1, $2, 'backlog', '{"n":1}')`, `evt_${run}`, tenantId);
    await db.prisma.$executeRawUnsafe(
      `INSERT INTO "Delivery" (id, "tenantId", "endpointId", "eventId", "eventType", "nextAttemptAt", "createdAt")
       SELECT 'dlv_' || $1 || lpad(g::text, 6, '0'), $2, ($3::text[])[1 + g % cardinality($3::text[])], $4, 'backlog',
              now(), now() + g * interval '1 microsecond'
       FROM generate_series(1, $5::int) g`,
      run, tenantId, endpointIds, `evt_${run}`, count);
  };
  return {
    db, other, rx, hy, api, endpoint, backlog,
    async close() {
      await hy.kill();
      await rx.close();
      await db.drop();
    },
  };
}

/** Deliveries per second to one FIFO endpoint and to one plain endpoint, same receiver, same run. */
type Setup = Awaited<ReturnType<typeof setup>>;

/** Both scenarios on one database and Hookyard process (starting one costs seconds in CI). */
export async function benchIssue15(quick: boolean, log: Log) {
  const s = await setup('hy_issue15');
  try {
    return { fifo: await benchFifo(s, quick, log), fairness: await benchFairness(s, quick, log) };
  } finally {
    await s.close();
  }
}

async function benchFifo(s: Setup, quick: boolean, log: Log) {
  const n = quick ? 100 : 1000;
  log(`fifo: ${n} due to one FIFO endpoint, then ${n} to one plain endpoint (receiver answers at once)`);
  {
    // From the first arrival to the last: rows inserted with SQL wait for the next poll to start.
    const drain = async (path: string, input: { fifo?: boolean }, label: string) => {
      const endpointId = await s.endpoint(path, input);
      await s.backlog([endpointId], n);
      while ((await s.db.prisma.delivery.count({ where: { endpointId, status: 'DELIVERED' } })) < n) await sleep(20);
      const [first, last] = s.rx.span(path);
      const perSecond = round((n - 1) / ((last - first) / 1000), 0);
      log(`fifo: ${label} ${perSecond} deliveries/s`);
      return perSecond;
    };
    const fifo = await drain('/fifo/ordered', { fifo: true }, 'FIFO');
    const plain = await drain('/plain/any', {}, 'plain');
    return { deliveries: n, fifoPerSecond: fifo, plainPerSecond: plain, fifoOfPlain: round(fifo / plain, 3) };
  }
}

/**
 * The quiet event's latency (sendEvent call → arrival) while a backlog of slow deliveries drains:
 * one slow endpoint with 5,000 due, and tenant A's 20,000 due over 10 slow endpoints (tenant B's
 * event). New quiet events every 250 ms for a few seconds each.
 */
async function benchFairness(s: Setup, quick: boolean, log: Log) {
  const seconds = quick ? 1 : 8;
  const scenarios = [
    { name: 'endpoint', slowEndpoints: 1, due: quick ? 500 : 5000, otherTenant: false },
    { name: 'tenant', slowEndpoints: 10, due: quick ? 2000 : 20_000, otherTenant: true },
  ];
  const out: Record<string, unknown> = {};
  for (const sc of scenarios) {
    log(`fairness: ${sc.due} due over ${sc.slowEndpoints} slow endpoint(s) (200 ms); a new event to ${sc.otherTenant ? 'another tenant' : 'another endpoint'} every 250 ms for ${seconds}s`);
    {
      const slow: string[] = [];
      for (let i = 0; i < sc.slowEndpoints; i++) slow.push(await s.endpoint(`/slow/${sc.name}/${i}`));
      const key = sc.otherTenant ? s.other.key : s.db.key;
      const quiet = `/quiet/${sc.name}`;
      await s.endpoint(quiet, {}, key);
      await s.backlog(slow, sc.due);
      while (s.rx.count('/slow/') < 50) await sleep(10); // draining at full speed
      const latencies: number[] = [];
      const until = performance.now() + seconds * 1000;
      while (performance.now() < until) {
        const arrived = s.rx.arrival(quiet);
        const sentAt = Date.now();
        await s.api.request(BenchSendEventCount, { input: { eventType: sc.name, payload: { at: sentAt } } }, { apiKey: key });
        latencies.push((await arrived) - sentAt);
        await sleep(250);
      }
      const left = await s.db.prisma.delivery.count({ where: { endpointId: { in: slow }, status: 'PENDING' } });
      out[sc.name] = {
        due: sc.due, slowEndpoints: sc.slowEndpoints, quietEvents: latencies.length,
        p50Ms: median(latencies), maxMs: Math.max(...latencies), backlogStillPending: left,
      };
      log(`fairness (${sc.name}):`, out[sc.name]);
      // The rest of the backlog ends here, unsent, so the next scenario starts from an empty queue.
      await s.db.prisma.delivery.updateMany({ where: { endpointId: { in: slow }, status: 'PENDING' }, data: { status: 'FAILED', nextAttemptAt: null } });
      while ((await s.db.prisma.delivery.count({ where: { status: 'SENDING' } })) > 0) await sleep(50);
    }
  }
  return out;
}
