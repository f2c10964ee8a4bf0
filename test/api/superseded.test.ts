// Superseded deliveries: for an (event, endpoint) pair only its newest delivery counts. Bulk
// replay skips older ones unless asked, supersededBy names the newest replay, and the deliveries
// filter tells current from superseded.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { graphql } from '../../src/generated/gql/gql.js';
import { CreateEndpoint, ReplayDelivery, SendEvent } from '../helpers/operations.js';
import { type Receiver, startReceiver } from '../helpers/receiver.js';
import { eventually, startTestApp, type TestApp } from '../helpers/testApp.js';

const Superseded = graphql(`
  query Superseded($id: ID!) { delivery(id: $id) { id status supersededBy { id status } } }
`);

const BulkReplaySuperseded = graphql(`
  mutation BulkReplaySuperseded($input: BulkReplayDeliveriesInput!) {
    bulkReplayDeliveries(input: $input) { enqueued capped dryRun totalMatching }
  }
`);

const SupersededFilter = graphql(`
  query SupersededFilter($filter: DeliveryFilter) {
    deliveries(filter: $filter, first: 50) { edges { node { id supersededBy { id } } } }
  }
`);

let t: TestApp;
let rx: Receiver;
/** Status each receiver path answers with (200 when absent). */
const answers = new Map<string, number>();
beforeAll(async () => {
  // One attempt per delivery: a 500 ends FAILED at once.
  t = await startTestApp({ env: { HOOKYARD_RETRY_SCHEDULE: '0s', HOOKYARD_REPLAY_RATE_LIMIT: '1000' } });
  rx = await startReceiver((req) => ({ status: answers.get(req.path) ?? 200 }));
});
afterAll(async () => {
  await t?.stop();
  await rx?.close();
});

const settled = (id: string) =>
  eventually(async () => {
    const d = await t.prisma.delivery.findUniqueOrThrow({ where: { id } });
    return d.status === 'DELIVERED' || d.status === 'FAILED' ? d.status : null;
  }, 15_000, `delivery ${id} final`);

/** An endpoint at `path` and one event to it whose delivery ended FAILED. */
async function failed(path: string) {
  answers.set(path, 500);
  const endpointId = (await t.ok(CreateEndpoint, { input: { url: `${rx.url}${path}`, eventTypes: [path.slice(1)] } })).createEndpoint.endpoint.id;
  const eventId = (await t.ok(SendEvent, { input: { eventType: path.slice(1), payload: { n: 1 } } })).sendEvent.event.id;
  const { id } = await t.prisma.delivery.findFirstOrThrow({ where: { eventId } });
  expect(await settled(id)).toBe('FAILED');
  return { endpointId, eventId, id };
}

const hits = (path: string) => rx.received.filter((r) => r.path === path).length;
const bulk = (endpointId: string, extra: { dryRun?: boolean; includeSuperseded?: boolean } = {}) =>
  t.ok(BulkReplaySuperseded, { input: { endpointId, status: 'FAILED', ...extra } }).then((r) => r.bulkReplayDeliveries);

describe('superseded deliveries', () => {
  it('a FAILED delivery whose replay was DELIVERED is neither counted nor re-sent by bulk replay, unless includeSuperseded', async () => {
    const a = await failed('/sup.delivered');
    answers.set('/sup.delivered', 200);
    const b = (await t.ok(ReplayDelivery, { id: a.id })).replayDelivery.id;
    expect(await settled(b)).toBe('DELIVERED');
    expect((await t.ok(Superseded, { id: a.id })).delivery?.supersededBy).toEqual({ id: b, status: 'DELIVERED' });
    expect((await t.ok(Superseded, { id: b })).delivery?.supersededBy).toBeNull();

    const sent = hits('/sup.delivered');
    expect(await bulk(a.endpointId, { dryRun: true })).toMatchObject({ enqueued: 0, totalMatching: 0 });
    expect(await bulk(a.endpointId)).toMatchObject({ enqueued: 0, totalMatching: 0 });
    expect(await t.prisma.delivery.count({ where: { eventId: a.eventId } })).toBe(2);

    expect(await bulk(a.endpointId, { dryRun: true, includeSuperseded: true })).toMatchObject({ enqueued: 1, totalMatching: 1 });
    expect(await bulk(a.endpointId, { includeSuperseded: true })).toMatchObject({ enqueued: 1, totalMatching: 1 });
    const c = await t.prisma.delivery.findFirstOrThrow({ where: { eventId: a.eventId, replayOfId: a.id, id: { not: b } } });
    expect(await settled(c.id)).toBe('DELIVERED');
    expect(hits('/sup.delivered')).toBe(sent + 1);
    // The newest replay supersedes both earlier deliveries.
    expect((await t.ok(Superseded, { id: a.id })).delivery?.supersededBy?.id).toBe(c.id);
    expect((await t.ok(Superseded, { id: b })).delivery?.supersededBy?.id).toBe(c.id);
  });

  it('a replay that failed again is replayed once, not beside its original; supersededBy follows the newest replay', async () => {
    const a = await failed('/sup.again');
    const b = (await t.ok(ReplayDelivery, { id: a.id })).replayDelivery.id;
    expect(await settled(b)).toBe('FAILED');
    const sent = hits('/sup.again');

    expect(await bulk(a.endpointId, { dryRun: true })).toMatchObject({ enqueued: 1, totalMatching: 1 });
    answers.set('/sup.again', 200);
    expect(await bulk(a.endpointId)).toMatchObject({ enqueued: 1, totalMatching: 1 });
    const c = await t.prisma.delivery.findFirstOrThrow({ where: { eventId: a.eventId, id: { notIn: [a.id, b] } } });
    expect(c.replayOfId).toBe(b);
    expect(await settled(c.id)).toBe('DELIVERED');
    await eventually(async () => hits('/sup.again') === sent + 1, 5_000, 'the one replay sent');
    expect(await t.prisma.delivery.count({ where: { eventId: a.eventId } })).toBe(3);
    expect((await t.ok(Superseded, { id: a.id })).delivery?.supersededBy?.id).toBe(c.id);
    expect((await t.ok(Superseded, { id: b })).delivery?.supersededBy?.id).toBe(c.id);
    expect((await t.ok(Superseded, { id: c.id })).delivery?.supersededBy).toBeNull();

    // A single replay of the oldest one also makes the newest delivery the only current one.
    const d = (await t.ok(ReplayDelivery, { id: a.id })).replayDelivery.id;
    await settled(d);
    for (const older of [a.id, b, c.id]) expect((await t.ok(Superseded, { id: older })).delivery?.supersededBy?.id).toBe(d);

    // The filter: superseded only, current only, and all when absent.
    const ids = async (superseded?: boolean) =>
      (await t.ok(SupersededFilter, { filter: { endpointId: a.endpointId, ...(superseded === undefined ? {} : { superseded }) } })).deliveries.edges
        .map((e) => e.node.id)
        .sort();
    expect(await ids(true)).toEqual([a.id, b, c.id].sort());
    expect(await ids(false)).toEqual([d]);
    expect(await ids()).toEqual([a.id, b, c.id, d].sort());
  });
});
