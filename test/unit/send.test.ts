// The sender against a real local HTTP server: what ky over undici's request API makes of the
// answers a receiver can give (no database involved).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSender, MAX_RESPONSE_BODY, type Outgoing } from '../../src/dispatcher/send.js';
import { type Receiver, type Reply, startReceiver } from '../helpers/receiver.js';

let rx: Receiver;
const sender = createSender({ timeoutMs: 500, allowPrivateTargets: true });
beforeAll(async () => {
  rx = await startReceiver();
});
afterAll(async () => {
  await sender.close();
  await rx?.close();
});

const out = (path: string): Outgoing => ({
  deliveryId: 'dlv_1', eventId: 'evt_1', eventType: 'a.b', attemptNumber: 2, url: `${rx.url}${path}?q=1`,
  headers: { 'x-custom': 'yes' }, secrets: ['whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw'], body: '{"id":"evt_1","data":{"ü":"☃"}}',
});

describe('sender', () => {
  it('POSTs the body and headers, path and query intact', async () => {
    rx.respond(() => ({ status: 201, body: 'created' }));
    const res = await sender.send(out('/in'));
    expect(res).toMatchObject({ ok: true, responseStatus: 201, responseBody: 'created', error: null });
    const req = rx.received.at(-1)!;
    expect(req.path).toBe('/in?q=1');
    expect(req.body).toBe('{"id":"evt_1","data":{"ü":"☃"}}');
    expect(req.headers).toMatchObject({ 'content-type': 'application/json', 'x-custom': 'yes', 'webhook-id': 'evt_1', 'x-hookyard-attempt': '2' });
    expect(req.headers['webhook-signature']).toMatch(/^v1,/);
  });

  it('takes 204 and 205 (no body allowed) as success with no body', async () => {
    for (const status of [204, 205]) {
      rx.respond(() => ({ status }));
      expect(await sender.send(out('/empty'))).toMatchObject({ ok: true, responseStatus: status, responseBody: null });
    }
  });

  it('cuts a long body at 16 KiB without a broken character at the end', async () => {
    // 3-byte characters: the cap falls inside one.
    rx.respond(() => ({ status: 200, body: '€'.repeat(20_000) }));
    const res = await sender.send(out('/long'));
    expect(res.responseBody).toBe('€'.repeat(Math.floor(MAX_RESPONSE_BODY / 3)));
    rx.respond(() => ({ status: 200, body: 'ok' }));
    expect(await sender.send(out('/after'))).toMatchObject({ ok: true, responseBody: 'ok' });
  });

  it('reports a redirect as a failure without following it, and keeps Retry-After of a 429', async () => {
    rx.respond((req): Reply => (req.path.startsWith('/moved') ? { status: 302, headers: { location: '/elsewhere' } } : { status: 429, headers: { 'retry-after': '7' } }));
    expect(await sender.send(out('/moved'))).toMatchObject({ ok: false, responseStatus: 302, error: 'redirect not followed (302 to /elsewhere)' });
    expect(rx.received.some((r) => r.path === '/elsewhere')).toBe(false);
    expect(await sender.send(out('/busy'))).toMatchObject({ ok: false, responseStatus: 429, error: 'HTTP 429', retryAfterMs: 7000 });
  });

  it('refuses a status no HTTP answer can have', async () => {
    rx.respond(() => ({ status: 999 }));
    expect(await sender.send(out('/odd'))).toMatchObject({ ok: false, responseStatus: null, error: 'request failed: invalid HTTP status 999' });
  });

  it('times out', async () => {
    rx.respond(() => ({ status: 200, delayMs: 2000 }));
    expect(await sender.send(out('/slow'))).toMatchObject({ ok: false, responseStatus: null, error: 'timeout after 500 ms' });
  });

  it('abort() ends every send under way at once, and every send after it', async () => {
    // Its own sender: an aborted one is done for. A long timeout, so only the abort can end these.
    const own = createSender({ timeoutMs: 60_000, allowPrivateTargets: true });
    rx.respond(() => ({ status: 200, delayMs: 10_000 }));
    const before = rx.received.length;
    const t0 = performance.now();
    const pending = [own.send(out('/held-1')), own.send(out('/held-2'))];
    await rx.waitFor(before + 2);
    own.abort();
    const aborted = { ok: false, responseStatus: null, error: 'aborted: dispatcher shutting down' };
    expect(await Promise.all(pending)).toMatchObject([aborted, aborted]);
    expect(performance.now() - t0).toBeLessThan(5_000);
    expect(await own.send(out('/after'))).toMatchObject(aborted);
    expect(rx.received.length).toBe(before + 2);
    await own.close();
  });

  it('names refused connections and resets', async () => {
    rx.respond(() => ({ reset: true }));
    expect(await sender.send(out('/reset'))).toMatchObject({ ok: false, error: 'connection reset' });
    expect(await sender.send({ ...out('/x'), url: 'http://127.0.0.1:9/' })).toMatchObject({ ok: false, error: 'connection refused' });
  });
});
