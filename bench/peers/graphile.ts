// The peer for dispatcher benchmarks (issue 11): a webhook dispatcher built the usual way on
// graphile-worker, so Hookyard's dispatcher is measured against what a team would write instead of
// against a number from elsewhere. One job per delivery; the task reads its delivery (event
// payload, endpoint URL and secret), POSTs it with ky (on Node's fetch, as ky comes) with the
// Standard Webhooks headers signed by the `standardwebhooks` package, then inserts an attempt row
// and updates the delivery's status in one transaction; a failed attempt throws, and
// graphile-worker retries the job with its own backoff. Its tables live in schema `peer` of the
// same database (graphile-worker's in `graphile_worker`), so it shares the PostgreSQL server
// and the receiver with Hookyard's dispatcher but none of Hookyard's code.
//
// Run as a process (bench/memory.ts bundles it with esbuild and runs it with plain node, as the
// built Hookyard runs): DATABASE_URL, PEER_CONCURRENCY (64, as Hookyard's dispatch concurrency),
// PEER_POOL (20, as Hookyard's pool). Prints {"peer":"ready"} once the worker runs.
// `seedPeer()` (imported by the bench) creates the tables and N deliveries with one job each.
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import ky from 'ky';
import pg from 'pg';
import { Webhook } from 'standardwebhooks';
import { Logger, makeWorkerUtils, run, type Task } from 'graphile-worker';

const MAX_RESPONSE_BODY = 16 * 1024;

const SCHEMA = `
  CREATE SCHEMA IF NOT EXISTS peer;
  CREATE TABLE IF NOT EXISTS peer.endpoint (id bigserial PRIMARY KEY, url text NOT NULL, secret text NOT NULL);
  CREATE TABLE IF NOT EXISTS peer.event (id text PRIMARY KEY, type text NOT NULL, payload jsonb NOT NULL, created_at timestamptz NOT NULL DEFAULT now());
  CREATE TABLE IF NOT EXISTS peer.delivery (
    id bigserial PRIMARY KEY, event_id text NOT NULL REFERENCES peer.event(id), endpoint_id bigint NOT NULL REFERENCES peer.endpoint(id),
    status text NOT NULL DEFAULT 'PENDING', attempt_count int NOT NULL DEFAULT 0, last_response_status int, last_error text,
    delivered_at timestamptz, updated_at timestamptz NOT NULL DEFAULT now());
  CREATE TABLE IF NOT EXISTS peer.attempt (
    id bigserial PRIMARY KEY, delivery_id bigint NOT NULL REFERENCES peer.delivery(id), attempt_number int NOT NULL,
    started_at timestamptz NOT NULL, duration_ms int NOT NULL, response_status int, response_body text, error text);
`;

/** Creates the peer's tables and `n` pending deliveries to `url`, each with its graphile-worker job. */
export async function seedPeer(connectionString: string, url: string, n: number, payload: (i: number) => unknown): Promise<void> {
  const client = new pg.Client({ connectionString });
  await client.connect();
  const utils = await makeWorkerUtils({ connectionString });
  try {
    await client.query(SCHEMA);
    await utils.migrate();
    const secret = `whsec_${randomBytes(24).toString('base64')}`;
    const { rows: [endpoint] } = await client.query<{ id: string }>('INSERT INTO peer.endpoint (url, secret) VALUES ($1, $2) RETURNING id', [url, secret]);
    const prefix = randomBytes(4).toString('hex');
    for (let i = 0; i < n; i += 1000) {
      const ids = Array.from({ length: Math.min(1000, n - i) }, (_, k) => `evt_peer_${prefix}_${i + k}`);
      await client.query(`INSERT INTO peer.event (id, type, payload) SELECT id, 'mem.x', p FROM unnest($1::text[], $2::jsonb[]) AS t(id, p)`, [ids, ids.map((_, k) => JSON.stringify(payload(i + k)))]);
      const { rows } = await client.query<{ id: string }>(
        `INSERT INTO peer.delivery (event_id, endpoint_id) SELECT id, $2 FROM unnest($1::text[]) AS t(id) RETURNING id`, [ids, endpoint!.id],
      );
      await utils.addJobs(rows.map((r) => ({ identifier: 'deliver', payload: { deliveryId: r.id }, maxAttempts: 8 })));
    }
  } finally {
    await utils.release();
    await client.end();
  }
}

