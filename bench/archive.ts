// `npm run bench:archive`: does a large archive of finished deliveries slow the queue down?
// One PostgreSQL database per size in ARCHIVE_SIZES (default 0,1000000), each holding that many
// DELIVERED rows written by SQL (generate_series), not through the API. The measurements then
// alternate between the databases, round after round, so a busy machine weighs on every size
// alike. Per round and database:
// - claim: store.claimDue (100 rows) on a 5,000-row backlog, each claim handed back, with the
//   statistics taken before the backlog arrived (stale, as after an outage; autovacuum off);
// - dispatch: one dispatcher process over a fresh backlog of ARCHIVE_DISPATCH (default 10,000)
//   deliveries to 10 endpoints, rate = arrivals at the receiver over their time span.
import { execSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { cpus, totalmem } from 'node:os';
import pg from 'pg';
import { openDatabase, prismaQuery, type PrismaClient } from '../src/db/client.js';
import { migrate } from '../src/db/migrate.js';
import * as store from '../src/dispatcher/store.js';
import { createLogger } from '../src/logger.js';
import { startHookyard, startReceiverProc } from './procs.js';
import { median, round, sleep } from './stats.js';

const SIZES = (process.env.ARCHIVE_SIZES ?? '0,1000000').split(',').map(Number);
const DISPATCH = Number(process.env.ARCHIVE_DISPATCH ?? 10_000);
const ROUNDS = Number(process.env.ARCHIVE_ROUNDS ?? 3);
const BACKLOG = 5_000;
const CLAIMS_PER_ROUND = 15;
const ENDPOINTS = 10;
const ADMIN_URL = process.env.HOOKYARD_TEST_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

const log = (...args: unknown[]) => console.log(`[archive ${new Date().toISOString().slice(11, 19)}]`, ...args);
const logger = createLogger('warn');

async function withClient<T>(url: string, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

interface Db {
  size: number;
  name: string;
  url: string;
  serial: number;
  fillSeconds: number;
  claimMs: number[];
  rates: number[];
}

const receiver = await startReceiverProc();
const endpointIds = Array.from({ length: ENDPOINTS }, (_, i) => `ep_archive_${i}`);
const dbs: Db[] = [];

/** `count` deliveries of one status over the 10 endpoints (an event per 10), a million per statement. */
async function addDeliveries(db: Db, count: number, status: 'DELIVERED' | 'PENDING') {
  await withClient(db.url, async (c) => {
    for (let done = 0; done < count; ) {
      const n = Math.min(1_000_000, count - done);
      const events = Math.ceil(n / ENDPOINTS);
      const prefix = `${status[0]}${db.serial++}`.padEnd(6, '_');
      await c.query(
        `INSERT INTO "Event" (id, "tenantId", "eventType", payload, "createdAt")
         SELECT 'evt_' || $1 || lpad(g::text, 10, '0'), 'ten_archive', 'archive', '{"n":1}', now() - make_interval(secs => $2 - g)
         FROM generate_series(1, $2::int) g`,
        [prefix, events],
      );
      await c.query(
        `INSERT INTO "Delivery" (id, "tenantId", "endpointId", "eventId", "eventType", status, "nextAttemptAt", "attemptCount",
                                 "deliveredAt", "lastAttemptAt", "lastResponseStatus", "createdAt", "updatedAt")
         SELECT 'dlv_' || $1 || lpad(g::text, 10, '0') || '_' || ep.i, 'ten_archive', ep.id, 'evt_' || $1 || lpad(g::text, 10, '0'), 'archive',
                $3::"DeliveryStatus",
                -- Due times spread like real traffic (events over time, each to every endpoint).
                CASE WHEN $3 = 'PENDING' THEN now() - make_interval(secs => $2 - g) END, CASE WHEN $3 = 'PENDING' THEN 0 ELSE 1 END,
                CASE WHEN $3 = 'PENDING' THEN NULL ELSE now() END, CASE WHEN $3 = 'PENDING' THEN NULL ELSE now() END,
                CASE WHEN $3 = 'PENDING' THEN NULL ELSE 200 END, now() - make_interval(secs => $2 - g), now()
         FROM generate_series(1, $2::int) g CROSS JOIN (SELECT id, row_number() OVER () AS i FROM unnest($4::text[]) AS id) ep
         WHERE (g - 1) * ${ENDPOINTS} + ep.i <= $5`,
        [prefix, events, status, endpointIds, n],
      );
      done += n;
    }
  });
}

/** Runs `fn` with this database as the process's open database (store.* use it). */
async function opened<T>(db: Db, fn: (prisma: PrismaClient) => Promise<T>): Promise<T> {
  const database = await openDatabase({ databaseUrl: db.url, dataDir: '' }, logger);
  try {
    return await fn(database.prisma);
  } finally {
    await database.close();
  }
}

try {
  for (const size of SIZES) {
    const name = `hy_archive_${randomBytes(4).toString('hex')}`;
    await withClient(ADMIN_URL, (c) => c.query(`CREATE DATABASE ${name}`));
    const url = new URL(ADMIN_URL);
    url.pathname = `/${name}`;
    const db: Db = { size, name, url: url.toString(), serial: 0, fillSeconds: 0, claimMs: [], rates: [] };
    dbs.push(db);
    const database = await openDatabase({ databaseUrl: db.url, dataDir: '' }, logger);
    await migrate(database, logger);
    await database.close();
    await withClient(db.url, async (c) => {
      // Stale statistics on purpose: nothing analyzes the table behind the benchmark's back.
      await c.query(`ALTER TABLE "Delivery" SET (autovacuum_enabled = false)`);
      await c.query(`INSERT INTO "Tenant" (id, name) VALUES ('ten_archive', 'archive')`);
      await c.query(
        `INSERT INTO "Endpoint" (id, "tenantId", url, "eventTypes", "updatedAt")
         SELECT id, 'ten_archive', $1 || '/archive/' || id, '{}', now() FROM unnest($2::text[]) AS id`,
        [receiver.url, endpointIds],
      );
      await c.query(`INSERT INTO "EndpointSecret" (id, "endpointId", secret) SELECT 'sec_' || id, id, $2 FROM unnest($1::text[]) AS id`, [
        endpointIds,
        `whsec_${randomBytes(24).toString('base64')}`,
      ]);
    });
    const t0 = Date.now();
    await addDeliveries(db, size, 'DELIVERED');
    // Statistics that know the archive and not the backlogs about to arrive.
    await withClient(db.url, async (c) => {
      await c.query(`VACUUM ANALYZE "Delivery"`);
      await c.query(`ANALYZE "Event"`);
    });
    db.fillSeconds = round((Date.now() - t0) / 1000, 0);
    log(`database with ${size} finished deliveries ready (filled in ${db.fillSeconds} s)`);
  }

  for (let r = 0; r < ROUNDS; r++) {
    for (const db of dbs) {
      await addDeliveries(db, BACKLOG, 'PENDING');
      await opened(db, async (prisma) => {
        for (let i = 0; i < CLAIMS_PER_ROUND; i++) {
          const t0 = performance.now();
          const claimed = await store.claimDue(prismaQuery(prisma), 'bench', 60_000, 100, 100, []);
          db.claimMs.push(performance.now() - t0);
          if (claimed.length !== 100) throw new Error(`claimed ${claimed.length}, not 100`);
          await store.release(prismaQuery(prisma), 'bench', claimed.map((c) => c.id));
        }
      });
      await withClient(db.url, (c) => c.query(`DELETE FROM "Delivery" WHERE status = 'PENDING'`));

      await addDeliveries(db, DISPATCH, 'PENDING');
      await receiver.reset();
      const dispatcher = await startHookyard({ DATABASE_URL: db.url, HOOKYARD_ROLE: 'dispatcher', HOOKYARD_RETENTION: '0', LOG_LEVEL: 'info' });
      const t0 = Date.now();
      while ((await receiver.count()) < DISPATCH) {
        if (Date.now() - t0 > 900_000) throw new Error('dispatch did not finish');
        await sleep(200);
      }
      await dispatcher.kill();
      const { arrivals } = await receiver.stats();
      const times = arrivals.map((a) => a[2]).sort((a, b) => a - b);
      db.rates.push(arrivals.length / ((times.at(-1)! - times[0]!) / 1000));
      log(`round ${r + 1}, ${db.size} finished: claim median ${round(median(db.claimMs.slice(-CLAIMS_PER_ROUND)), 2)} ms, ${round(db.rates.at(-1)!, 0)} deliveries/s`);
    }
  }
  const results = dbs.map((db) => ({
    finished: db.size,
    fillSeconds: db.fillSeconds,
    claimMedianMs: round(median(db.claimMs), 2),
    deliveriesPerSecond: round(median(db.rates), 0),
    rates: db.rates.map((x) => round(x, 0)),
  }));
  const commit = execSync('git rev-parse --short HEAD').toString().trim();
  console.log(JSON.stringify({ commit, date: new Date().toISOString(), cpus: cpus().length, cpu: cpus()[0]?.model, memGb: round(totalmem() / 2 ** 30), load: execSync('cat /proc/loadavg').toString().trim(), results }));
} finally {
  await receiver.kill();
  for (const db of dbs) await withClient(ADMIN_URL, (c) => c.query(`DROP DATABASE IF EXISTS ${db.name} WITH (FORCE)`)).catch(() => {});
}
