// `npm run soak`: two instances + one PostgreSQL + one Redis, a receiver that randomly fails,
// times out, resets connections and answers slowly; SOAK_EVENTS events (default 50,000); one
// instance killed with SIGKILL midway and restarted. Prints the counts; exits 1 if anything is lost.
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { createBenchDatabase, startHookyard, startReceiverProc } from './procs.js';

const EVENTS = Number(process.env.SOAK_EVENTS ?? 50_000);
const TIMEOUT_S = Number(process.env.SOAK_TIMEOUT_SECONDS ?? 1800);
const REDIS_URL = process.env.HOOKYARD_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const CONCURRENCY = 64;
const log = (...a: unknown[]) => console.log(`[soak ${new Date().toISOString().slice(11, 19)}]`, ...a);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function main(): Promise<number> {
  const soakDb = await createBenchDatabase('hy_soak', 'soak');
  const { databaseUrl: DATABASE_URL, prisma, key } = soakDb;
  const receiver = await startReceiverProc({ CHAOS: '1', HANG_MS: '3000' });
  const env = {
    DATABASE_URL,
    REDIS_URL,
    LOG_LEVEL: 'warn',
    HOOKYARD_RETRY_SCHEDULE: '0s,200ms,500ms,1s,2s,3s',
    HOOKYARD_DELIVERY_TIMEOUT_MS: '2000',
    HOOKYARD_LEASE_MS: '5000',
    HOOKYARD_POLL_INTERVAL_MS: '250',
    HOOKYARD_DISPATCH_CONCURRENCY: String(CONCURRENCY),
  };
  // The ready line is logged at info; these instances log warnings only after that.
  let a = await startHookyard({ ...env, LOG_LEVEL: 'info' });
  const b = await startHookyard({ ...env, LOG_LEVEL: 'info' });
  const finals = new Map<string, string>();
  let failed = 1;
  try {
    const gql = async (base: string, query: string, variables: Record<string, unknown>) => {
      const res = await fetch(`${base}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
        body: JSON.stringify({ query, variables }),
        signal: AbortSignal.timeout(10_000),
      });
      const body = (await res.json()) as { data?: any; errors?: unknown[] };
      if (body.errors) throw new Error(JSON.stringify(body.errors));
      return body.data;
    };
    await gql(b.url, 'mutation($i: CreateEndpointInput!) { createEndpoint(input: $i) { endpoint { id } } }', { i: { url: `${receiver.url}/soak` } });

    // A subscriber on B sees final statuses, whichever instance made them (through Redis).
    const sub = createClient({ url: `${b.url.replace('http', 'ws')}/graphql`, webSocketImpl: WebSocket, connectionParams: { authorization: `Bearer ${key}` } });
    sub.subscribe(
      { query: 'subscription { deliveryStatusChanged(statuses: [DELIVERED, FAILED]) { deliveryId status } }' },
      { next: (v: any) => finals.set(v.data.deliveryStatusChanged.deliveryId, v.data.deliveryStatusChanged.status), error: (e) => log('subscriber error', e), complete: () => {} },
    );
    await sleep(500);

    log(`sending ${EVENTS} events through both instances; A is killed halfway`);
    let next = 0;
    let accepted = 0;
    let retried = 0;
    let killed = false;
    const bases = () => [a.url, b.url];
    await Promise.all(
      Array.from({ length: 16 }, async (_, worker) => {
        while (next < EVENTS) {
          const i = next++;
          if (i >= EVENTS / 2 && !killed) {
            killed = true;
            log('SIGKILL instance A');
            await a.kill('SIGKILL');
            void (async () => {
              await sleep(2000);
              a = await startHookyard({ ...env, LOG_LEVEL: 'info' });
              log('instance A restarted');
            })();
          }
          for (let tries = 0; ; tries++) {
            // The idempotency key makes a retry after a dropped connection safe.
            const base = bases()[(i + worker + tries) % 2]!;
            try {
              await gql(base, 'mutation($i: SendEventInput!) { sendEvent(input: $i) { deliveriesCreated } }', {
                i: { eventType: 'soak.event', payload: { i }, idempotencyKey: `soak-${i}` },
              });
              accepted++;
              break;
            } catch (err) {
              retried++;
              if (tries > 20) throw err;
              await sleep(100);
            }
          }
        }
      }),
    );
    log(`accepted ${accepted} events (${retried} sends retried)`);

    const deadline = Date.now() + TIMEOUT_S * 1000;
    for (;;) {
      const open = await prisma.delivery.count({ where: { status: { in: ['PENDING', 'SENDING'] } } });
      if (open === 0) break;
      if (Date.now() > deadline) throw new Error(`${open} deliveries still open after ${TIMEOUT_S}s`);
      await sleep(1000);
    }
    await sleep(1000); // last pushes

    const events = await prisma.event.count();
    const deliveries = await prisma.delivery.findMany({ select: { id: true, status: true, attemptCount: true, _count: { select: { attempts: true } } } });
    const attempts = await prisma.deliveryAttempt.findMany({ select: { deliveryId: true, attemptNumber: true, responseStatus: true, error: true } });
    const { arrivals } = await receiver.stats();
    const arrived = new Set(arrivals.map(([d, , , n]) => `${d}#${n}`));
    const answered = attempts.filter((x) => x.responseStatus !== null);
    const answeredMissing = answered.filter((x) => !arrived.has(`${x.deliveryId}#${x.attemptNumber}`)).length;
    const recorded = new Set(attempts.map((x) => `${x.deliveryId}#${x.attemptNumber}`));
    const unrecordedRequests = arrivals.filter(([d, , , n]) => !recorded.has(`${d}#${n}`)).length;
    const counts = {
      eventsRequested: EVENTS,
      eventsStored: events,
      deliveries: deliveries.length,
      delivered: deliveries.filter((d) => d.status === 'DELIVERED').length,
      failed: deliveries.filter((d) => d.status === 'FAILED').length,
      open: deliveries.filter((d) => d.status !== 'DELIVERED' && d.status !== 'FAILED').length,
      attemptRows: attempts.length,
      attemptCountMismatches: deliveries.filter((d) => d.attemptCount !== d._count.attempts).length,
      receiverRequests: arrivals.length,
      answeredAttemptsMissingAtReceiver: answeredMissing,
      receiverRequestsWithoutAttemptRow: unrecordedRequests,
      leaseTakeovers: attempts.filter((x) => x.error?.startsWith('lease expired')).length,
      subscriberFinals: finals.size,
      subscriberMissedFinals: deliveries.filter((d) => finals.get(d.id) !== d.status).length,
    };
    console.log(JSON.stringify(counts, null, 2));
    const lost =
      counts.eventsStored !== EVENTS ||
      counts.deliveries !== EVENTS ||
      counts.open !== 0 ||
      counts.attemptCountMismatches !== 0 ||
      counts.answeredAttemptsMissingAtReceiver !== 0 ||
      counts.receiverRequestsWithoutAttemptRow > CONCURRENCY ||
      counts.subscriberMissedFinals !== 0;
    log(lost ? 'FAILED: something was lost' : 'OK: nothing lost');
    failed = lost ? 1 : 0;
    await sub.dispose();
  } finally {
    await Promise.all([a.kill(), b.kill(), receiver.kill()]);
    await soakDb.drop();
  }
  return failed;
}

main().then(
  (code) => process.exit(code),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
