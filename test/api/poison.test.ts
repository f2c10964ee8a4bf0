// No outcome can block another: a receiver whose answers PostgreSQL text cannot hold, beside a
// healthy one. The answers are sanitized before they reach a row; and an outcome the database
// refuses anyway (simulated by a sender that hands back a raw NUL) is isolated from its batch.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSender, type Sender } from '../../src/dispatcher/send.js';
import { CreateEndpoint, SendEvent } from '../helpers/operations.js';
import { type Receiver, startReceiver } from '../helpers/receiver.js';
import { eventually, startTestApp, type TestApp } from '../helpers/testApp.js';

const POISON = Buffer.concat([Buffer.from('ok '), Buffer.from([0x00, 0xff, 0xfe, 0xc3]), Buffer.from(' end')]);

let t: TestApp;
let healthy: Receiver;
let poisoned: Receiver;
const real = createSender({ timeoutMs: 2000, allowPrivateTargets: true });
/** The real sender, except that answers from `/raw-nul` keep a NUL, as if sanitizing had missed it. */
const sender: Sender = {
  async send(out) {
    const res = await real.send(out);
    return out.url.includes('/raw-nul') ? { ...res, responseBody: `raw\u0000nul` } : res;
  },
  abort: () => real.abort(),
  close: () => real.close(),
};

beforeAll(async () => {
  healthy = await startReceiver(() => ({ status: 200, body: 'fine' }));
  poisoned = await startReceiver(() => ({ status: 200, body: POISON }));
  t = await startTestApp({ sender, env: { HOOKYARD_RETRY_SCHEDULE: '0s,200ms,200ms', HOOKYARD_POLL_INTERVAL_MS: '50' } });
});
afterAll(async () => {
  await t?.stop();
  await healthy?.close();
  await poisoned?.close();
});

async function endpoint(url: string): Promise<string> {
  return (await t.ok(CreateEndpoint, { input: { url } })).createEndpoint.endpoint.id;
}

async function send(n: number): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < n; i++) ids.push((await t.ok(SendEvent, { input: { eventType: 'poison.test', payload: { i } } })).sendEvent.event.id);
  return ids;
}

const statuses = async (endpointId: string, eventIds: string[]) =>
  t.prisma.delivery.findMany({ where: { endpointId, eventId: { in: eventIds } }, include: { attempts: true } });

describe('outcomes a receiver poisons', () => {
  it('stores NUL and invalid UTF-8 answers sanitized, and never holds up a healthy endpoint', async () => {
    const good = await endpoint(`${healthy.url}/good`);
    const bad = await endpoint(`${poisoned.url}/bad`);
    const first = await send(20);
    const delivered = await eventually(async () => {
      const rows = await statuses(bad, first);
      return rows.length === 20 && rows.every((d) => d.status === 'DELIVERED') && rows;
    }, 15_000, 'poisoned deliveries to end DELIVERED');
    for (const d of delivered) {
      expect(d.attempts).toHaveLength(1);
      expect(d.attempts[0]).toMatchObject({ responseStatus: 200, error: null, responseBody: 'ok \uFFFD\uFFFD\uFFFD\uFFFD end' });
    }
    // The poisoned endpoint keeps answering the same way while a second round goes out: the
    // healthy endpoint's deliveries are all DELIVERED within a second of being sent.
    const second = await send(10);
    const sentAt = Date.now();
    await eventually(async () => (await statuses(good, second)).every((d) => d.status === 'DELIVERED'), 1000, 'healthy deliveries within a second');
    expect(Date.now() - sentAt).toBeLessThan(1000);
    expect((await statuses(bad, second)).length).toBe(10);
    await eventually(async () => (await statuses(bad, second)).every((d) => d.status === 'DELIVERED'), 15_000, 'the second poisoned round');
  });

  it('isolates an outcome the database refuses: the rest of its batch is written, it becomes a failed attempt, then moves on by the schedule', async () => {
    const good = await endpoint(`${healthy.url}/good2`);
    const bad = await endpoint(`${poisoned.url}/raw-nul`);
    const events = await send(15);
    const rows = await eventually(async () => {
      const all = [...(await statuses(good, events)), ...(await statuses(bad, events))];
      return all.length === 30 && all.every((d) => d.status === 'DELIVERED' || d.status === 'FAILED') && all;
    }, 20_000, 'every delivery to settle');
    for (const d of rows.filter((r) => r.endpointId === good)) expect(d).toMatchObject({ status: 'DELIVERED', attemptCount: 1 });
    for (const d of rows.filter((r) => r.endpointId === bad)) {
      // Three attempts per the schedule, each recorded with the reason and without the body.
      expect(d).toMatchObject({ status: 'FAILED', attemptCount: 3, lastResponseStatus: 200 });
      expect(d.attempts).toHaveLength(3);
      for (const a of d.attempts) {
        expect(a).toMatchObject({ responseStatus: 200, responseBody: null });
        expect(a.error).toMatch(/^outcome could not be stored \(SQLSTATE 22021\)/);
      }
    }
  });
});
