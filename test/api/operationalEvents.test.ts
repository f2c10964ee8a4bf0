// hookyard.endpoint.disabled: Hookyard's own event, into the tenant's stream, for endpoints subscribed to it.
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CreateEndpoint, SendEvent, SendEvents } from '../helpers/operations.js';
import { type Received, type Receiver, startReceiver } from '../helpers/receiver.js';
import { eventually, startTestApp, type TestApp } from '../helpers/testApp.js';

let t: TestApp;
let rx: Receiver;
beforeAll(async () => {
  t = await startTestApp({ env: { HOOKYARD_DISABLE_AFTER: '2s', HOOKYARD_RETRY_SCHEDULE: '0s,500ms,500ms,500ms,500ms,500ms,500ms' } });
  rx = await startReceiver((req) => (req.path === '/gone' ? { status: 410 } : req.path === '/dead' ? { status: 500 } : { status: 200 }));
});
afterAll(async () => {
  await t?.stop();
  await rx?.close();
});

const create = async (path: string, eventTypes: string[]) => (await t.ok(CreateEndpoint, { input: { url: `${rx.url}${path}`, eventTypes } })).createEndpoint;
const disabledNotices = (path: string): Received[] =>
  rx.received.filter((r) => r.path === path && r.headers['x-hookyard-event-type'] === 'hookyard.endpoint.disabled');

describe('hookyard.endpoint.disabled', () => {
  it('reaches an operator endpoint subscribed to hookyard.*, signed, when another endpoint answers 410 or retires; never a catch-all one', async () => {
    const ops = await create('/ops', ['hookyard.*']);
    const all = await create('/all', []);
    const gone = await create('/gone', ['app.*']);
    const dead = await create('/dead', ['app.*']);
    await t.ok(SendEvent, { input: { eventType: 'app.thing', payload: {} } });

    const notices = await eventually(async () => {
      const got = disabledNotices('/ops');
      return got.length >= 2 ? got : null;
    }, 20_000, 'two hookyard.endpoint.disabled deliveries to the operator endpoint');
    const bodies = notices.map((r) => new Webhook(ops.secret).verify(r.body, r.headers as Record<string, string>) as { type: string; data: { endpointId: string; reason: string } });
    const about = (id: string) => bodies.find((b) => b.data.endpointId === id);
    expect(about(gone.endpoint.id)).toMatchObject({ type: 'hookyard.endpoint.disabled', data: { reason: 'the receiver answered 410 Gone' } });
    expect(about(dead.endpoint.id)?.data.reason).toMatch(/^every attempt failed since \d{4}-\d\d-\d\dT/);
    // Stored as an event of the tenant like any other.
    expect(await t.prisma.event.count({ where: { eventType: 'hookyard.endpoint.disabled' } })).toBe(2);
    // The catch-all endpoint got the application's event, not Hookyard's own.
    expect(rx.received.some((r) => r.path === '/all' && r.headers['x-hookyard-event-type'] === 'app.thing')).toBe(true);
    expect(disabledNotices('/all')).toHaveLength(0);
    expect(all.endpoint.status).toBe('ACTIVE');
  });

  it('refuses a client sending a hookyard. type, one event or in a batch, writing nothing', async () => {
    const before = await t.prisma.event.count();
    const one = await t.gql(SendEvent, { input: { eventType: 'hookyard.endpoint.disabled', payload: {} } });
    expect(one.errors?.[0]?.extensions).toMatchObject({ code: 'VALIDATION_FAILED', param: 'input.eventType' });
    const batch = await t.ok(SendEvents, { inputs: [{ eventType: 'Hookyard.x', payload: {} }] });
    expect(batch.sendEvents.results[0]!.error).toMatchObject({ code: 'VALIDATION_FAILED', param: 'inputs[0].eventType' });
    expect(await t.prisma.event.count()).toBe(before);
  });
});
