// HOOKYARD_RETRY_SCHEDULE: entry i is the delay before attempt i + 1, the first one included; due
// times are taken on the database's clock.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { CreateEndpoint, ReplayDelivery, SendEvent } from '../helpers/operations.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { type Receiver, startReceiver } from '../helpers/receiver.js';
import { eventually, startTestApp, type TestApp } from '../helpers/testApp.js';

let rx: Receiver;
let db: TestDatabase;
let app: TestApp | undefined;
let n = 0;
// One database for the file, made before its tests (a fresh PGlite with its migrations took most of
// a test's 30 s on a loaded machine); each test starts its app (with its schedule) on it, its own
// endpoint and receiver path, and stops it after.
beforeAll(async () => {
  rx = await startReceiver(() => ({ status: 500 }));
  db = await createTestDatabase();
});
afterEach(async () => {
  await app?.stop();
  app = undefined;
});
afterAll(async () => {
  await rx?.close();
  await db?.drop();
});

async function setup(schedule: string, env: Record<string, string> = {}) {
  const t = await startTestApp({ db, env: { HOOKYARD_RETRY_SCHEDULE: schedule, ...env } });
  app = t;
  const path = `/s-${++n}`;
  const endpointId = (await t.ok(CreateEndpoint, { input: { url: `${rx.url}${path}` } })).createEndpoint.endpoint.id;
  const send = async () => {
    const eventId = (await t.ok(SendEvent, { input: { eventType: 'schedule.test', payload: {} } })).sendEvent.event.id;
    return t.prisma.delivery.findFirstOrThrow({ where: { eventId, endpointId } });
  };
  const requests = () => rx.received.filter((r) => r.path === path);
  return { t, send, requests };
}

const ms = (a: Date, b: Date) => a.getTime() - b.getTime();

// The first test also pays for the app's first start in this worker (modules, JIT): 60 s on a busy machine.
describe('retry schedule', { timeout: 60_000 }, () => {
  it('waits entry 0 before the first attempt and entry 1 before the second, then fails', async () => {
    const { t, send, requests } = await setup('2s,1s');
    const sentAt = Date.now();
    const created = await send();
    // Due 2 s ± 20% after creation, both times on the database's clock.
    expect(ms(created.nextAttemptAt!, created.createdAt)).toBeGreaterThanOrEqual(1600);
    expect(ms(created.nextAttemptAt!, created.createdAt)).toBeLessThanOrEqual(2400);

    const settled = await eventually(async () => {
      const d = await t.prisma.delivery.findUniqueOrThrow({ where: { id: created.id } });
      return d.status === 'FAILED' && d;
    }, 15_000, 'the delivery to fail');
    expect(settled.attemptCount).toBe(2);
    const [first, second] = requests();
    expect(requests()).toHaveLength(2);
    // Lower bounds only: a loaded machine can make attempts late, never early.
    expect(first!.at - sentAt).toBeGreaterThanOrEqual(1600);
    expect(second!.at - first!.at).toBeGreaterThanOrEqual(800);
    // A replay waits entry 0 too.
    const replayId = (await t.ok(ReplayDelivery, { id: created.id })).replayDelivery.id;
    const replay = await t.prisma.delivery.findUniqueOrThrow({ where: { id: replayId } });
    expect(ms(replay.nextAttemptAt!, replay.createdAt)).toBeGreaterThanOrEqual(1600);
  });

  it('schedules a retry by entry 1 on the database clock after a failed first attempt', async () => {
    const { t, send } = await setup('0s,30s');
    const created = await send();
    const pending = await eventually(async () => {
      const d = await t.prisma.delivery.findUniqueOrThrow({ where: { id: created.id } });
      return d.attemptCount === 1 && d.status === 'PENDING' && d;
    }, 10_000, 'the first attempt');
    // updatedAt is the database's now() of the statement that set nextAttemptAt.
    expect(ms(pending.nextAttemptAt!, pending.updatedAt)).toBeGreaterThanOrEqual(24_000);
    expect(ms(pending.nextAttemptAt!, pending.updatedAt)).toBeLessThanOrEqual(36_000);
  });

  it('wakes the dispatcher when a delayed first attempt comes due, not at the next poll', async () => {
    const { send, requests } = await setup('2s', { HOOKYARD_POLL_INTERVAL_MS: '30000' });
    const sentAt = Date.now();
    await send();
    await eventually(async () => requests().length === 1, 20_000, 'the first attempt');
    expect(requests()[0]!.at - sentAt).toBeGreaterThanOrEqual(1600);
    // Well before the 30 s poll (generous: the machine is shared).
    expect(requests()[0]!.at - sentAt).toBeLessThan(15_000);
  });

  it('with a single entry, the first failure is final', async () => {
    const { t, send, requests } = await setup('0s');
    const created = await send();
    const d = await eventually(async () => {
      const row = await t.prisma.delivery.findUniqueOrThrow({ where: { id: created.id } });
      return row.status !== 'PENDING' && row.status !== 'SENDING' && row;
    }, 10_000, 'the delivery to settle');
    expect(d).toMatchObject({ status: 'FAILED', attemptCount: 1, nextAttemptAt: null });
    expect(requests()).toHaveLength(1);
  });
});
