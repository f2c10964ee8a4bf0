// Two instances recording failures of one endpoint at the same moment: the statement that records
// outcomes locks the endpoint rows it changes and decides again on the latest row, so exactly one
// of them emits hookyard.endpoint.failing.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { prismaQuery } from '../../src/db/client.js';
import { complete, type Completion, type Recorded } from '../../src/dispatcher/store.js';
import { newId } from '../../src/ids.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { CreateEndpoint, SendEvent } from '../helpers/operations.js';
import { eventually, startTestApp, type TestApp } from '../helpers/testApp.js';

let database: TestDatabase;
let t: TestApp;
beforeAll(async () => {
  database = await createTestDatabase('postgres');
  // No dispatcher: this test records the outcomes itself.
  t = await startTestApp({ db: database, env: { HOOKYARD_ROLE: 'api' } });
});
afterAll(async () => {
  await t?.stop();
  await database?.drop();
});

const failed = (deliveryId: string): Completion => ({
  deliveryId, attemptId: newId('attempt'), attemptNumber: 1, trigger: 'event', startedAt: new Date(), durationMs: 5,
  responseStatus: 500, responseBody: null, error: 'HTTP 500', status: 'FAILED', retryInMs: null, disableReason: null,
});

describe('health notices across instances', () => {
  it('emits one hookyard.endpoint.failing when two statements record FAILED deliveries of one endpoint concurrently', async () => {
    const { createEndpoint } = await t.ok(CreateEndpoint, { input: { url: 'https://example.com/race', eventTypes: ['race.*'] } });
    const ids: string[] = [];
    for (const type of ['race.a', 'race.b']) {
      const sent = await t.ok(SendEvent, { input: { eventType: type, payload: {} } });
      ids.push((await t.prisma.delivery.findFirstOrThrow({ where: { eventId: sent.sendEvent.event.id } })).id);
    }
    for (const [i, owner] of ['A', 'B'].entries()) {
      await t.prisma.delivery.update({ where: { id: ids[i]! }, data: { status: 'SENDING', leaseOwner: owner, leaseExpiresAt: new Date(Date.now() + 60_000) } });
    }

    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let first: Recorded[] = [];
    let recorded!: () => void;
    const firstRecorded = new Promise<void>((r) => (recorded = r));
    // Instance A's statement, its transaction held open.
    const a = t.prisma.$transaction(async (tx) => {
      first = await complete(prismaQuery(tx), 'A', [failed(ids[0]!)]);
      recorded();
      await gate;
    }, { timeout: 30_000 });
    await firstRecorded;
    // Instance B's, meanwhile: it waits for A's lock on the endpoint row...
    const b = complete(prismaQuery(t.prisma), 'B', [failed(ids[1]!)]);
    await eventually(async () => {
      const [row] = await t.prisma.$queryRawUnsafe<{ n: number }[]>(
        `SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`,
      );
      return row!.n > 0;
    }, 10_000, "B's statement to wait for A's lock");
    release();
    await a;
    // ...then decides on the row A left.
    const second = await b;
    const facts = [...first, ...second].flatMap((r) => r.operational);
    expect(facts.filter((f) => f.type === 'hookyard.delivery.failed').map((f) => f.data.deliveryId).sort()).toEqual([...ids].sort());
    expect(facts.filter((f) => f.type === 'hookyard.endpoint.failing')).toHaveLength(1);
    expect(await t.prisma.endpoint.findUniqueOrThrow({ where: { id: createEndpoint.endpoint.id } })).toMatchObject({ failingNotified: true });
  });
});
