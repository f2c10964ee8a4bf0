// The dispatch floor (issue 12, item 5): the least a dispatcher on this stack does per delivery,
// in Hookyard's own shape, so that the dispatch ratio has a floor beside its ceilings and its peer,
// as sendEvent has one (bench/floor.ts). Per delivery it keeps only what the SPEC makes every
// delivery pay:
// - a claim that marks it SENDING under a lease (one statement for as many rows as there are
//   free slots, FOR UPDATE SKIP LOCKED, the payload, URL and secret in its RETURNING);
// - a signed POST with ky over undici.request (src/dispatcher/transport.ts, Hookyard's transport);
// - its outcome and attempt row, written in batches (one statement, after a 5 ms linger), as
//   Hookyard's recorder does.
// Nothing else: no fairness, FIFO, rate limits, retry policy, endpoint health, status outbox,
// metrics, spans or logs, and narrow tables with one index for the queue. Its tables live in
// schema `floor` of the same database, so it shares the PostgreSQL server and the receiver with
// Hookyard's dispatcher.
//
// Run as a process, bundled with esbuild and run with plain node (./harness.ts): DATABASE_URL.
// Prints {"floor":"ready"} once its loop runs. `seedFloor()` (imported by the bench) makes the
// tables and N pending deliveries.
import { randomBytes, randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import ky from 'ky';
import pg from 'pg';
import { Agent } from 'undici';
import { MAX_RESPONSE_BODY } from '../../src/dispatcher/send.js';
import { type TransportInit, transportText, undiciFetch } from '../../src/dispatcher/transport.js';
import { signatureHeader } from '../../src/signing.js';

const CONCURRENCY = 64;
const LINGER_MS = 5;

const SCHEMA = `
  DROP SCHEMA IF EXISTS floor CASCADE;
  CREATE SCHEMA floor;
  CREATE TABLE floor.endpoint (id bigserial PRIMARY KEY, url text NOT NULL, secret text NOT NULL);
  CREATE TABLE floor.event (id text PRIMARY KEY, type text NOT NULL, payload jsonb NOT NULL, created_at timestamptz NOT NULL DEFAULT now());
  CREATE TABLE floor.delivery (
    id bigserial PRIMARY KEY, event_id text NOT NULL REFERENCES floor.event(id), endpoint_id bigint NOT NULL REFERENCES floor.endpoint(id),
    status text NOT NULL DEFAULT 'PENDING', attempt_count int NOT NULL DEFAULT 0, next_attempt_at timestamptz NOT NULL DEFAULT now(),
    lease_owner text, lease_expires_at timestamptz, last_response_status int, last_error text, delivered_at timestamptz,
    updated_at timestamptz NOT NULL DEFAULT now());
  CREATE INDEX ON floor.delivery (next_attempt_at) WHERE status = 'PENDING';
  CREATE TABLE floor.attempt (
    id bigserial PRIMARY KEY, delivery_id bigint NOT NULL REFERENCES floor.delivery(id), attempt_number int NOT NULL,
    started_at timestamptz NOT NULL, duration_ms int NOT NULL, response_status int, response_body text, error text);
`;

/** Makes the floor's tables afresh and `n` pending deliveries to `url`. */
export async function seedFloor(connectionString: string, url: string, n: number, payload: (i: number) => unknown): Promise<void> {
  const client = new pg.Client({ connectionString });
  await client.connect();
  try {
    await client.query(SCHEMA);
    const secret = `whsec_${randomBytes(24).toString('base64')}`;
    const { rows: [endpoint] } = await client.query<{ id: string }>('INSERT INTO floor.endpoint (url, secret) VALUES ($1, $2) RETURNING id', [url, secret]);
    for (let i = 0; i < n; i += 1000) {
      const ids = Array.from({ length: Math.min(1000, n - i) }, (_, k) => `evt_floor_${i + k}`);
      await client.query(`INSERT INTO floor.event (id, type, payload) SELECT id, 'floor.x', p FROM unnest($1::text[], $2::jsonb[]) AS t(id, p)`, [ids, ids.map((_, k) => JSON.stringify(payload(i + k)))]);
      await client.query(`INSERT INTO floor.delivery (event_id, endpoint_id) SELECT id, $2 FROM unnest($1::text[]) AS t(id)`, [ids, endpoint!.id]);
    }
    await client.query('ANALYZE floor.delivery');
  } finally {
    await client.end();
  }
}

const CLAIM = `
  WITH picked AS (
    SELECT id FROM floor.delivery WHERE status = 'PENDING' AND next_attempt_at <= now()
    ORDER BY next_attempt_at LIMIT $2 FOR UPDATE SKIP LOCKED
  )
  UPDATE floor.delivery d SET status = 'SENDING', lease_owner = $1, lease_expires_at = now() + interval '30 seconds', updated_at = now()
  FROM picked p, floor.event ev, floor.endpoint e
  WHERE d.id = p.id AND ev.id = d.event_id AND e.id = d.endpoint_id
  RETURNING d.id, d.attempt_count, e.url, e.secret, ev.id AS event_id, ev.type, ev.payload, ev.created_at`;

const RECORD = `
  WITH i AS (
    SELECT * FROM unnest($1::bigint[], $2::int[], $3::timestamptz[], $4::int[], $5::int[], $6::text[], $7::text[])
      AS t(id, n, started_at, duration_ms, response_status, response_body, error)
  ), u AS (
    UPDATE floor.delivery d
    SET status = CASE WHEN i.error IS NULL THEN 'DELIVERED' ELSE 'PENDING' END, attempt_count = i.n,
        last_response_status = i.response_status, last_error = i.error,
        delivered_at = CASE WHEN i.error IS NULL THEN now() END, next_attempt_at = now() + interval '5 seconds',
        lease_owner = NULL, lease_expires_at = NULL, updated_at = now()
    FROM i WHERE d.id = i.id AND d.lease_owner = $8
    RETURNING d.id
  )
  INSERT INTO floor.attempt (delivery_id, attempt_number, started_at, duration_ms, response_status, response_body, error)
  SELECT i.id, i.n, i.started_at, i.duration_ms, i.response_status, i.response_body, i.error FROM i JOIN u ON u.id = i.id`;

interface Claimed { id: string; attempt_count: number; url: string; secret: string; event_id: string; type: string; payload: unknown; created_at: Date }
interface Outcome { id: string; n: number; startedAt: Date; ms: number; status: number | null; body: string | null; error: string | null }

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

  const write = async (): Promise<void> => {
    await new Promise((r) => setTimeout(r, LINGER_MS));
    while (outcomes.length > 0) {
      const batch = outcomes;
      outcomes = [];
      await pool.query({ name: 'floor_record', text: RECORD, values: [
        batch.map((o) => o.id), batch.map((o) => o.n), batch.map((o) => o.startedAt), batch.map((o) => o.ms),
        batch.map((o) => o.status), batch.map((o) => o.body), batch.map((o) => o.error), owner,
      ] });
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
          'webhook-signature': signatureHeader([d.secret], d.event_id, timestamp, body),
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
    outcomes.push({ id: d.id, n: d.attempt_count + 1, startedAt, ms: Date.now() - startedAt.getTime(), status, body: text, error });
    writing ??= write();
    if (CONCURRENCY - inFlight >= CONCURRENCY / 4) wake?.();
  };

  // An orderly exit on the bench's SIGTERM (a --cpu-prof profile is written only then).
  process.once('SIGTERM', () => process.exit(0));
  process.stdout.write(`${JSON.stringify({ floor: 'ready' })}\n`);
  for (;;) {
    // Outcomes waiting beyond one concurrency's worth hold claims back, as in Hookyard.
    const free = CONCURRENCY - inFlight - Math.max(0, outcomes.length - CONCURRENCY);
    if (free >= CONCURRENCY / 4 || inFlight === 0) {
      const { rows } = await pool.query<Claimed>({ name: 'floor_claim', text: CLAIM, values: [owner, Math.max(1, free)] });
      inFlight += rows.length;
      for (const d of rows) void send(d);
      if (rows.length > 0) continue;
    }
    // Nothing due, or too few slots free: wait for a slot, an outcome written, or the next poll.
    await new Promise<void>((resolve) => {
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
