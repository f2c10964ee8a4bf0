// Two instances on one PostgreSQL: a retention pass runs only while its instance holds the
// advisory lock, so while anyone else holds it, no instance deletes anything.
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RETENTION_LOCK_KEY } from '../../src/maintenance/retention.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { type Instance, startInstance } from '../helpers/instances.js';
import { CreateEndpoint, SendEvent } from '../helpers/operations.js';
import { type Receiver, startReceiver } from '../helpers/receiver.js';
import { eventually, startTestApp, type TestApp } from '../helpers/testApp.js';

let database: TestDatabase;
let a: TestApp;
let b: Instance | undefined;
let rx: Receiver;
let holder: pg.Client;

beforeAll(async () => {
  database = await createTestDatabase('postgres');
  rx = await startReceiver();
  holder = new pg.Client({ connectionString: database.databaseUrl });
  await holder.connect();
});
afterAll(async () => {
  await b?.kill('SIGTERM');
  await a?.stop();
  await holder?.end();
  await rx?.close();
  await database?.drop();
});

describe('retention on several instances', () => {
  it('runs a pass only under the advisory lock: nothing is deleted while another session holds it', async () => {
    // The migration runs before anything else, so the first instance starts with the lock free.
    a = await startTestApp({ db: database, env: { HOOKYARD_RETENTION: '3s' } });
    await holder.query('SELECT pg_advisory_lock($1)', [RETENTION_LOCK_KEY]);
    b = await startInstance({ DATABASE_URL: database.databaseUrl!, HOOKYARD_ROLE: 'dispatcher', HOOKYARD_RETENTION: '3s', LOG_LEVEL: 'debug' });

    await a.ok(CreateEndpoint, { input: { url: `${rx.url}/ok`, eventTypes: ['lock.test'] } });
    const eventId = (await a.ok(SendEvent, { input: { eventType: 'lock.test', payload: {} } })).sendEvent.event.id;
    await eventually(async () => (await a.prisma.delivery.findFirst({ where: { eventId } }))?.status === 'DELIVERED', 15_000, 'delivered');
    await a.prisma.$executeRawUnsafe(`UPDATE "Event" SET "createdAt" = now() - interval '1 hour' WHERE id = $1`, eventId);

    const skippedBefore = a.app.retention.stats.skipped;
    const skippedInB = () => b!.logs.filter((l) => l.includes('retention pass skipped')).length;
    const bBefore = skippedInB();
    await eventually(async () => a.app.retention.stats.skipped >= skippedBefore + 2 && skippedInB() >= bBefore + 2, 20_000, 'both instances try');
    expect(a.app.retention.stats.passes).toBe(0);
    expect(b.logs.filter((l) => l.includes('retention pass done'))).toEqual([]);
    expect(await a.prisma.event.count({ where: { id: eventId } })).toBe(1);

    await holder.query('SELECT pg_advisory_unlock($1)', [RETENTION_LOCK_KEY]);
    await eventually(async () => (await a.prisma.event.count({ where: { id: eventId } })) === 0, 20_000, 'event deleted once the lock is free');
    // One of the two did it (whichever got the lock); the log says what went. B's log line is
    // written after its commit and read through a pipe, so it may arrive after the row is gone.
    const doneInB = () => b!.logs.filter((l) => l.includes('retention pass done') && l.includes('"events":1')).length;
    await eventually(async () => a.app.retention.stats.passes + doneInB() >= 1, 10_000, 'the pass that deleted it');
  }, 90_000);
});
