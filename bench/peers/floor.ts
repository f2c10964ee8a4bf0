// The dispatch floor (issue 12, item 5): the least a dispatcher on this stack does per delivery,
// in Hookyard's own shape, so that the dispatch ratio has a floor beside its ceilings and its peer,
// as sendEvent has one (bench/floor.ts). Per delivery it keeps what the SPEC makes every delivery
// pay:
// - a fair claim: each endpoint with due work offers its oldest rows, taken round-robin (the
//   bench has one tenant, so per endpoint is per tenant), marked SENDING under a lease (one
//   statement for the free slots, FOR UPDATE SKIP LOCKED, with the payload, the URL of an active
//   endpoint and its active secrets in the RETURNING);
// - a POST with ky over undici.request (src/dispatcher/transport.ts, Hookyard's transport), signed
//   and with the SPEC's headers;
// - its outcome and attempt row (text ids, as the SPEC's), written in batches (one statement, after
//   a 5 ms linger, as Hookyard's recorder does), and the batch's status changes in an outbox row
//   from the same statement, deleted every 250 ms as Hookyard's outbox relay does (with no
//   subscribers, its publishing in between costs next to nothing).
// Not kept: FIFO, rate limits, the retry schedule and Retry-After, endpoint health and operational
// events, lease take-over, metrics, spans, logs; and
// of the indexes, only those its own statements use. Its tables live in schema `floor` of the
// same database, so it shares the PostgreSQL server and the receiver with Hookyard's dispatcher.
//
// Run as a process, bundled with esbuild and run with plain node (./harness.ts): DATABASE_URL.
// Prints {"floor":"ready"} once its loop runs; on SIGTERM it stops claiming, waits for its sends
// and writes, then exits. `seedFloor()` (imported by the bench) makes the tables (once: like
// Hookyard's, they keep earlier runs' rows) and N pending deliveries over 10 endpoints.
import { randomBytes, randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import ky from 'ky';
import pg from 'pg';
import { Agent } from 'undici';
import { MAX_RESPONSE_BODY } from '../../src/dispatcher/send.js';
import { type TransportInit, transportText, undiciFetch } from '../../src/dispatcher/transport.js';
import { newId } from '../../src/ids.js';
import { signatureHeader } from '../../src/signing.js';

const CONCURRENCY = 64;
const LINGER_MS = 5;
const ENDPOINTS = 10;

const SCHEMA = `
  CREATE SCHEMA IF NOT EXISTS floor;
  CREATE TABLE IF NOT EXISTS floor.endpoint (id text PRIMARY KEY, url text NOT NULL, status text NOT NULL DEFAULT 'ACTIVE');
  CREATE TABLE IF NOT EXISTS floor.secret (id text PRIMARY KEY, endpoint_id text NOT NULL REFERENCES floor.endpoint(id), secret text NOT NULL, expires_at timestamptz);
  CREATE INDEX IF NOT EXISTS secret_endpoint_idx ON floor.secret (endpoint_id);
  CREATE TABLE IF NOT EXISTS floor.event (id text PRIMARY KEY, type text NOT NULL, payload jsonb NOT NULL, created_at timestamptz NOT NULL DEFAULT now());
  CREATE TABLE IF NOT EXISTS floor.delivery (
    id text PRIMARY KEY, event_id text NOT NULL REFERENCES floor.event(id), endpoint_id text NOT NULL REFERENCES floor.endpoint(id),
    status text NOT NULL DEFAULT 'PENDING', attempt_count int NOT NULL DEFAULT 0, next_attempt_at timestamptz NOT NULL DEFAULT now(),
    lease_owner text, lease_expires_at timestamptz, last_response_status int, last_error text, delivered_at timestamptz,
    updated_at timestamptz NOT NULL DEFAULT now());
  CREATE INDEX IF NOT EXISTS delivery_due_idx ON floor.delivery (endpoint_id, next_attempt_at) WHERE status = 'PENDING';
  CREATE TABLE IF NOT EXISTS floor.attempt (
    id text PRIMARY KEY, delivery_id text NOT NULL REFERENCES floor.delivery(id), attempt_number int NOT NULL,
    started_at timestamptz NOT NULL, duration_ms int NOT NULL, response_status int, response_body text, error text);
  CREATE TABLE IF NOT EXISTS floor.outbox (id text PRIMARY KEY, changes jsonb NOT NULL);
`;

/** Makes the floor's tables if they are missing, and `n` pending deliveries to `url`/<0..9> (n / 10 events). */
export async function seedFloor(connectionString: string, url: string, n: number, payload: (i: number) => unknown): Promise<void> {
  const client = new pg.Client({ connectionString });
  await client.connect();
  try {
    // Only in a bench's own database (bench/procs.ts names them): nothing else may grow a schema here.
    const { rows: [db] } = await client.query<{ ok: boolean }>(`SELECT current_database() LIKE 'hy\\_bench\\_%' AS ok`);
    if (!db!.ok) throw new Error('seedFloor runs only in a hy_bench_* database');
    await client.query(SCHEMA);
    const endpoints = Array.from({ length: ENDPOINTS }, () => newId('endpoint'));
    await client.query(`INSERT INTO floor.endpoint (id, url) SELECT id, $2 || '/' || (o - 1) FROM unnest($1::text[]) WITH ORDINALITY AS t(id, o)`, [endpoints, url]);
    await client.query(`INSERT INTO floor.secret (id, endpoint_id, secret) SELECT 'sec_' || id, id, $2 FROM unnest($1::text[]) AS t(id)`,
      [endpoints, `whsec_${randomBytes(24).toString('base64')}`]);
    const events = n / ENDPOINTS;
    for (let i = 0; i < events; i += 1000) {
      const ids = Array.from({ length: Math.min(1000, events - i) }, () => newId('event'));
      await client.query(`INSERT INTO floor.event (id, type, payload) SELECT id, 'floor.x', p FROM unnest($1::text[], $2::jsonb[]) AS t(id, p)`, [ids, ids.map((_, k) => JSON.stringify(payload(i + k)))]);
      await client.query(`INSERT INTO floor.delivery (id, event_id, endpoint_id) SELECT 'dlv_' || md5(ev || ep), ev, ep FROM unnest($1::text[]) AS t(ev), unnest($2::text[]) AS u(ep)`, [ids, endpoints]);
    }
  } finally {
    await client.end();
  }
}

// Fair as Hookyard's claim is for one tenant: each active endpoint with due work offers its oldest
// rows, and they are taken round-robin (each endpoint's first, then each one's second...). Each
// offers its share of twice the pick, as in Hookyard; Hookyard's second scan for endpoints with
// more than their share is left out, as the bench's endpoints all have the same backlog.
const CLAIM = `
  WITH offered AS (
    SELECT c.id, row_number() OVER (PARTITION BY e.id ORDER BY c.next_attempt_at, c.id) AS turn, c.next_attempt_at
    FROM floor.endpoint e CROSS JOIN LATERAL (
      SELECT d.id, d.next_attempt_at FROM floor.delivery d
      WHERE d.endpoint_id = e.id AND d.status = 'PENDING' AND d.next_attempt_at <= now()
      ORDER BY d.endpoint_id, d.next_attempt_at LIMIT ceil($2 * 2.0 / ${ENDPOINTS})
    ) c
    WHERE e.status = 'ACTIVE'
  ), picked AS (
    SELECT d.id FROM floor.delivery d
    WHERE d.id = ANY (ARRAY(SELECT id FROM offered ORDER BY turn, next_attempt_at, id LIMIT $2 * 2)) AND d.status = 'PENDING'
    LIMIT $2 FOR UPDATE SKIP LOCKED
  )
  UPDATE floor.delivery d SET status = 'SENDING', lease_owner = $1, lease_expires_at = now() + interval '30 seconds', updated_at = now()
  FROM picked p, floor.event ev, floor.endpoint e
  WHERE d.id = p.id AND ev.id = d.event_id AND e.id = d.endpoint_id
  RETURNING d.id, d.attempt_count, e.url, ev.id AS event_id, ev.type, ev.payload, ev.created_at,
    ARRAY(SELECT s.secret FROM floor.secret s WHERE s.endpoint_id = e.id AND (s.expires_at IS NULL OR s.expires_at > now())) AS secrets`;

const RECORD = `
  WITH i AS (
    SELECT * FROM unnest($1::text[], $2::int[], $3::timestamptz[], $4::int[], $5::int[], $6::text[], $7::text[], $9::text[])
      AS t(id, n, started_at, duration_ms, response_status, response_body, error, attempt_id)
  ), u AS (
    UPDATE floor.delivery d
    SET status = CASE WHEN i.error IS NULL THEN 'DELIVERED' ELSE 'PENDING' END, attempt_count = i.n,
        last_response_status = i.response_status, last_error = i.error,
        delivered_at = CASE WHEN i.error IS NULL THEN now() END, next_attempt_at = now() + interval '5 seconds',
        lease_owner = NULL, lease_expires_at = NULL, updated_at = now()
    FROM i WHERE d.id = i.id AND d.lease_owner = $8
    RETURNING d.id, d.status
  ), a AS (
    INSERT INTO floor.attempt (id, delivery_id, attempt_number, started_at, duration_ms, response_status, response_body, error)
    SELECT i.attempt_id, i.id, i.n, i.started_at, i.duration_ms, i.response_status, i.response_body, i.error FROM i JOIN u ON u.id = i.id
  )
  INSERT INTO floor.outbox (id, changes)
  SELECT gen_random_uuid()::text, json_agg(json_build_object('deliveryId', u.id, 'status', u.status)) FROM u
  RETURNING id`;

interface Claimed { id: string; attempt_count: number; url: string; secrets: string[]; event_id: string; type: string; payload: unknown; created_at: Date }
interface Outcome { id: string; attemptId: string; n: number; startedAt: Date; ms: number; status: number | null; body: string | null; error: string | null }

async function main(): Promise<void> {
  const connectionString = process.env.DATABASE_URL;
  if (!connectionString) throw new Error('DATABASE_URL is required');
  const pool = new pg.Pool({ connectionString, max: 4 });
  const agent = new Agent({ connections: 256, keepAliveTimeout: 30_000 });
  const client = ky.create({ retry: 0, throwHttpErrors: false, timeout: 15_000, fetch: undiciFetch(agent, MAX_RESPONSE_BODY) as typeof fetch });
  const owner = randomUUID();
  let inFlight = 0;
  let outcomes: Outcome[] = [];
  let writing: Promise<void> | null = null;
  let wake: (() => void) | null = null;
  let published: string[] = [];
  const sweep = async () => {
    const ids = published;
    published = [];
    if (ids.length > 0) await pool.query({ name: 'floor_sweep', text: 'DELETE FROM floor.outbox WHERE id = ANY ($1::text[])', values: [ids] });
  };
  let sweeping = Promise.resolve();
  const sweeper = setInterval(() => {
    sweeping = sweeping.then(sweep);
  }, 250);

  const write = async (): Promise<void> => {
    await new Promise((r) => setTimeout(r, LINGER_MS));
    while (outcomes.length > 0) {
      const batch = outcomes;
      outcomes = [];
      const { rows } = await pool.query<{ id: string }>({ name: 'floor_record', text: RECORD, values: [
        batch.map((o) => o.id), batch.map((o) => o.n), batch.map((o) => o.startedAt), batch.map((o) => o.ms),
        batch.map((o) => o.status), batch.map((o) => o.body), batch.map((o) => o.error), owner, batch.map((o) => o.attemptId),
      ] });
      for (const r of rows) published.push(r.id);
    }
    writing = null;
    wake?.();
  };

  const send = async (d: Claimed): Promise<void> => {
    const body = JSON.stringify({ id: d.event_id, type: d.type, timestamp: d.created_at.toISOString(), data: d.payload });
    const startedAt = new Date();
    const timestamp = Math.floor(startedAt.getTime() / 1000);
    let status: number | null = null;
    let text: string | null = null;
    let error: string | null = null;
    try {
      const init: TransportInit = {
        payload: body,
        requestHeaders: {
          'content-type': 'application/json',
          'webhook-id': d.event_id,
          'webhook-timestamp': String(timestamp),
          'webhook-signature': signatureHeader(d.secrets, d.event_id, timestamp, body),
          'x-hookyard-delivery-id': d.id,
          'x-hookyard-event-type': d.type,
          'x-hookyard-attempt': String(d.attempt_count + 1),
        },
      };
      const res = await client.post(d.url, init as never);
      status = res.status;
      text = transportText(res) || null;
      if (status < 200 || status >= 300) error = `HTTP ${status}`;
    } catch (err) {
      error = (err as Error).message;
    }
    inFlight--;
    outcomes.push({ id: d.id, attemptId: newId('attempt'), n: d.attempt_count + 1, startedAt, ms: Date.now() - startedAt.getTime(), status, body: text, error });
    writing ??= write();
    if (CONCURRENCY - inFlight >= CONCURRENCY / 4 || stopping) wake?.();
  };

  // On the bench's SIGTERM: claim no more, let the sends and their outcomes' writes finish, then
  // exit (an orderly exit also writes a --cpu-prof profile).
  let stopping = false;
  process.once('SIGTERM', () => {
    stopping = true;
    wake?.();
  });
  process.stdout.write(`${JSON.stringify({ floor: 'ready' })}\n`);
  while (!stopping) {
    // Outcomes waiting beyond one concurrency's worth hold claims back, as in Hookyard.
    const free = CONCURRENCY - inFlight - Math.max(0, outcomes.length - CONCURRENCY);
    if (free > 0 && (free >= CONCURRENCY / 4 || inFlight === 0)) {
      const { rows } = await pool.query<Claimed>({ name: 'floor_claim', text: CLAIM, values: [owner, free] });
      inFlight += rows.length;
      for (const d of rows) void send(d);
      if (rows.length > 0) continue;
    }
    // Nothing due, or too few slots free: wait for a slot, an outcome written, or the next poll.
    await woken();
  }
  while (inFlight > 0 || writing) await woken();
  clearInterval(sweeper);
  await sweeping.then(sweep);
  await pool.end();
  await agent.close();
  process.exit(0);

  function woken() {
    return new Promise<void>((resolve) => {
      const timer = setTimeout(done, 100);
      function done() {
        clearTimeout(timer);
        wake = null;
        resolve();
      }
      wake = done;
    });
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  main().catch((err: unknown) => {
    console.error(err);
    process.exit(1);
  });
}
