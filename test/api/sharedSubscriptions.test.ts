// Subscribers of one shape share one execution per change (src/graphql/sharedSubscriptions.ts):
// over real graphql-ws sockets, every subscriber still gets every push, and tenants, variables and
// documents each keep their own results.
import { MessageType, type NextMessage, parseMessage, stringifyMessage } from 'graphql-ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { newId } from '../../src/ids.js';
import { CreateEndpoint, OnDeliveryStatus, SendEvent, type StatusChange } from '../helpers/operations.js';
import { type Receiver, startReceiver } from '../helpers/receiver.js';
import { startTestApp, type TestApp } from '../helpers/testApp.js';
import { collect, watchSubscriptions, wsClient } from '../helpers/ws.js';

let t: TestApp;
let rx: Receiver;
beforeAll(async () => {
  t = await startTestApp({ env: { HOOKYARD_RETRY_SCHEDULE: '0s,100ms' } });
  rx = await startReceiver();
});
afterAll(async () => {
  await t?.stop();
  await rx?.close();
});

const STATUSES = [[null, 'PENDING'], ['PENDING', 'SENDING'], ['SENDING', 'DELIVERED']];

async function endpoint(key = t.key, eventType = 'share.*') {
  const res = await t.gql(CreateEndpoint, { input: { url: `${rx.url}/share-${newId('event')}`, eventTypes: [eventType] } }, key);
  if (!res.data) throw new Error(JSON.stringify(res.errors));
  return res.data.createEndpoint.endpoint.id;
}

async function delivered(key: string, eventType: string) {
  const sent = await t.gql(SendEvent, { input: { eventType, payload: { n: 1 } } }, key);
  if (!sent.data) throw new Error(JSON.stringify(sent.errors));
  return sent.data.sendEvent.event.id;
}

const transitions = (items: StatusChange[], deliveryId: string) =>
  items.filter((i) => i.deliveryStatusChanged.delivery.id === deliveryId).map((i) => [i.deliveryStatusChanged.previousStatus, i.deliveryStatusChanged.status]);

