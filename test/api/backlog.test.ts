// An endpoint's backlog drains as fast as its concurrency allows, not one claim per poll: when a
// claim fills an endpoint's slots, slots freeing up on it wake the claim loop.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CreateEndpoint, SendEvents } from '../helpers/operations.js';
import { type Receiver, startReceiver } from '../helpers/receiver.js';
import { eventually, startTestApp, type TestApp } from '../helpers/testApp.js';

let t: TestApp;
let rx: Receiver;
beforeAll(async () => {
  // A poll interval far longer than the test may take: only wake-ups can move the backlog.
  t = await startTestApp({ env: { HOOKYARD_POLL_INTERVAL_MS: '30000', HOOKYARD_ENDPOINT_CONCURRENCY: '4' } });
  rx = await startReceiver();
});
afterAll(async () => {
  await t?.stop();
  await rx?.close();
});

describe('a backlog on one endpoint', () => {
  it('drains by wake-ups as its slots free, without waiting for the next poll', async () => {
    await t.ok(CreateEndpoint, { input: { url: `${rx.url}/one`, eventTypes: ['backlog.*'] } });
    // One call, so one wake-up signal: 40 deliveries for an endpoint that takes 4 at a time.
    const sent = await t.ok(SendEvents, { inputs: Array.from({ length: 40 }, (_, i) => ({ eventType: 'backlog.item', payload: { i } })) });
    expect(sent.sendEvents.results.every((r) => r.deliveriesCreated === 1)).toBe(true);
    // Ten claims of 4: one poll each would take 5 minutes.
    await rx.waitFor(40, 20_000);
    await eventually(async () => (await t.prisma.delivery.count({ where: { status: 'DELIVERED' } })) === 40, 10_000, 'all 40 recorded DELIVERED');
  });
});
