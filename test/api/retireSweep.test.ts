// The retirement sweep: an endpoint failing for HOOKYARD_DISABLE_AFTER is disabled even when no
// attempt of it is being recorded (its next one is an hour away), and hookyard.endpoint.disabled says so.
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CreateEndpoint, GetDelivery, GetEndpoint, SendEvent } from '../helpers/operations.js';
import { type Receiver, startReceiver } from '../helpers/receiver.js';
import { eventually, startTestApp, type TestApp } from '../helpers/testApp.js';

let t: TestApp;
let rx: Receiver;
beforeAll(async () => {
  t = await startTestApp({ env: { HOOKYARD_DISABLE_AFTER: '2s', HOOKYARD_RETRY_SCHEDULE: '0s,1h' } });
  rx = await startReceiver((req) => ({ status: req.path === '/dead' ? 500 : 200 }));
});
afterAll(async () => {
  await t?.stop();
  await rx?.close();
});

describe('the retirement sweep', () => {
  it('disables an endpoint whose streak outlived HOOKYARD_DISABLE_AFTER without another attempt, naming the first failure; its delivery stays PENDING', async () => {
    const ops = (await t.ok(CreateEndpoint, { input: { url: `${rx.url}/ops`, eventTypes: ['hookyard.endpoint.*'] } })).createEndpoint;
    const dead = (await t.ok(CreateEndpoint, { input: { url: `${rx.url}/dead`, eventTypes: ['app.*'] } })).createEndpoint.endpoint;
    const sent = await t.ok(SendEvent, { input: { eventType: 'app.x', payload: {} } });
    const delivery = await t.prisma.delivery.findFirstOrThrow({ where: { eventId: sent.sendEvent.event.id, endpointId: dead.id } });

    const disabled = await eventually(async () => {
      const e = (await t.ok(GetEndpoint, { id: dead.id })).endpoint!;
      return e.status === 'DISABLED' ? e : null;
    }, 20_000, 'the sweep to disable the endpoint');
    const waiting = (await t.ok(GetDelivery, { id: delivery.id })).delivery!;
    expect(waiting).toMatchObject({ status: 'PENDING', attemptCount: 1 });
    expect(disabled.disabledReason).toBe(`every attempt failed since ${waiting.attempts[0]!.startedAt}`);

    const notice = await eventually(async () => rx.received.find((r) => r.path === '/ops' && r.headers['x-hookyard-event-type'] === 'hookyard.endpoint.disabled'), 20_000, 'the notice at /ops');
    const body = new Webhook(ops.secret).verify(notice.body, notice.headers as Record<string, string>);
    expect(body).toMatchObject({ type: 'hookyard.endpoint.disabled', data: { endpointId: dead.id, reason: disabled.disabledReason } });
    expect(rx.received.filter((r) => r.path === '/dead')).toHaveLength(1);
  });

  it('leaves a healthy endpoint and one failing for less than HOOKYARD_DISABLE_AFTER alone', async () => {
    const fresh = (await t.ok(CreateEndpoint, { input: { url: `${rx.url}/fresh`, eventTypes: ['fresh.*'] } })).createEndpoint.endpoint;
    await t.prisma.endpoint.update({ where: { id: fresh.id }, data: { failingSince: new Date() } });
    const counts = await t.app.retirement.runOnce();
    expect(counts?.map((f) => f.endpointId) ?? []).not.toContain(fresh.id);
    expect((await t.ok(GetEndpoint, { id: fresh.id })).endpoint!.status).toBe('ACTIVE');
  });
});
