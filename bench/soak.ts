// `npm run soak`: two instances + one PostgreSQL + one Redis, a receiver that randomly fails,
// times out, resets connections and answers slowly, and answers 1% (SOAK_POISON) with a 200 whose
// body carries NUL and invalid UTF-8 bytes; retention on (SOAK_RETENTION, default 2m, `0` keeps
// everything). One instance is killed with SIGKILL midway and restarted. Prints the counts, the
// table sizes over time (SOAK_VACUUM below) and RSS per process; exits 1 if anything is lost.
//
// Load: SOAK_EVENTS events as fast as 16 senders go (default 50,000), or with SOAK_SECONDS a steady
// SOAK_RATE events/s (default 40) for that long. SOAK_BUILT=1 runs the built server (dist/, as
// `npm run start:prod`, or SOAK_BUILT=DIR for a build made with `--out DIR`); SOAK_SPLIT=1 runs instance B as two processes (HOOKYARD_ROLE=api and
// dispatcher). Every SOAK_SAMPLE_SECONDS (10) the RSS of every instance process is sampled; the
// samples and the counts go to bench/results/soak-<time>.json.
//
// Retention deletes finished rows while the soak runs, so the accounting cannot count what is left
// at the end. Triggers in the soak's own database (bench only: no Hookyard code knows of them) copy
// every deleted event, delivery and attempt into soak_deleted_* tables; the counts are taken over
// the live rows plus those copies, and a deleted delivery that was not final is reported as lost.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import WebSocket from 'ws';
import { subscribe, subscriptionClient, subscriptionUrl } from '../src/client/graphql.js';
import { benchClient, createEndpoint } from './client.js';
import { BenchFinalStatuses, BenchSendEventCount } from './operations.js';
import { createBenchDatabase, ROOT, startHookyard, startReceiverProc } from './procs.js';
import { sleep } from './stats.js';

const SECONDS = Number(process.env.SOAK_SECONDS ?? 0);
const RATE = Number(process.env.SOAK_RATE ?? 40);
const EVENTS = SECONDS > 0 ? Math.round(SECONDS * RATE) : Number(process.env.SOAK_EVENTS ?? 50_000);
const TIMEOUT_S = Number(process.env.SOAK_TIMEOUT_SECONDS ?? 1800);
const RETENTION = process.env.SOAK_RETENTION ?? '2m';
const POISON = process.env.SOAK_POISON ?? '0.01';
// `1`: dist/; any other value: the output directory of `node scripts/build.mjs --out DIR`.
const BUILT = process.env.SOAK_BUILT && process.env.SOAK_BUILT !== '0' ? (process.env.SOAK_BUILT === '1' ? 'dist' : process.env.SOAK_BUILT) : undefined;
const SPLIT = process.env.SOAK_SPLIT === '1';
const SAMPLE_S = Number(process.env.SOAK_SAMPLE_SECONDS ?? 10);
// Retention only deletes; the space comes back through (auto)vacuum. Where the server runs with
// autovacuum off (this machine's does), `auto` VACUUMs the soak's tables every minute in its place,
// so the sizes show what a server with autovacuum on would hold; `0` never, `1` always.
const VACUUM = process.env.SOAK_VACUUM ?? 'auto';
const REDIS_URL = process.env.HOOKYARD_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const CONCURRENCY = 64;
const log = (...a: unknown[]) => console.log(`[soak ${new Date().toISOString().slice(11, 19)}]`, ...a);
const rssMb = (pid: number | undefined) => {
  try {
    return Math.round(Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) / 102.4) / 10;
  } catch {
    return null; // exited (the killed instance, until it is back)
  }
};

/** The tables retention keeps small, as printed at the end. */
const TABLES = ['Event', 'Delivery', 'DeliveryAttempt', 'StatusOutbox', 'RateLimit'];

