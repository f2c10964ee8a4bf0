// A key revoked through one instance is refused by another at once (Redis carries the eviction),
// not after the other's 5 s authentication cache runs out.
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { graphqlClient } from '../../src/client/graphql.js';
import { REDIS_URL, createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { type Instance, startInstance } from '../helpers/instances.js';
import { CreateApiKey, ListApiKeys, RevokeApiKey } from '../helpers/operations.js';

const BOOTSTRAP = 'hy_revocation_bootstrap_0123456789';
let database: TestDatabase;
let a: Instance;
let b: Instance;

beforeAll(async () => {
  database = await createTestDatabase('postgres');
  const env = { DATABASE_URL: database.databaseUrl!, REDIS_URL, HOOKYARD_ROLE: 'api', HOOKYARD_BOOTSTRAP_API_KEY: BOOTSTRAP };
  a = await startInstance(env); // migrates first, alone
  b = await startInstance(env);
}, 90_000);
afterAll(async () => {
  await Promise.all([a?.kill(), b?.kill()]);
  await database?.drop();
});

const on = (instance: Instance, key: string) => graphqlClient({ url: `${instance.url}/graphql`, apiKey: key });

describe('API key revocation across instances', () => {
  it('refuses on instance B a key revoked on instance A, well inside B\'s cache window', async () => {
    const { key, apiKey } = (await on(a, BOOTSTRAP).request(CreateApiKey, { name: 'roaming' })).createApiKey;
    const probe = (instance: Instance) => on(instance, key).execute(ListApiKeys, { first: 1 });

    // B has the key cached as valid now, for the next 5 s.
    expect((await probe(b)).errors).toBeUndefined();
    const revokedAt = Date.now();
    expect((await on(a, BOOTSTRAP).request(RevokeApiKey, { id: apiKey.id })).revokeApiKey.revokedAt).toBeTruthy();
    expect((await probe(a)).errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    // Redis delivers the eviction in milliseconds; 2 s is generous for a loaded machine and still
    // well short of the 5 s after which B would re-read the row anyway.
    await vi.waitFor(async () => expect((await probe(b)).errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED'), { timeout: 2_000, interval: 20 });
    console.log(`refused on B ${Date.now() - revokedAt} ms after the revoke was sent to A`);
    // The bootstrap key is untouched on both.
    expect((await on(b, BOOTSTRAP).execute(ListApiKeys, { first: 1 })).errors).toBeUndefined();
  }, 60_000);
});
