// HOOKYARD_DISPATCH_THREADS=2 end to end: a real database, a real receiver over HTTP, the sends in
// two worker threads. Delivered and signed as on the main thread; a thread that dies mid-send
// costs a recorded failed attempt and a retry, never the delivery; shutdown with sends in flight
// hands them back untouched.
import { Webhook } from 'standardwebhooks';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Sender } from '../../src/dispatcher/send.js';
import { createThreadedSender, type ThreadedSender } from '../../src/dispatcher/threadedSender.js';
import { newId } from '../../src/ids.js';
import { CreateEndpoint, GetDelivery, SendEvent } from '../helpers/operations.js';
import type { Reply } from '../helpers/receiver.js';
import { appsOn, eventually, sharedDatabaseAndReceiver, type TestApp } from '../helpers/testApp.js';

const shared = sharedDatabaseAndReceiver();
// A delivery timeout with room for a busy machine (PGlite shares the test's thread): only the test
// of timeouts shortens it.
const THREADS = { HOOKYARD_DISPATCH_THREADS: '2', HOOKYARD_RETRY_SCHEDULE: '0s,100ms,100ms,100ms', HOOKYARD_DELIVERY_TIMEOUT_MS: '10000', HOOKYARD_LEASE_MS: '30000' };

// Each test starts threads that load the sender from the sources (tsx): seconds on a busy machine.
describe('dispatching through send threads (HOOKYARD_DISPATCH_THREADS=2)', { timeout: 60_000 }, () => {
  const apps = appsOn(shared);
  let t: TestApp;
  const start = async (env: Record<string, string> = {}, options?: Parameters<typeof apps.start>[1]) => (t = await apps.start(env, options));
  const stop = apps.stop;
  /** Whatever a test holds back is answered at its end, so nothing waits on it afterwards. */
  let releaseHeld: () => void = () => {};
  beforeEach(() => shared.rx.respond(() => ({ status: 200 })));
  afterEach(async () => {
    releaseHeld();
    await stop();
  });

  const threaded = () => t.app.dispatcher!.sender as ThreadedSender;
  // Each test's own receiver path, and the event type its endpoint subscribes to.
  const path = (what: string) => `/threads-${what}-${newId('event').slice(4)}`;
  const typeOf = (p: string) => `threads.${p.slice(1).replace(/-/g, '.')}`;
  const endpointTo = async (p: string) => (await t.ok(CreateEndpoint, { input: { url: `${shared.rx.url}${p}`, eventTypes: [typeOf(p)] } })).createEndpoint;
  const send = async (p: string, payload: Record<string, unknown> = {}) => {
    const sent = await t.ok(SendEvent, { input: { eventType: typeOf(p), payload } });
    return (await t.prisma.delivery.findFirstOrThrow({ where: { eventId: sent.sendEvent.event.id } })).id;
  };
  const settled = (id: string) =>
    eventually(async () => {
      const d = (await t.ok(GetDelivery, { id })).delivery!;
      return d.status === 'DELIVERED' || d.status === 'FAILED' ? d : null;
    }, 20_000, `delivery ${id} to settle`);

  it('delivers through both threads, each request signed so that standardwebhooks verifies it', async () => {
    await start(THREADS);
    expect(threaded().threads).toHaveLength(2);
    const ok = path('ok');
    const { endpoint, secret } = await endpointTo(ok);
    const ids = await Promise.all(Array.from({ length: 30 }, (_, i) => send(ok, { i, note: 'ünïcødé ✓' })));
    for (const id of ids) expect(await settled(id)).toMatchObject({ status: 'DELIVERED', attemptCount: 1, lastResponseStatus: 200, lastError: null });
    const got = shared.rx.received.filter((r) => r.path === ok);
    expect(got).toHaveLength(30);
    for (const r of got) {
      const body = new Webhook(secret).verify(r.body, r.headers as Record<string, string>) as { data: { note: string } };
      expect(body.data.note).toBe('ünïcødé ✓');
      expect(ids).toContain(r.headers['x-hookyard-delivery-id']);
    }
    expect(endpoint.id).toMatch(/^ep_/);
  });

  it('claims nothing before its send threads are up: waiting for a thread would spend the lease', async () => {
    // The delivery is due (schedule entry 0s) before the dispatcher starts, so its first claim
    // cycle would take it at once.
    await start({ ...THREADS, HOOKYARD_ROLE: 'api' });
    const early = path('early');
    await endpointTo(early);
    const id = await send(early);
    await stop();
    // Real send threads, watched: the executor hands a delivery to send() right after its claim.
    const threads = createThreadedSender({ timeoutMs: 10_000, allowPrivateTargets: true, threads: 2 });
    let up = false;
    const handedOver: boolean[] = [];
    const watched: Sender = {
      ready: async () => {
        await threads.ready();
        up = true;
      },
      send: (out) => {
        handedOver.push(up);
        return threads.send(out);
      },
      abort: () => threads.abort(),
      close: () => threads.close(),
    };
    await start(THREADS, { sender: watched });
    expect((await settled(id)).status).toBe('DELIVERED');
    expect(handedOver).toEqual([true]);
  });

  it('records 500s and timeouts as the main thread does, retrying on the schedule', async () => {
    await start({ ...THREADS, HOOKYARD_DELIVERY_TIMEOUT_MS: '1000', HOOKYARD_LEASE_MS: '5000' });
    const flaky = path('flaky');
    const slow = path('slow');
    let n = 0;
    shared.rx.respond((req): Reply => (req.path === flaky ? (n++ < 2 ? { status: 500, body: 'boom' } : { status: 204 }) : req.path === slow ? { status: 200, delayMs: 3000 } : { status: 200 }));
    await endpointTo(flaky);
    await endpointTo(slow);
    const [f, s] = [await send(flaky), await send(slow)];
    const df = await settled(f);
    expect(df.attempts.map((a) => [a.attemptNumber, a.responseStatus, a.error, a.responseBody])).toEqual([
      [1, 500, 'HTTP 500', 'boom'],
      [2, 500, 'HTTP 500', 'boom'],
      [3, 204, null, null],
    ]);
    expect(df.status).toBe('DELIVERED');
    const ds = await settled(s);
    expect(ds).toMatchObject({ status: 'FAILED', attemptCount: 4 });
    expect(new Set(ds.attempts.map((a) => a.error))).toEqual(new Set(['timeout after 1000 ms']));
  });

  it('a thread that dies mid-send: the attempt is recorded as failed and retried through its replacement, nothing lost', async () => {
    await start(THREADS);
    const crash = path('crash');
    const held = new Promise<Reply>((resolve) => (releaseHeld = () => resolve({ status: 200 })));
    let first = true;
    // The first request is never answered while the threads die; the retry is answered at once.
    shared.rx.respond((req): Reply | Promise<Reply> => (req.path === crash && first ? ((first = false), held) : { status: 200 }));
    await endpointTo(crash);
    const id = await send(crash);
    await eventually(async () => shared.rx.received.some((r) => r.path === crash), 10_000, 'the first attempt to arrive');
    const sender = threaded();
    const dying = [...sender.threads];
    const exits = dying.map((w) => new Promise<void>((resolve) => w.once('exit', () => resolve())));
    sender.crashThread(0, 3);
    sender.crashThread(1, 3);
    await Promise.all(exits);
    const d = await settled(id);
    expect(d.status).toBe('DELIVERED');
    expect(d.attempts.map((a) => [a.attemptNumber, a.responseStatus, a.error])).toEqual([
      [1, null, 'send thread exited (code 3) during the attempt'],
      [2, 200, null],
    ]);
    expect(sender.threads).toHaveLength(2);
    for (const w of dying) expect(sender.threads).not.toContain(w);
  });

  it('on shutdown aborts the sends in flight inside the threads and hands them back untouched', async () => {
    // A delivery timeout far past the test's own: only an abort reaching the threads ends these sends.
    await start({ ...THREADS, HOOKYARD_DELIVERY_TIMEOUT_MS: '120000', HOOKYARD_LEASE_MS: '180000', HOOKYARD_SHUTDOWN_GRACE_MS: '200' });
    const hold = path('shutdown');
    const held = new Promise<Reply>((resolve) => (releaseHeld = () => resolve({ status: 200 })));
    shared.rx.respond((req): Reply | Promise<Reply> => (req.path === hold ? held : { status: 200 }));
    await endpointTo(hold);
    const ids = await Promise.all([1, 2, 3, 4].map((i) => send(hold, { i })));
    await eventually(async () => shared.rx.received.filter((r) => r.path === hold).length === 4, 10_000, 'four sends in flight');
    await stop();
    await start({ HOOKYARD_ROLE: 'api' });
    const rows = await t.prisma.delivery.findMany({ where: { id: { in: ids } }, include: { attempts: true } });
    expect(rows).toHaveLength(4);
    for (const r of rows) {
      expect(r).toMatchObject({ status: 'PENDING', attemptCount: 0, leaseOwner: null });
      expect(r.attempts).toEqual([]);
    }
  });
});
