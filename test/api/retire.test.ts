// HOOKYARD_DISABLE_AFTER: an endpoint whose every attempt failed for that long is disabled.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CreateEndpoint, EnableEndpoint, GetDelivery, GetEndpoint, SendEvents } from '../helpers/operations.js';
import { type Receiver, startReceiver } from '../helpers/receiver.js';
import { eventually, startTestApp, type TestApp } from '../helpers/testApp.js';

let t: TestApp;
let rx: Receiver;
beforeAll(async () => {
  // Up to 13 attempts, a second apart (±20%). Timed by the receiver's clock, not by attempt numbers,
  // so that retries starting late on a loaded machine cannot move the success out of the middle.
  t = await startTestApp({ env: { HOOKYARD_DISABLE_AFTER: '8s', HOOKYARD_RETRY_SCHEDULE: `0s${',1s'.repeat(12)}` } });
  let healingSince: number | null = null;
  rx = await startReceiver((req) => {
    if (req.path !== '/healing') return { status: 500 };
    // /healing: its "b.ok" event succeeds on its first attempt 4 s after the endpoint's first
    // failure; "b.fail" fails every time, and asks for no more attempts once 9 s have passed:
    // failing for longer than HOOKYARD_DISABLE_AFTER in all, never that long in a row.
    healingSince ??= Date.now();
    const elapsed = Date.now() - healingSince;
    if (req.headers['x-hookyard-event-type'] === 'b.ok' && elapsed >= 4_000) return { status: 200 };
    if (req.headers['x-hookyard-event-type'] === 'b.fail' && elapsed >= 9_000) return { status: 500, headers: { 'webhook-retry': 'none' } };
    return { status: 500 };
  });
});
afterAll(async () => {
  await t?.stop();
  await rx?.close();
});

/** One call, so the events' schedules start together (the half-way success depends on it). */
async function send(types: string[]) {
  const { sendEvents } = await t.ok(SendEvents, { inputs: types.map((eventType) => ({ eventType, payload: {} })) });
  return Promise.all(sendEvents.results.map((r) => t.prisma.delivery.findFirstOrThrow({ where: { eventId: r.event!.id } })));
}
const endpoint = async (id: string) => (await t.ok(GetEndpoint, { id })).endpoint!;

describe('endpoints that retire', () => {
  it('disables an endpoint whose attempts all failed for HOOKYARD_DISABLE_AFTER, naming the first failure; one that succeeded in between stays', async () => {
    const dead = (await t.ok(CreateEndpoint, { input: { url: `${rx.url}/dead`, eventTypes: ['a.*'] } })).createEndpoint.endpoint;
    const healing = (await t.ok(CreateEndpoint, { input: { url: `${rx.url}/healing`, eventTypes: ['b.*'] } })).createEndpoint.endpoint;
    const sent = await send(['a.fail', 'b.fail', 'b.ok']);
    const [deadDelivery, failing, healed] = [sent[0]!, sent[1]!, sent[2]!];

    const disabled = await eventually(async () => {
      const e = await endpoint(dead.id);
      return e.status === 'DISABLED' ? e : null;
    }, 20_000, 'the failing endpoint to be disabled');
    const first = (await t.ok(GetDelivery, { id: deadDelivery.id })).delivery!.attempts[0]!;
    expect(disabled.disabledReason).toBe(`every attempt failed since ${first.startedAt}`);
    expect(disabled.failingSince).toBe(first.startedAt);
    // Its waiting delivery stays PENDING for when it is enabled again, and is not sent meanwhile.
    const waiting = (await t.ok(GetDelivery, { id: deadDelivery.id })).delivery!;
    expect(waiting.status).toBe('PENDING');
    expect(waiting.attemptCount).toBeLessThan(13);

    // The healing endpoint failed for longer than 8 s in all, but never 8 s in a row.
    const settled = async (id: string) => {
      const d = (await t.ok(GetDelivery, { id })).delivery!;
      return d.status === 'DELIVERED' || d.status === 'FAILED' ? d : null;
    };
    const f = await eventually(() => settled(failing.id), 20_000, 'b.fail to run out');
    const ok = await eventually(() => settled(healed.id), 20_000, 'b.ok to be delivered');
    expect(ok.status).toBe('DELIVERED');
    expect(f.status).toBe('FAILED');
    expect(Date.parse(f.attempts.at(-1)!.startedAt) - Date.parse(f.attempts[0]!.startedAt)).toBeGreaterThan(8000);
    // Its streak restarted after the success. Its last attempt failed, so the retirement sweep
    // disables it once that streak is 8 s old: by then the reason names a time after the success.
    const success = ok.attempts.find((a) => a.responseStatus === 200)!;
    const h = await endpoint(healing.id);
    expect(Date.parse(h.failingSince!)).toBeGreaterThan(Date.parse(success.startedAt));
    if (h.status !== 'ACTIVE') expect(h.disabledReason).toBe(`every attempt failed since ${h.failingSince}`);

    // Enabled again, it starts a new streak: the delivery it kept goes out, and is not disabled at once.
    rx.respond(() => ({ status: 200 }));
    await t.ok(EnableEndpoint, { id: dead.id });
    const resent = await eventually(() => settled(deadDelivery.id), 20_000, 'the kept delivery to go out');
    expect(resent.status).toBe('DELIVERED');
    expect(await endpoint(dead.id)).toMatchObject({ status: 'ACTIVE', failingSince: null });
  }, 60_000);
});