describe('subscriptions of one shape', () => {
  it('many sockets of one shape run one execution, and every socket gets every push', async () => {
    const ep = await endpoint();
    const sockets = Array.from({ length: 25 }, () => wsClient(t.wsUrl, t.key));
    const before = t.app.metrics.subscriptionStats.groups;
    const listening = watchSubscriptions(t.app.services).expect(sockets.length);
    const subs = sockets.map((c) => collect<StatusChange>(c, OnDeliveryStatus, { endpointId: ep }));
    await listening();
    expect(t.app.metrics.subscriptionStats.groups - before).toBe(1);
    const eventId = await delivered(t.key, 'share.one');
    const d = await t.prisma.delivery.findFirstOrThrow({ where: { eventId, endpointId: ep } });
    for (const s of subs) {
      await s.until((items) => items.some((i) => i.deliveryStatusChanged.delivery.id === d.id && i.deliveryStatusChanged.status === 'DELIVERED'));
      expect(transitions(s.items, d.id)).toEqual(STATUSES);
      expect(s.errors).toEqual([]);
    }
    await Promise.all(sockets.map((c) => c.dispose()));
    await expect.poll(() => t.app.metrics.subscriptionStats.groups).toBe(before);
  });

  it('writes every push of a group as the same payload text in each subscription\'s own frame, as graphql-ws writes it', async () => {
    const ep = await endpoint(t.key, 'frame.*');
    // Real graphql-ws clients on sockets that also keep every text frame they receive.
    const recording = (into: string[]) =>
      class extends WebSocket {
        constructor(address: string, protocols?: string | string[]) {
          super(address, protocols);
          this.on('message', (data) => into.push(String(data)));
        }
      };
    const frames: string[][] = [[], []];
    const a = wsClient(t.wsUrl, t.key, { webSocketImpl: recording(frames[0]!) });
    const b = wsClient(t.wsUrl, t.key, { webSocketImpl: recording(frames[1]!) });
    const before = t.app.metrics.subscriptionStats.groups;
    const listening = watchSubscriptions(t.app.services).expect(3);
    // Two subscriptions of the shape on one socket (two ids), one on another socket.
    const subs = [a, a, b].map((c) => collect<StatusChange>(c, OnDeliveryStatus, { endpointId: ep }));
    await listening();
    expect(t.app.metrics.subscriptionStats.groups - before).toBe(1);
    const eventId = await delivered(t.key, 'frame.one');
    const d = await t.prisma.delivery.findFirstOrThrow({ where: { eventId, endpointId: ep } });
    for (const s of subs) {
      await s.until((items) => transitions(items, d.id).length === 3);
      expect(transitions(s.items, d.id)).toEqual(STATUSES);
      expect(s.errors).toEqual([]);
    }

    const nexts = frames.map((fs) =>
      fs.map((f) => ({ text: f, message: parseMessage(f) })).filter((f): f is { text: string; message: NextMessage } => f.message.type === MessageType.Next),
    );
    expect(nexts.flat()).toHaveLength(9);
    expect(new Set(nexts[0]!.map((f) => f.message.id)).size).toBe(2);
    expect(new Set(nexts[1]!.map((f) => f.message.id)).size).toBe(1);
    const payloadTexts = new Map<string, Set<string>>();
    for (const { text, message } of nexts.flat()) {
      const { id, payload } = message;
      // Byte for byte what graphql-ws's own server writes for this id and payload.
      expect(text).toBe(stringifyMessage({ id, type: MessageType.Next, payload }));
      const prefix = stringifyMessage({ id, type: MessageType.Next, payload: {} }).slice(0, -3);
      const status = (payload.data as StatusChange).deliveryStatusChanged.status;
      payloadTexts.set(status, (payloadTexts.get(status) ?? new Set()).add(text.slice(prefix.length, -1)));
    }
    // One text per change, whichever socket or subscription it went to.
    expect([...payloadTexts.keys()].sort()).toEqual(['DELIVERED', 'PENDING', 'SENDING']);
    for (const texts of payloadTexts.values()) expect(texts.size).toBe(1);
    await a.dispose();
    await b.dispose();
  });

  it('never shares between tenants, and gives other variables and other documents their own results', async () => {
    const mineEp = await endpoint(t.key, 'iso.*');
    const otherEp = await endpoint(t.key, 'iso.*');
    const theirsEp = await endpoint(t.otherKey, 'iso.*');
    const mine = wsClient(t.wsUrl, t.key);
    const theirs = wsClient(t.wsUrl, t.otherKey);
    const before = t.app.metrics.subscriptionStats.groups;
    const listening = watchSubscriptions(t.app.services).expect(5);
    // Same document and variables ({}) in two tenants.
    const allMine = collect<StatusChange>(mine, OnDeliveryStatus, {});
    const allTheirs = collect<StatusChange>(theirs, OnDeliveryStatus, {});
    // Same document, other variables.
    const onlyOther = collect<StatusChange>(mine, OnDeliveryStatus, { endpointId: otherEp });
    // Another document (fewer fields), same variables as allMine.
    const thin = collect<{ deliveryStatusChanged: { status: string; deliveryId: string } }>(
      mine,
      'subscription { deliveryStatusChanged { status deliveryId } }',
    );
    // The same shape again on another socket of the other tenant: shares with allTheirs.
    const theirsToo = wsClient(t.wsUrl, t.otherKey);
    const theirsAgain = collect<StatusChange>(theirsToo, OnDeliveryStatus, {});
    await listening();
    expect(t.app.metrics.subscriptionStats.groups - before).toBe(4);

    const myEvent = await delivered(t.key, 'iso.mine');
    const theirEvent = await delivered(t.otherKey, 'iso.theirs');
    const myDeliveries = await t.prisma.delivery.findMany({ where: { eventId: myEvent } });
    const theirDelivery = await t.prisma.delivery.findFirstOrThrow({ where: { eventId: theirEvent } });
    expect(myDeliveries.map((d) => d.endpointId).sort()).toEqual([mineEp, otherEp].sort());
    expect(theirDelivery.endpointId).toBe(theirsEp);

    const finished = (items: StatusChange[], ids: string[]) => ids.every((id) => transitions(items, id).length === 3);
    await allMine.until((items) => finished(items, myDeliveries.map((d) => d.id)));
    await allTheirs.until((items) => finished(items, [theirDelivery.id]));
    await theirsAgain.until((items) => finished(items, [theirDelivery.id]));
    const toOther = myDeliveries.find((d) => d.endpointId === otherEp)!;
    await onlyOther.until((items) => finished(items, [toOther.id]));
    await thin.until((items) => myDeliveries.every((d) => items.filter((i) => i.deliveryStatusChanged.deliveryId === d.id).length === 3));

    for (const d of myDeliveries) expect(transitions(allMine.items, d.id)).toEqual(STATUSES);
    expect(allMine.items.every((i) => myDeliveries.some((d) => d.id === i.deliveryStatusChanged.delivery.id))).toBe(true);
    expect(allTheirs.items.map((i) => i.deliveryStatusChanged.delivery.id)).toEqual([theirDelivery.id, theirDelivery.id, theirDelivery.id]);
    expect(theirsAgain.items).toEqual(allTheirs.items);
    expect(onlyOther.items.every((i) => i.deliveryStatusChanged.delivery.id === toOther.id)).toBe(true);
    expect(thin.items.every((i) => Object.keys(i.deliveryStatusChanged).sort().join() === 'deliveryId,status')).toBe(true);
    expect(thin.items.every((i) => myDeliveries.some((d) => d.id === i.deliveryStatusChanged.deliveryId))).toBe(true);
    await mine.dispose();
    await theirs.dispose();
    await theirsToo.dispose();
  });
});
