// A key revoked through one instance is refused by another at once (Redis carries the eviction),
// not after the other's 5 s authentication cache runs out.
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { REDIS_URL, createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { type Instance, startInstance } from '../helpers/instances.js';

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

async function gql(instance: Instance, key: string, query: string, variables: Record<string, unknown> = {}) {
  const res = await fetch(`${instance.url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
    body: JSON.stringify({ query, variables }),
  });
  return (await res.json()) as { data?: Record<string, any>; errors?: { extensions: { code: string } }[] };
}

describe('API key revocation across instances', () => {
  it('refuses on instance B a key revoked on instance A, well inside B\'s cache window', async () => {
    const created = await gql(a, BOOTSTRAP, 'mutation { createApiKey(name: "roaming") { key apiKey { id } } }');
    expect(created.errors).toBeUndefined();
    const { key, apiKey } = created.data!.createApiKey as { key: string; apiKey: { id: string } };
    const probe = (instance: Instance) => gql(instance, key, '{ apiKeys(first: 1) { edges { node { id } } } }');

    // B has the key cached as valid now, for the next 5 s.
    expect((await probe(b)).errors).toBeUndefined();
    const revokedAt = Date.now();
    expect((await gql(a, BOOTSTRAP, 'mutation($id: ID!) { revokeApiKey(id: $id) { revokedAt } }', { id: apiKey.id })).errors).toBeUndefined();
    expect((await probe(a)).errors?.[0]?.extensions.code).toBe('UNAUTHENTICATED');
    // Redis delivers the eviction in milliseconds; 2 s is generous for a loaded machine and still
    // well short of the 5 s after which B would re-read the row anyway.
    await vi.waitFor(async () => expect((await probe(b)).errors?.[0]?.extensions.code).toBe('UNAUTHENTICATED'), { timeout: 2_000, interval: 20 });
    console.log(`refused on B ${Date.now() - revokedAt} ms after the revoke was sent to A`);
    // The bootstrap key is untouched on both.
    expect((await gql(b, BOOTSTRAP, '{ apiKeys(first: 1) { edges { node { id } } } }')).errors).toBeUndefined();
  }, 60_000);
});
