import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CreateEndpoint, DeleteEndpoint, DisableEndpoint, EnableEndpoint, GetEndpoint, ListEndpoints, RotateSecret, UpdateEndpoint,
} from '../helpers/operations.js';
import { startTestApp, type TestApp } from '../helpers/testApp.js';
import { newId } from '../../src/ids.js';

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp({ env: { HOOKYARD_ALLOW_PRIVATE_TARGETS: 'false' } });
});
afterAll(() => t?.stop());

const create = (input: Record<string, unknown>) =>
  t.gql(CreateEndpoint, { input: { url: 'https://hooks.example.com/in', ...input } as never });

describe('endpoints', () => {
  it('creates an endpoint and returns its whsec_ secret once', async () => {
    const res = await create({ description: 'billing', eventTypes: ['invoice.paid', 'invoice.*'], headers: { 'X-Team': 'billing' }, rateLimitPerSecond: 5 });
    expect(res.errors).toBeUndefined();
    const { endpoint, secret } = res.data!.createEndpoint;
    expect(secret).toMatch(/^whsec_[A-Za-z0-9+/]{32}$/);
    expect(endpoint).toMatchObject({
      url: 'https://hooks.example.com/in',
      description: 'billing',
      eventTypes: ['invoice.paid', 'invoice.*'],
      status: 'ACTIVE',
      disabledReason: null,
      headers: { 'x-team': 'billing' },
      rateLimitPerSecond: 5,
    });
    expect(endpoint.id).toMatch(/^ep_/);
    const read = await t.ok(GetEndpoint, { id: endpoint.id });
    expect(read.endpoint).toEqual(endpoint);
    expect(JSON.stringify(read)).not.toContain(secret);
  });

  it.each([
    [{ url: 'ftp://x.example.com' }, 'input.url'],
    [{ url: 'http://127.0.0.1:8080/' }, 'input.url'],
    [{ url: 'http://169.254.169.254/latest' }, 'input.url'],
    [{ url: 'http://localhost/' }, 'input.url'],
    [{ url: 'not a url' }, 'input.url'],
    [{ url: 'https://hooks.example.com:25/smtp' }, 'input.url'],
    [{ eventTypes: ['ok', 'bad type!'] }, 'input.eventTypes[1]'],
    [{ headers: { 'webhook-signature': 'forged' } }, 'input.headers.webhook-signature'],
    [{ headers: { 'X-Evil': 'a\r\nInjected: 1' } }, 'input.headers.X-Evil'],
    [{ headers: ['not', 'an', 'object'] }, 'input.headers'],
    [{ rateLimitPerSecond: 0 }, 'input.rateLimitPerSecond'],
    [{ description: 'x'.repeat(1001) }, 'input.description'],
  ])('rejects %j with VALIDATION_FAILED on %s, writing nothing', async (input, param) => {
    const before = await t.prisma.endpoint.count();
    const res = await create(input);
    expect(res.data).toBeNull();
    expect(res.errors?.[0]?.extensions).toMatchObject({ code: 'VALIDATION_FAILED', param });
    expect(await t.prisma.endpoint.count()).toBe(before);
  });

  it('updates only the given fields, and null clears the optional ones', async () => {
    const { endpoint } = (await create({ description: 'd', rateLimitPerSecond: 3, eventTypes: ['a'] })).data!.createEndpoint;
    const upd = await t.ok(UpdateEndpoint, { id: endpoint.id, input: { description: null, rateLimitPerSecond: null, url: 'https://other.example.com/h' } });
    expect(upd.updateEndpoint).toMatchObject({ description: null, rateLimitPerSecond: null, url: 'https://other.example.com/h', eventTypes: ['a'] });
    const bad = await t.gql(UpdateEndpoint, { id: endpoint.id, input: { url: null } });
    expect(bad.errors?.[0]?.extensions).toMatchObject({ code: 'VALIDATION_FAILED', param: 'input.url' });
  });

  it('disables with a reason and enables again', async () => {
    const { endpoint } = (await create({})).data!.createEndpoint;
    const off = await t.ok(DisableEndpoint, { id: endpoint.id, reason: 'customer asked' });
    expect(off.disableEndpoint).toMatchObject({ status: 'DISABLED', disabledReason: 'customer asked' });
    const on = await t.ok(EnableEndpoint, { id: endpoint.id });
    expect(on.enableEndpoint).toMatchObject({ status: 'ACTIVE', disabledReason: null });
  });

  it('rotates the secret, keeping the old one for the grace period only', async () => {
    const { endpoint, secret } = (await create({})).data!.createEndpoint;
    const r1 = await t.ok(RotateSecret, { id: endpoint.id, graceSeconds: 3600 });
    expect(r1.rotateEndpointSecret.secret).not.toBe(secret);
    const rows = await t.prisma.endpointSecret.findMany({ where: { endpointId: endpoint.id }, orderBy: { createdAt: 'asc' } });
    // Stored sealed (secretBox): opened with the app's key, they are the secrets the API returned.
    const open = (r: { secret: string }) => t.app.services.secretBox.open(r.secret, endpoint.id);
    expect(rows.map(open)).toEqual([secret, r1.rotateEndpointSecret.secret]);
    expect(rows[0]!.expiresAt!.getTime()).toBeGreaterThan(Date.now() + 3500_000);
    expect(rows[1]!.expiresAt).toBeNull();
    const r2 = await t.ok(RotateSecret, { id: endpoint.id, graceSeconds: 0 });
    const active = await t.prisma.endpointSecret.findMany({ where: { endpointId: endpoint.id, OR: [{ expiresAt: null }, { expiresAt: { gt: new Date() } }] } });
    expect(active.map(open)).toEqual([r2.rotateEndpointSecret.secret]);
    const bad = await t.gql(RotateSecret, { id: endpoint.id, graceSeconds: -1 });
    expect(bad.errors?.[0]?.extensions).toMatchObject({ code: 'VALIDATION_FAILED', param: 'graceSeconds' });
  });

  it('deletes: the endpoint is gone from the API', async () => {
    const { endpoint } = (await create({})).data!.createEndpoint;
    expect((await t.ok(DeleteEndpoint, { id: endpoint.id })).deleteEndpoint).toBe(endpoint.id);
    const res = await t.gql(GetEndpoint, { id: endpoint.id });
    expect(res.errors?.[0]?.extensions.code).toBe('NOT_FOUND');
    const again = await t.gql(DeleteEndpoint, { id: endpoint.id });
    expect(again.errors?.[0]?.extensions.code).toBe('NOT_FOUND');
  });

  it('pages through endpoints with Relay cursors, capped at 100 per page', async () => {
    for (let i = 0; i < 5; i++) await create({});
    const seen: string[] = [];
    let after: string | null | undefined;
    for (;;) {
      const page = await t.ok(ListEndpoints, { first: 2, after });
      seen.push(...page.endpoints.edges.map((e) => e.node.id));
      if (!page.endpoints.pageInfo.hasNextPage) break;
      after = page.endpoints.pageInfo.endCursor;
    }
    const all = await t.prisma.endpoint.findMany({ where: { deletedAt: null, tenant: { name: 'default' } }, orderBy: [{ createdAt: 'desc' }, { id: 'desc' }] });
    expect(seen).toEqual(all.map((e) => e.id));
    // More rows than the cap, written directly: a page asked for 1000 holds exactly the newest 100.
    const tenantId = all[0]!.tenantId;
    const base = Date.now() + 60_000;
    const extra = Array.from({ length: 120 }, (_, i) => ({ id: newId('endpoint'), tenantId, url: `https://example.com/cap/${i}`, createdAt: new Date(base + i) }));
    await t.prisma.endpoint.createMany({ data: extra });
    const big = await t.gql(ListEndpoints, { first: 1000 });
    expect(big.errors).toBeUndefined();
    expect(big.data!.endpoints.edges.map((e) => e.node.id)).toEqual(extra.slice(20).reverse().map((e) => e.id));
    expect(big.data!.endpoints.pageInfo.hasNextPage).toBe(true);
  });

  it("isolates tenants: another tenant's key sees NOT_FOUND for every mutation and query", async () => {
    const { endpoint } = (await create({})).data!.createEndpoint;
    const id = endpoint.id;
    const other = t.otherKey;
    const attempts = await Promise.all([
      t.gql(GetEndpoint, { id }, other),
      t.gql(UpdateEndpoint, { id, input: { description: 'pwned' } }, other),
      t.gql(DisableEndpoint, { id }, other),
      t.gql(EnableEndpoint, { id }, other),
      t.gql(RotateSecret, { id }, other),
      t.gql(DeleteEndpoint, { id }, other),
    ]);
    for (const res of attempts) expect(res.errors?.[0]?.extensions.code).toBe('NOT_FOUND');
    const list = await t.ok(ListEndpoints, { first: 100 }, other);
    expect(list.endpoints.edges).toEqual([]);
    const unchanged = await t.ok(GetEndpoint, { id });
    expect(unchanged.endpoint).toMatchObject({ status: 'ACTIVE', description: null });
  });

  it('gives VALIDATION_FAILED for malformed ids', async () => {
    for (const id of ['', 'ep_', 'dlv_01m80yw336r93mf5fbj0s36cqv', "ep_' OR 1=1 --", 'x'.repeat(10_000)]) {
      const res = await t.gql(GetEndpoint, { id });
      expect(res.errors?.[0]?.extensions).toMatchObject({ code: 'VALIDATION_FAILED', param: 'id' });
    }
  });
});