interface Row { id: string; attempt_count: number; url: string; secret: string; event_id: string; type: string; payload: unknown; created_at: Date }

const deliver: Task = async (raw, helpers) => {
  const { deliveryId } = raw as { deliveryId: string };
  const d = await helpers.withPgClient(async (c) => (await c.query<Row>(
    `SELECT d.id, d.attempt_count, e.url, e.secret, ev.id AS event_id, ev.type, ev.payload, ev.created_at
     FROM peer.delivery d JOIN peer.event ev ON ev.id = d.event_id JOIN peer.endpoint e ON e.id = d.endpoint_id
     WHERE d.id = $1`, [deliveryId])).rows[0]);
  if (!d) return; // deleted meanwhile: nothing to send
  const body = JSON.stringify({ id: d.event_id, type: d.type, timestamp: d.created_at.toISOString(), data: d.payload });
  const startedAt = new Date();
  const attemptNumber = d.attempt_count + 1;
  let status: number | null = null;
  let responseBody: string | null = null;
  let error: string | null = null;
  try {
    const res = await ky.post(d.url, {
      body, retry: 0, throwHttpErrors: false, timeout: 15_000, redirect: 'manual',
      headers: {
        'content-type': 'application/json',
        'webhook-id': d.event_id,
        'webhook-timestamp': String(Math.floor(startedAt.getTime() / 1000)),
        'webhook-signature': new Webhook(d.secret).sign(d.event_id, startedAt, body),
      },
    });
    status = res.status;
    responseBody = (await res.text()).slice(0, MAX_RESPONSE_BODY) || null;
    if (status < 200 || status >= 300) error = `HTTP ${status}`;
  } catch (err) {
    error = (err as Error).message;
  }
  const ok = error === null;
  await helpers.withPgClient(async (c) => {
    await c.query('BEGIN');
    try {
      await c.query(
        `INSERT INTO peer.attempt (delivery_id, attempt_number, started_at, duration_ms, response_status, response_body, error) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
        [d.id, attemptNumber, startedAt, Date.now() - startedAt.getTime(), status, responseBody, error],
      );
      await c.query(
        `UPDATE peer.delivery SET status = $2, attempt_count = $3, last_response_status = $4, last_error = $5,
                delivered_at = CASE WHEN $2 = 'DELIVERED' THEN now() END, updated_at = now() WHERE id = $1`,
        [d.id, ok ? 'DELIVERED' : helpers.job.attempts >= helpers.job.max_attempts ? 'FAILED' : 'PENDING', attemptNumber, status, error],
      );
      await c.query('COMMIT');
    } catch (err) {
      await c.query('ROLLBACK');
      throw err;
    }
  });
  // graphile-worker's retry with backoff is the schedule.
  if (!ok) throw new Error(error!);
};

async function main(): Promise<void> {
  const connectionString = process.env.DATABASE_URL;
  if (!connectionString) throw new Error('DATABASE_URL is required');
  const runner = await run({
    connectionString,
    concurrency: Number(process.env.PEER_CONCURRENCY ?? 64),
    maxPoolSize: Number(process.env.PEER_POOL ?? 20),
    noHandleSignals: false,
    // Warnings and errors only: a line per completed job would cost it CPU that Hookyard (which
    // logs failures, not successes, at info) does not pay.
    logger: new Logger(() => (level, message) => {
      if (level === 'error' || level === 'warning') console.error(`[peer ${level}] ${message}`);
    }),
    taskList: { deliver },
  });
  process.stdout.write(`${JSON.stringify({ peer: 'ready' })}\n`);
  await runner.promise;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  main().catch((err: unknown) => {
    console.error(err);
    process.exit(1);
  });
}
