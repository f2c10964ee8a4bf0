// Replay and test-fire limits are shared by every instance: in the database, or in Redis.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { graphqlClient } from '../../src/client/graphql.js';
import { newId } from '../../src/ids.js';
import { createTestDatabase, REDIS_URL, type TestDatabase } from '../helpers/db.js';
import { type Instance, startInstance } from '../helpers/instances.js';
import { CreateEndpoint, ReplayDelivery, TestFire } from '../helpers/operations.js';
import { BOOTSTRAP_KEY, startTestApp, type TestApp } from '../helpers/testApp.js';

let database: TestDatabase;
let local: TestApp | undefined;
let remote: Instance | undefined;

beforeAll(async () => {
  database = await createTestDatabase('postgres');
});
afterEach(async () => {
  await remote?.kill('SIGTERM');
  await local?.stop();
  remote = undefined;
  local = undefined;
});
afterAll(() => database?.drop());


describe.each([
  ['the database', {}],
  ['Redis', { REDIS_URL }],
])('limits shared through %s', (_name, extraEnv: Record<string, string>) => {
  it('refuses the 11th replay in a minute on a second instance', async () => {
    const env = { HOOKYARD_ROLE: 'api', ...extraEnv };
    local = await startTestApp({ db: database, env });
    remote = await startInstance({ ...env, DATABASE_URL: database.databaseUrl!, HOOKYARD_BOOTSTRAP_API_KEY: BOOTSTRAP_KEY });
    const onRemote = graphqlClient({ url: `${remote.url}/graphql`, apiKey: BOOTSTRAP_KEY });
    const { createEndpoint } = await local.ok(CreateEndpoint, { input: { url: 'http://127.0.0.1:1234/limits' } });
    const tenantId = (await local.prisma.tenant.findUniqueOrThrow({ where: { name: 'default' } })).id;
    const eventId = newId('event');
    await local.prisma.event.create({ data: { id: eventId, tenantId, eventType: 'x', payload: {} } });
    const original = await local.prisma.delivery.create({
      data: { id: newId('delivery'), tenantId, endpointId: createEndpoint.endpoint.id, eventId, eventType: 'x', status: 'FAILED', nextAttemptAt: null },
    });
    for (let i = 0; i < 5; i++) await local.ok(ReplayDelivery, { id: original.id });
    for (let i = 0; i < 5; i++) expect((await onRemote.execute(ReplayDelivery, { id: original.id })).errors).toBeUndefined();
    const eleventh = await onRemote.execute(ReplayDelivery, { id: original.id });
    expect(eleventh.errors?.[0]?.extensions?.code).toBe('REPLAY_RATE_LIMITED');
    const twelfth = await local.gql(ReplayDelivery, { id: original.id });
    expect(twelfth.errors?.[0]?.extensions?.code).toBe('REPLAY_RATE_LIMITED');

    for (let i = 0; i < 10; i++) await local.ok(TestFire, { id: createEndpoint.endpoint.id, eventType: 'ping' });
    for (let i = 0; i < 10; i++) expect((await onRemote.execute(TestFire, { id: createEndpoint.endpoint.id, eventType: 'ping' })).errors).toBeUndefined();
    const fire = await onRemote.execute(TestFire, { id: createEndpoint.endpoint.id, eventType: 'ping' });
    expect(fire.errors?.[0]?.extensions?.code).toBe('TEST_FIRE_RATE_LIMITED');
  }, 60_000);
});