const ARCHIVE_SQL = `
  CREATE TABLE soak_deleted_event (id text PRIMARY KEY, event_type text NOT NULL);
  CREATE TABLE soak_deleted_delivery (id text PRIMARY KEY, status text NOT NULL, attempt_count int NOT NULL);
  CREATE TABLE soak_deleted_attempt (delivery_id text NOT NULL, attempt_number int NOT NULL, response_status int, error text);
  CREATE FUNCTION soak_keep_event() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN INSERT INTO soak_deleted_event VALUES (OLD.id, OLD."eventType"); RETURN OLD; END $$;
  CREATE FUNCTION soak_keep_delivery() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN INSERT INTO soak_deleted_delivery VALUES (OLD.id, OLD.status::text, OLD."attemptCount"); RETURN OLD; END $$;
  CREATE FUNCTION soak_keep_attempt() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN INSERT INTO soak_deleted_attempt VALUES (OLD."deliveryId", OLD."attemptNumber", OLD."responseStatus", OLD.error); RETURN OLD; END $$;
  CREATE TRIGGER soak_keep AFTER DELETE ON "Event" FOR EACH ROW EXECUTE FUNCTION soak_keep_event();
  CREATE TRIGGER soak_keep AFTER DELETE ON "Delivery" FOR EACH ROW EXECUTE FUNCTION soak_keep_delivery();
  CREATE TRIGGER soak_keep AFTER DELETE ON "DeliveryAttempt" FOR EACH ROW EXECUTE FUNCTION soak_keep_attempt();`;

