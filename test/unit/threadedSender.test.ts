// HOOKYARD_DISPATCH_THREADS' sender against a real local HTTP receiver: the same outcomes as the
// in-thread sender for the same answers, the SSRF guard inside the threads, signatures a
// Standard Webhooks verifier accepts, abort crossing to the thread, and a thread dying mid-send.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AttemptOutcome, createSender, type Outgoing, type Sender } from '../../src/dispatcher/send.js';
import { createThreadedSender, type ThreadedSender } from '../../src/dispatcher/threadedSender.js';
import { type Receiver, type Reply, startReceiver } from '../helpers/receiver.js';

const SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
// Long enough that a busy machine does not turn an answer into a timeout in one sender only.
const TIMEOUT_MS = 1500;

let rx: Receiver;
const inThread = createSender({ timeoutMs: TIMEOUT_MS, allowPrivateTargets: true });
const inThreadGuarded = createSender({ timeoutMs: TIMEOUT_MS, allowPrivateTargets: false });
let threaded: ThreadedSender;
let threadedGuarded: ThreadedSender;

beforeAll(async () => {
  rx = await startReceiver((req): Reply => {
    if (req.path.startsWith('/ok')) return { status: 200, body: `got ${req.path}` };
    if (req.path.startsWith('/boom')) return { status: 500, body: 'boom', headers: { 'webhook-retry': 'none' } };
    if (req.path.startsWith('/busy')) return { status: 503, headers: { 'retry-after': '3' } };
    if (req.path.startsWith('/slow')) return { status: 200, delayMs: TIMEOUT_MS * 3 };
    return { status: 404 };
  });
  threaded = createThreadedSender({ threads: 2, timeoutMs: TIMEOUT_MS, allowPrivateTargets: true });
  threadedGuarded = createThreadedSender({ threads: 2, timeoutMs: TIMEOUT_MS, allowPrivateTargets: false });
});
afterAll(async () => {
  await Promise.all([inThread.close(), inThreadGuarded.close(), threaded?.close(), threadedGuarded?.close()]);
  await rx?.close();
});

const out = (url: string, n = 1): Outgoing => ({
  deliveryId: `dlv_${n}`, eventId: `evt_${n}`, eventType: 'a.b', attemptNumber: 1, url,
  headers: { 'x-custom': 'yes' }, secrets: [SECRET], body: JSON.stringify({ id: `evt_${n}`, data: { n, s: 'ü☃' } }),
});
/** An outcome without what differs from run to run. */
const comparable = ({ startedAt, durationMs, ...rest }: AttemptOutcome) => {
  expect(startedAt).toBeInstanceOf(Date);
  expect(durationMs).toBeGreaterThanOrEqual(0);
  return rest;
};

describe('threaded sender', () => {
  it('gives the in-thread sender\'s outcome for 2xx, 500 with webhook-retry: none, 503 with Retry-After, a timeout, and refused connections', async () => {
    const closed = await startReceiver();
    const closedUrl = closed.url;
    await closed.close();
    const cases = [`${rx.url}/ok`, `${rx.url}/boom`, `${rx.url}/busy`, `${rx.url}/slow`, `${closedUrl}/gone`];
    for (const url of cases) {
      const [a, b] = await Promise.all([inThread.send(out(url)), threaded.send(out(url))]);
      expect(comparable(b), url).toEqual(comparable(a));
    }
    const [ok, , busy, slow, gone] = await Promise.all(cases.map((u) => threaded.send(out(u))));
    expect(ok).toMatchObject({ ok: true, responseStatus: 200, responseBody: 'got /ok' });
    expect(busy).toMatchObject({ ok: false, responseStatus: 503, retryAfterMs: 3000 });
    expect(slow).toMatchObject({ ok: false, error: `timeout after ${TIMEOUT_MS} ms` });
    expect(gone).toMatchObject({ ok: false, error: 'connection refused' });
  });

  it('applies the SSRF guard inside the threads: a private address, and a name resolving to one at connect time', async () => {
    const before = rx.received.length;
    for (const url of [`http://127.0.0.1:${rx.port}/ok`, `http://localhost:${rx.port}/ok`]) {
      const [a, b] = await Promise.all([inThreadGuarded.send(out(url)), threadedGuarded.send(out(url))]);
      expect(comparable(b), url).toEqual(comparable(a));
      expect(b.ok).toBe(false);
      expect(b.error).toMatch(/private|blocked|not allowed/i);
    }
    expect(rx.received.length).toBe(before);
  });

  it('spreads sends over the threads, each signed so that standardwebhooks verifies it', async () => {
    const n = 40;
    const outcomes = await Promise.all(Array.from({ length: n }, (_, i) => threaded.send(out(`${rx.url}/ok-spread-${i}`, 1000 + i))));
    expect(outcomes.every((o) => o.ok)).toBe(true);
    const got = rx.received.filter((r) => r.path.startsWith('/ok-spread-'));
    expect(got).toHaveLength(n);
    for (const r of got) {
      const body = new Webhook(SECRET).verify(r.body, r.headers as Record<string, string>) as { id: string };
      expect(r.headers['webhook-id']).toBe(body.id);
      expect(r.headers['x-custom']).toBe('yes');
    }
    expect(threaded.threads).toHaveLength(2);
  });
});

