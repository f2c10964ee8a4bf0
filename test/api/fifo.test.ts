// FIFO endpoints: one delivery at a time, in event order; retries hold the line, a FAILED head lets
// it move on, a replay joins the back. The order is kept by the claim statement (store.claimDue).
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { newId } from '../../src/ids.js';
import { CreateEndpoint, GetEndpoint, ReplayDelivery, SendEvent, UpdateEndpoint } from '../helpers/operations.js';
import { type Received, type Receiver, type Reply, startReceiver } from '../helpers/receiver.js';
import { eventually, startTestApp, type TestApp } from '../helpers/testApp.js';

let t: TestApp;
let rx: Receiver;
beforeAll(async () => {
  t = await startTestApp({ env: { HOOKYARD_RETRY_SCHEDULE: '0s,100ms,100ms,100ms,100ms', HOOKYARD_DELIVERY_TIMEOUT_MS: '2000', HOOKYARD_LEASE_MS: '5000' } });
  rx = await startReceiver();
});
afterAll(async () => {
  await t?.stop();
  await rx?.close();
});
afterEach(() => rx.respond(() => ({ status: 200 })));

const seq = (r: Received) => (JSON.parse(r.body) as { data: { i: number } }).data.i;

/**
 * Answers on `path` after `ms` (the receiver's own work, so overlapping sends would show), with
 * `status(i, attempt)`; `maxInFlight` is the most requests the receiver held on `path` at once.
 */
function line(path: string, ms: number, status: (i: number, attempt: number) => number) {
  const attempts = new Map<number, number>();
  rx.respond((req): Reply => {
    if (!req.path.startsWith(path)) return { status: 200 };
    const i = seq(req);
    const attempt = (attempts.get(i) ?? 0) + 1;
    attempts.set(i, attempt);
    return { status: status(i, attempt), delayMs: ms };
  });
  return {
    get maxInFlight() {
      return rx.maxHeld(path);
    },
  };
}

async function fifoEndpoint(path: string, eventType: string) {
  const created = await t.ok(CreateEndpoint, { input: { url: `${rx.url}${path}`, eventTypes: [eventType], fifo: true } });
  return created.createEndpoint.endpoint.id;
}

async function send(eventType: string, i: number) {
  const sent = await t.ok(SendEvent, { input: { eventType, payload: { i } } });
  return sent.sendEvent.event.id;
}

const arrivals = (path: string) => rx.received.filter((r) => r.path === path).map(seq);

describe('FIFO endpoints', () => {
  it('is off by default, set on create and update, and never null', async () => {
    const plain = await t.ok(CreateEndpoint, { input: { url: `${rx.url}/plain` } });
    const id = plain.createEndpoint.endpoint.id;
    expect((await t.ok(GetEndpoint, { id })).endpoint!.fifo).toBe(false);
    expect((await t.ok(UpdateEndpoint, { id, input: { fifo: true } })).updateEndpoint.fifo).toBe(true);
    expect((await t.ok(UpdateEndpoint, { id, input: { description: 'kept' } })).updateEndpoint.fifo).toBe(true);
    const res = await t.gql(UpdateEndpoint, { id, input: { fifo: null } });
    expect(res.errors?.[0]?.extensions).toMatchObject({ code: 'VALIDATION_FAILED', param: 'input.fifo' });
  });

  it('delivers events 1..5 in order, each only after the one before succeeded, while the first is retried twice', async () => {
    const path = `/fifo-${newId('event')}`;
    const type = `fifo.${newId('event')}`;
    const state = line(path, 40, (i, attempt) => (i === 1 && attempt <= 2 ? 500 : 200));
    const endpointId = await fifoEndpoint(path, type);
    for (let i = 1; i <= 5; i++) await send(type, i);
    await eventually(async () => (await t.prisma.delivery.count({ where: { endpointId, status: 'DELIVERED' } })) === 5, 15_000, '5 delivered');
    expect(arrivals(path)).toEqual([1, 1, 1, 2, 3, 4, 5]);
    expect(state.maxInFlight).toBe(1);
  });

  it('moves on past a FAILED head, and sends a replay after what was already waiting', async () => {
    const path = `/fifo-${newId('event')}`;
    const type = `fifo.${newId('event')}`;
    line(path, 20, (i) => (i === 1 ? 503 : 200));
    const endpointId = await fifoEndpoint(path, type);
    const first = await send(type, 1);
    await send(type, 2);
    await send(type, 3);
    await eventually(async () => (await t.prisma.delivery.count({ where: { endpointId, status: { in: ['DELIVERED', 'FAILED'] } } })) === 3, 15_000, 'line settled');
    expect(arrivals(path)).toEqual([1, 1, 1, 1, 1, 2, 3]);
    const head = await t.prisma.delivery.findFirstOrThrow({ where: { eventId: first, endpointId } });
    expect(head.status).toBe('FAILED');

    // Event 1 is the oldest event, but its replay is created after event 4: it goes behind it.
    const state = line(path, 100, () => 200);
    await send(type, 4);
    await t.ok(ReplayDelivery, { id: head.id });
    await send(type, 5);
    await eventually(async () => (await t.prisma.delivery.count({ where: { endpointId, status: 'DELIVERED' } })) === 5, 15_000, 'replay delivered');
    expect(arrivals(path).slice(7)).toEqual([4, 1, 5]);
    expect(state.maxInFlight).toBe(1);
  });
});
