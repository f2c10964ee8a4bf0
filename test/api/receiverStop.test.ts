import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newId } from '../../src/ids.js';
import { CreateEndpoint, GetDelivery, SendEvent } from '../helpers/operations.js';
import { type Receiver, startReceiver } from '../helpers/receiver.js';
import { eventually, startTestApp, type TestApp } from '../helpers/testApp.js';

let t: TestApp;
let rx: Receiver;
beforeAll(async () => {
  t = await startTestApp({ env: { HOOKYARD_RETRY_SCHEDULE: '0s,100ms,100ms,100ms', HOOKYARD_DELIVERY_TIMEOUT_MS: '2000' } });
  rx = await startReceiver();
});
afterAll(async () => {
  await t?.stop();
  await rx?.close();
});

async function deliverTo(path: string) {
  const { createEndpoint } = await t.ok(CreateEndpoint, { input: { url: `${rx.url}${path}` } });
  const sent = await t.ok(SendEvent, { input: { eventType: 'stop.test', payload: { n: 1 } } });
  const d = await t.prisma.delivery.findFirstOrThrow({ where: { eventId: sent.sendEvent.event.id, endpointId: createEndpoint.endpoint.id } });
  return eventually(async () => {
    const got = (await t.ok(GetDelivery, { id: d.id })).delivery!;
    return got.status === 'FAILED' || got.status === 'DELIVERED' ? got : null;
  }, 15_000, `delivery ${d.id} to settle`);
}

describe('webhook-retry: none', () => {
  it('ends the delivery FAILED after the one attempt that asked, saying why', async () => {
    const path = `/stop-${newId('event')}`;
    rx.respond((req) => (req.path === path ? { status: 500, headers: { 'webhook-retry': 'none' } } : { status: 200 }));
    const d = await deliverTo(path);
    expect(d).toMatchObject({ status: 'FAILED', attemptCount: 1, lastResponseStatus: 500, nextAttemptAt: null });
    expect(d.attempts).toHaveLength(1);
    expect(d.attempts[0]!.error).toMatch(/webhook-retry: none/);
    expect(rx.received.filter((r) => r.path === path)).toHaveLength(1);
  });

  it('retries by the schedule without the header', async () => {
    const path = `/retry-${newId('event')}`;
    rx.respond((req) => (req.path === path ? { status: 500 } : { status: 200 }));
    const d = await deliverTo(path);
    expect(d).toMatchObject({ status: 'FAILED', attemptCount: 4 });
    expect(d.attempts[0]!.error).toBe('HTTP 500');
    expect(rx.received.filter((r) => r.path === path)).toHaveLength(4);
  });
});