/** A receiver that never answers, and tells when the client gave up on a request. */
async function holdingServer() {
  const held: { req: IncomingMessage; res: ServerResponse; clientClosed: Promise<void> }[] = [];
  const arrivals: (() => void)[] = [];
  const server: Server = createServer((req, res) => {
    const clientClosed = new Promise<void>((resolve) => res.on('close', () => resolve()));
    req.resume();
    held.push({ req, res, clientClosed });
    for (const a of arrivals.splice(0)) a();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    held,
    async arrived(n: number) {
      while (held.length < n) await new Promise<void>((resolve) => arrivals.push(resolve));
    },
    close: () => {
      server.closeAllConnections();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

describe('threaded sender: aborts, crashes, close', () => {
  // A long timeout: only the abort or the thread's exit can end these sends within the test.
  const LONG = 60_000;
  let s: ThreadedSender;
  afterAll(() => s?.close());

  it('carries abort() to every thread: the requests are cancelled there and the outcomes say aborted', async () => {
    // Its own sender: an aborted one is done for.
    const aborting = createThreadedSender({ threads: 2, timeoutMs: LONG, allowPrivateTargets: true });
    const hold = await holdingServer();
    try {
      await aborting.ready();
      // Four at once: the least busy thread takes each, so both threads hold some.
      const pending = [1, 2, 3, 4].map((i) => aborting.send(out(`${hold.url}/held-${i}`, i)));
      await hold.arrived(4);
      aborting.abort();
      const aborted = { ok: false, responseStatus: null, error: 'aborted: dispatcher shutting down' };
      expect(await Promise.all(pending)).toMatchObject([aborted, aborted, aborted, aborted]);
      await Promise.all(hold.held.map((h) => h.clientClosed));
      // Already aborted: never sent.
      expect(await aborting.send(out(`${hold.url}/never`))).toMatchObject(aborted);
      expect(hold.held).toHaveLength(4);
    } finally {
      await aborting.close();
      await hold.close();
    }
  });

  it('fails the sends of a thread that exits mid-send (never a hung promise), and replaces the thread', async () => {
    s ??= createThreadedSender({ threads: 2, timeoutMs: LONG, allowPrivateTargets: true });
    const hold = await holdingServer();
    try {
      // Four sends over two threads that are up (sends go to a ready thread first): two on each.
      await s.ready();
      const pending = [1, 2, 3, 4].map((i) => s.send(out(`${hold.url}/crash-${i}`, i)));
      await hold.arrived(4);
      const settled: AttemptOutcome[] = [];
      for (const p of pending) void p.then((o) => settled.push(o));
      const [first] = s.threads;
      const exited = new Promise<number>((resolve) => first!.once('exit', resolve));
      s.crashThread(0, 7);
      expect(await exited).toBe(7);
      // The dead thread's two sends come back failed; the other thread's two are still held.
      await expect.poll(() => settled.length).toBe(2);
      for (const o of settled) expect(o).toMatchObject({ ok: false, responseStatus: null, error: 'send thread exited (code 7) during the attempt' });
      for (const h of hold.held) if (!h.res.destroyed) h.res.end('late');
      const rest = await Promise.all(pending);
      expect(rest.filter((o) => o.ok).map((o) => o.responseBody)).toEqual(['late', 'late']);
      // A new thread took its place: two live threads, and sends go through both.
      await expect.poll(() => s.threads.length).toBe(2);
      expect(s.threads).not.toContain(first);
      const again = await Promise.all([1, 2, 3, 4].map((i) => s.send(out(`${rx.url}/ok-after-crash-${i}`))));
      expect(again.every((o) => o.ok)).toBe(true);
    } finally {
      await hold.close();
    }
  });

  it('close() terminates the threads and settles what is still in flight', async () => {
    const c = createThreadedSender({ threads: 2, timeoutMs: LONG, allowPrivateTargets: true });
    const hold = await holdingServer();
    try {
      const pending = c.send(out(`${hold.url}/at-close`));
      await hold.arrived(1);
      const workers = [...c.threads];
      const exits = workers.map((w) => new Promise<void>((resolve) => w.once('exit', () => resolve())));
      await c.close();
      await Promise.all(exits);
      expect(await pending).toMatchObject({ ok: false, error: expect.stringMatching(/send thread exited/) });
      expect(c.threads).toHaveLength(0);
      expect(await c.send(out(`${rx.url}/ok-closed`))).toMatchObject({ ok: false, error: 'sender closed' });
    } finally {
      await hold.close();
    }
  });
});
