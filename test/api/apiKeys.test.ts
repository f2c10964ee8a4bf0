// API keys through the API: list, create (key shown once), revoke (refused at once on this
// instance), tenant isolation, lastUsedAt stamped once, not per request.
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { CreateApiKey, ListApiKeys, ListEndpoints, RevokeApiKey } from '../helpers/operations.js';
import { createTestDatabase } from '../helpers/db.js';
import { BOOTSTRAP_KEY, startTestApp, type TestApp } from '../helpers/testApp.js';

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp();
});
afterAll(() => t?.stop());

describe('API keys', () => {
  it('creates a key shown once, lists the tenant\'s keys without key or hash, and pages them', async () => {
    const created = (await t.ok(CreateApiKey, { name: '  deploy bot ' })).createApiKey;
    expect(created.key).toMatch(/^hy_[A-Za-z0-9_-]{43}$/);
    expect(created.apiKey).toMatchObject({ id: expect.stringMatching(/^key_/), name: 'deploy bot', prefix: created.key.slice(0, 10), lastUsedAt: null, revokedAt: null });
    // The new key works, for the same tenant.
    expect((await t.gql(ListEndpoints, {}, created.key)).errors).toBeUndefined();

    const second = (await t.ok(CreateApiKey, { name: 'ci' })).createApiKey;
    const page1 = await t.ok(ListApiKeys, { first: 2 });
    expect(page1.apiKeys.edges.map((e) => e.node.id)).toEqual([second.apiKey.id, created.apiKey.id]);
    expect(page1.apiKeys.pageInfo.hasNextPage).toBe(true);
    const page2 = await t.ok(ListApiKeys, { first: 10, after: page1.apiKeys.pageInfo.endCursor });
    expect(page2.apiKeys.edges.map((e) => e.node.name)).toContain('bootstrap');
    const everything = JSON.stringify([page1, page2]);
    expect(everything).not.toContain(created.key);
    const row = await t.prisma.apiKey.findUniqueOrThrow({ where: { id: created.apiKey.id } });
    expect(everything).not.toContain(row.hash);
  });

  it('refuses bad names with VALIDATION_FAILED on name', async () => {
    for (const name of ['', '   ', 'x'.repeat(101), 'a\u0000b']) {
      const res = await t.gql(CreateApiKey, { name });
      expect(res.errors?.[0]?.extensions).toMatchObject({ code: 'VALIDATION_FAILED', param: 'name' });
    }
    const res = await t.gql(RevokeApiKey, { id: 'nope' });
    expect(res.errors?.[0]?.extensions).toMatchObject({ code: 'VALIDATION_FAILED', param: 'id' });
  });

  it('refuses a revoked key at once, although its tenant was just served from the cache', async () => {
    const { key, apiKey } = (await t.ok(CreateApiKey, { name: 'short-lived' })).createApiKey;
    expect((await t.gql(ListEndpoints, {}, key)).errors).toBeUndefined(); // cached now
    const revoked = (await t.ok(RevokeApiKey, { id: apiKey.id })).revokeApiKey;
    expect(revoked.revokedAt).not.toBeNull();
    const refused = await t.gql(ListEndpoints, {}, key);
    expect(refused.errors?.[0]?.extensions.code).toBe('UNAUTHENTICATED');
    // Revoking again changes nothing and still answers.
    expect((await t.ok(RevokeApiKey, { id: apiKey.id })).revokeApiKey.revokedAt).toBe(revoked.revokedAt);
    // A key can revoke itself; its next request is refused.
    const self = (await t.ok(CreateApiKey, { name: 'self' })).createApiKey;
    expect((await t.gql(RevokeApiKey, { id: self.apiKey.id }, self.key)).errors).toBeUndefined();
    expect((await t.gql(ListEndpoints, {}, self.key)).errors?.[0]?.extensions.code).toBe('UNAUTHENTICATED');
  });

  it('keeps tenants apart: another tenant\'s key id is NOT_FOUND and stays usable', async () => {
    const theirs = (await t.ok(CreateApiKey, { name: 'theirs' }, t.otherKey)).createApiKey;
    const res = await t.gql(RevokeApiKey, { id: theirs.apiKey.id });
    expect(res.errors?.[0]?.extensions).toMatchObject({ code: 'NOT_FOUND', param: 'id' });
    expect((await t.gql(ListEndpoints, {}, theirs.key)).errors).toBeUndefined();
    const mine = await t.ok(ListApiKeys, { first: 100 });
    expect(mine.apiKeys.edges.map((e) => e.node.id)).not.toContain(theirs.apiKey.id);
    const their = await t.ok(ListApiKeys, { first: 100 }, t.otherKey);
    expect(their.apiKeys.edges.map((e) => e.node.name).sort()).toEqual(['default', 'theirs']);
    expect((await t.gql(ListApiKeys, { first: 1 }, null)).errors?.[0]?.extensions.code).toBe('UNAUTHENTICATED');
  });

  it('stamps lastUsedAt on use, once a minute at most', async () => {
    const { key, apiKey } = (await t.ok(CreateApiKey, { name: 'stamped' })).createApiKey;
    const stamp = async () => (await t.prisma.apiKey.findUniqueOrThrow({ where: { id: apiKey.id } })).lastUsedAt;
    expect(await stamp()).toBeNull();
    await t.ok(ListEndpoints, {}, key);
    await vi.waitFor(async () => expect(await stamp()).not.toBeNull(), { timeout: 10_000 });
    const first = await stamp();
    for (let i = 0; i < 5; i++) await t.ok(ListEndpoints, {}, key);
    expect(await stamp()).toEqual(first);
    const listed = (await t.ok(ListApiKeys, { first: 100 })).apiKeys.edges.find((e) => e.node.id === apiKey.id)!.node;
    expect(listed.lastUsedAt).toBe(first!.toISOString());
  });

  it('keeps a revoked bootstrap key revoked across a restart, and says so at start', async () => {
    const db = await createTestDatabase();
    try {
      const first = await startTestApp({ db });
      const own = (await first.ok(ListApiKeys, { first: 100 })).apiKeys.edges.find((e) => e.node.name === 'bootstrap')!.node;
      await first.ok(RevokeApiKey, { id: own.id });
      await first.stop();
      const lines: string[] = [];
      const again = await startTestApp({ db, logLines: lines });
      try {
        const res = await again.gql(ListEndpoints, {}, BOOTSTRAP_KEY);
        expect(res.errors?.[0]?.extensions).toMatchObject({ code: 'UNAUTHENTICATED' });
        expect(lines.some((l) => l.includes('was revoked and stays refused'))).toBe(true);
      } finally {
        await again.stop();
      }
    } finally {
      await db.drop();
    }
  });
});