async function main(): Promise<number> {
  const soakDb = await createBenchDatabase('hy_soak', 'soak');
  const { databaseUrl: DATABASE_URL, key } = soakDb;
  const sql = new pg.Pool({ connectionString: DATABASE_URL, max: 2 });
  await sql.query(ARCHIVE_SQL);
  const autovacuum = (await sql.query<{ autovacuum: string }>('SHOW autovacuum')).rows[0]!.autovacuum === 'on';
  const vacuum = VACUUM === '1' || (VACUUM === 'auto' && !autovacuum);
  const receiver = await startReceiverProc({ CHAOS: '1', HANG_MS: '3000', POISON_RATE: POISON });
  const env = {
    DATABASE_URL,
    REDIS_URL,
    LOG_LEVEL: 'warn',
    HOOKYARD_RETRY_SCHEDULE: '0s,200ms,500ms,1s,2s,3s',
    HOOKYARD_DELIVERY_TIMEOUT_MS: '2000',
    HOOKYARD_LEASE_MS: '5000',
    HOOKYARD_POLL_INTERVAL_MS: '250',
    HOOKYARD_DISPATCH_CONCURRENCY: String(CONCURRENCY),
    HOOKYARD_RETENTION: RETENTION,
  };
  // The ready line is logged at info; these instances log warnings only after that.
  const start = (role = 'all') => startHookyard({ ...env, LOG_LEVEL: 'info', HOOKYARD_ROLE: role }, [], { built: Boolean(BUILT), distDir: BUILT });
  let a = await start();
  const b = await start(SPLIT ? 'api' : 'all');
  const bDispatcher = SPLIT ? await start('dispatcher') : undefined;
  const finals = new Map<string, string>();
  const samples: { t: number; rss: Record<string, number | null>; rows?: Record<string, { rows: number; totalKb: number }> }[] = [];
  const t0 = Date.now();
  const procs = (): Record<string, number | undefined> => ({
    'A (all)': a.proc.pid,
    [SPLIT ? 'B (api)' : 'B (all)']: b.proc.pid,
    ...(bDispatcher ? { 'B (dispatcher)': bDispatcher.proc.pid } : {}),
  });
  let sampling = true;
  const sampler = (async () => {
    for (let n = 0; sampling; n++) {
      const rss = Object.fromEntries(Object.entries(procs()).map(([name, pid]) => [name, rssMb(pid)]));
      // Rows and sizes every 6th sample: enough to see whether retention keeps the tables level.
      if (vacuum && n % 6 === 0 && n > 0) await sql.query(`VACUUM ${TABLES.map((t) => `"${t}"`).join(', ')}`).catch((err: unknown) => log('vacuum failed', err));
      const rows = n % 6 === 0 ? await tableSizes(sql).catch(() => undefined) : undefined;
      samples.push({ t: Math.round((Date.now() - t0) / 1000), rss, ...(rows ? { rows } : {}) });
      await sleep(SAMPLE_S * 1000);
    }
  })();
  let failed = 1;
  try {
    const bApi = benchClient(b.url, key);
    await createEndpoint(bApi, { url: `${receiver.url}/soak` });

    // A subscriber on B sees final statuses, whichever instance made them (through Redis).
    const sub = subscriptionClient({ url: subscriptionUrl(bApi.url), webSocketImpl: WebSocket, apiKey: key });
    subscribe(sub, BenchFinalStatuses, {}, {
      next: (v) => finals.set(v.data!.deliveryStatusChanged.deliveryId, v.data!.deliveryStatusChanged.status),
      error: (e) => log('subscriber error', e),
      complete: () => {},
    });
    await sleep(500);

    log(`sending ${EVENTS} events through both instances${SECONDS > 0 ? ` at ${RATE}/s for ${SECONDS}s` : ''}; A is killed halfway; retention ${RETENTION}, poison ${POISON}, autovacuum ${autovacuum ? 'on' : 'off'}${vacuum ? ' (the soak VACUUMs every minute)' : ''}${BUILT ? `, built (${BUILT})` : ''}${SPLIT ? ', B split' : ''}`);
    let next = 0;
    let accepted = 0;
    let retried = 0;
    let killed = false;
    const bases = () => [a.url, b.url];
    const sendStart = Date.now();
    await Promise.all(
      Array.from({ length: 16 }, async (_, worker) => {
        while (next < EVENTS) {
          const i = next++;
          if (SECONDS > 0) await sleep(sendStart + (i / RATE) * 1000 - Date.now());
          if (i >= EVENTS / 2 && !killed) {
            killed = true;
            log('SIGKILL instance A');
            await a.kill('SIGKILL');
            void (async () => {
              await sleep(2000);
              a = await start();
              log('instance A restarted');
            })();
          }
          for (let tries = 0; ; tries++) {
            // The idempotency key makes a retry after a dropped connection safe.
            const base = bases()[(i + worker + tries) % 2]!;
            try {
              // A client per call: A's URL changes when it is restarted.
              await benchClient(base, key).request(
                BenchSendEventCount,
                { input: { eventType: 'soak.event', payload: { i }, idempotencyKey: `soak-${i}` } },
                { signal: AbortSignal.timeout(10_000) },
              );
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
      const { rows } = await sql.query<{ n: number }>(`SELECT count(*)::int AS n FROM "Delivery" WHERE status IN ('PENDING', 'SENDING')`);
      const open = rows[0]!.n;
      if (open === 0) break;
      if (Date.now() > deadline) throw new Error(`${open} deliveries still open after ${TIMEOUT_S}s`);
      await sleep(1000);
    }
    await sleep(1000); // last pushes
    sampling = false;
    await sampler;

    // Live rows plus the copies of deleted ones. A row is deleted once, so the two never overlap;
    // retention deletes no attempt without its delivery, nor a delivery without its event.
    const q = async <T extends pg.QueryResultRow>(text: string) => (await sql.query<T>(text)).rows;
    // Only the soak's own events are compared with what was sent: Hookyard stores its operational
    // facts (hookyard.delivery.failed, hookyard.endpoint.failing / recovered) as events too.
    const [{ events, operationalEvents, deletedEvents }] = await q<{ events: number; operationalEvents: number; deletedEvents: number }>(
      `WITH e AS (SELECT "eventType" AS t FROM "Event" UNION ALL SELECT event_type FROM soak_deleted_event)
       SELECT (SELECT count(*) FROM e WHERE t = 'soak.event')::int AS events,
              (SELECT count(*) FROM e WHERE t LIKE 'hookyard.%')::int AS "operationalEvents",
              (SELECT count(*) FROM soak_deleted_event)::int AS "deletedEvents"`,
    ) as [{ events: number; operationalEvents: number; deletedEvents: number }];
    const deliveries = await q<{ id: string; status: string; attemptCount: number; deleted: boolean }>(
      `SELECT id, status::text, "attemptCount", false AS deleted FROM "Delivery"
       UNION ALL SELECT id, status, attempt_count, true FROM soak_deleted_delivery`,
    );
    const attempts = await q<{ deliveryId: string; attemptNumber: number; responseStatus: number | null; error: string | null }>(
      `SELECT "deliveryId", "attemptNumber", "responseStatus", error FROM "DeliveryAttempt"
       UNION ALL SELECT delivery_id, attempt_number, response_status, error FROM soak_deleted_attempt`,
    );
    const attemptsOf = new Map<string, number>();
    for (const x of attempts) attemptsOf.set(x.deliveryId, (attemptsOf.get(x.deliveryId) ?? 0) + 1);
    const { arrivals, poisoned } = await receiver.stats();
    const arrived = new Set(arrivals.map(([d, , , n]) => `${d}#${n}`));
    const answered = attempts.filter((x) => x.responseStatus !== null);
    const answeredMissing = answered.filter((x) => !arrived.has(`${x.deliveryId}#${x.attemptNumber}`)).length;
    const recorded = new Map(attempts.map((x) => [`${x.deliveryId}#${x.attemptNumber}`, x]));
    const unrecordedRequests = arrivals.filter(([d, , , n]) => !recorded.has(`${d}#${n}`)).length;
    // A poisoned answer is a 200: its attempt must be there, with that status (the body made safe),
    // unless it went to the instance killed before it could record it: that attempt is then
    // recorded by the take-over as "lease expired" (its outcome unknown), as any other would be.
    const poisonedUnrecorded = poisoned.filter(([d, n]) => {
      const a = recorded.get(`${d}#${n}`);
      return a?.responseStatus !== 200 && !a?.error?.startsWith('lease expired');
    }).length;
    const isFinal = (s: string) => s === 'DELIVERED' || s === 'FAILED';
    const counts = {
      eventsRequested: EVENTS,
      eventsStored: events,
      operationalEvents,
      deliveries: deliveries.length,
      delivered: deliveries.filter((d) => d.status === 'DELIVERED').length,
      failed: deliveries.filter((d) => d.status === 'FAILED').length,
      open: deliveries.filter((d) => !isFinal(d.status)).length,
      attemptRows: attempts.length,
      attemptCountMismatches: deliveries.filter((d) => d.attemptCount !== (attemptsOf.get(d.id) ?? 0)).length,
      receiverRequests: arrivals.length,
      answeredAttemptsMissingAtReceiver: answeredMissing,
      receiverRequestsWithoutAttemptRow: unrecordedRequests,
      poisonedAnswers: poisoned.length,
      poisonedAnswersWithout200Attempt: poisonedUnrecorded,
      leaseTakeovers: attempts.filter((x) => x.error?.startsWith('lease expired')).length,
      subscriberFinals: finals.size,
      subscriberMissedFinals: deliveries.filter((d) => finals.get(d.id) !== d.status).length,
      retentionDeletedEvents: deletedEvents,
      retentionDeletedDeliveries: deliveries.filter((d) => d.deleted).length,
      retentionDeletedOpenDeliveries: deliveries.filter((d) => d.deleted && !isFinal(d.status)).length,
    };
    console.log(JSON.stringify(counts, null, 2));
    const sizes = await tableSizes(sql);
    log('tables at the end (rows, total size with indexes and TOAST):');
    for (const [table, s] of Object.entries(sizes)) log(`  ${table.padEnd(16)} ${String(s.rows).padStart(8)} rows ${String(s.totalKb).padStart(8)} kB`);
    const memory = rssSummary(samples);
    log('tables over time (rows / total kB, every 5 minutes or fifth of the run):');
    for (const line of sizesOverTime(samples)) log(`  ${line}`);
    for (const [proc, m] of Object.entries(memory)) log(`RSS ${proc}: first 5 min mean ${m.first5MinMeanMb} MB, last 5 min mean ${m.last5MinMeanMb} MB, peak ${m.peakMb} MB (${m.samples} samples)`);
    const lost =
      counts.eventsStored !== EVENTS ||
      counts.deliveries !== EVENTS ||
      counts.open !== 0 ||
      counts.attemptCountMismatches !== 0 ||
      counts.answeredAttemptsMissingAtReceiver !== 0 ||
      counts.receiverRequestsWithoutAttemptRow > CONCURRENCY ||
      counts.poisonedAnswersWithout200Attempt !== 0 ||
      counts.retentionDeletedOpenDeliveries !== 0 ||
      counts.subscriberMissedFinals !== 0;
    log(lost ? 'FAILED: something was lost' : 'OK: nothing lost');
    failed = lost ? 1 : 0;
    const dir = join(ROOT, 'bench', 'results');
    mkdirSync(dir, { recursive: true });
    const file = join(dir, `soak-${new Date(t0).toISOString().slice(0, 16).replace(/:/g, '')}${process.env.SOAK_KEEP_RESULT === '1' ? '' : '.tmp'}.json`);
    writeFileSync(file, `${JSON.stringify({ settings: { EVENTS, SECONDS, RATE, RETENTION, POISON, BUILT, SPLIT, autovacuum, soakVacuums: vacuum }, counts, tables: sizes, memory, samples }, null, 1)}\n`);
    log(`wrote ${file}`);
    await sub.dispose();
  } finally {
    sampling = false;
    await Promise.all([a.kill(), b.kill(), bDispatcher?.kill(), receiver.kill()]);
    await sql.end();
    await soakDb.drop();
  }
  return failed;
}

async function tableRows(sql: pg.Pool): Promise<Record<string, number>> {
  const { rows } = await sql.query<{ t: string; n: number }>(TABLES.map((t) => `SELECT '${t}' AS t, count(*)::int AS n FROM "${t}"`).join(' UNION ALL '));
  return Object.fromEntries(rows.map((r) => [r.t, r.n]));
}

async function tableSizes(sql: pg.Pool): Promise<Record<string, { rows: number; totalKb: number }>> {
  const rows = await tableRows(sql);
  const { rows: sizes } = await sql.query<{ t: string; kb: number }>(
    `SELECT t, (pg_total_relation_size(format('%I', t)) / 1024)::int AS kb FROM unnest($1::text[]) t`,
    [TABLES],
  );
  return Object.fromEntries(sizes.map((s) => [s.t, { rows: rows[s.t]!, totalKb: s.kb }]));
}

/** The sampled table sizes at every 5 minutes (or fifth of the run), one line each. */
function sizesOverTime(samples: { t: number; rows?: Record<string, { rows: number; totalKb: number }> }[]): string[] {
  const sized = samples.filter((s) => s.rows);
  const end = sized.at(-1)?.t ?? 0;
  const step = Math.min(300, Math.max(SAMPLE_S, end / 5));
  const picked = sized.filter((s, i) => i === 0 || i === sized.length - 1 || Math.floor(s.t / step) > Math.floor(sized[i - 1]!.t / step));
  return picked.map((s) => `${String(Math.round(s.t / 60)).padStart(3)} min  ${Object.entries(s.rows!).map(([t, r]) => `${t} ${r.rows}/${r.totalKb}`).join('  ')}`);
}

/** Per process: mean RSS over the first and the last five minutes (or fifth of the run), and peak. */
function rssSummary(samples: { t: number; rss: Record<string, number | null> }[]) {
  const end = samples.at(-1)?.t ?? 0;
  const window = Math.min(300, Math.max(SAMPLE_S, end / 5));
  const mean = (xs: number[]) => (xs.length ? Math.round((xs.reduce((s, x) => s + x, 0) / xs.length) * 10) / 10 : null);
  const names = [...new Set(samples.flatMap((s) => Object.keys(s.rss)))];
  return Object.fromEntries(
    names.map((name) => {
      const at = (from: number, to: number) => samples.filter((s) => s.t >= from && s.t <= to && s.rss[name] != null).map((s) => s.rss[name]!);
      const all = at(0, end);
      return [name, { first5MinMeanMb: mean(at(0, window)), last5MinMeanMb: mean(at(end - window, end)), peakMb: all.length ? Math.max(...all) : null, samples: all.length }];
    }),
  );
}

main().then(
  (code) => process.exit(code),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
