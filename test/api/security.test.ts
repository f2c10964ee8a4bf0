import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CreateEndpoint, GetDelivery, ListEndpoints, SendEvent } from '../helpers/operations.js';
import { startTestApp, type TestApp } from '../helpers/testApp.js';
import { collect, wsClient } from '../helpers/ws.js';

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp({ env: { HOOKYARD_ROLE: 'api' } });
});
afterAll(() => t?.stop());

const post = (body: unknown, headers: Record<string, string> = {}) =>
  fetch(t.graphqlUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${t.key}`, ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });

describe('authentication', () => {
  it('refuses a missing or unknown key with 401 UNAUTHENTICATED', async () => {
    for (const key of [null, 'hy_not_a_real_key_at_all_000000', 'x']) {
      const res = await t.gql(ListEndpoints, {}, key);
      expect(res.status).toBe(401);
      expect(res.errors?.[0]?.extensions.code).toBe('UNAUTHENTICATED');
      expect(res.data ?? null).toBeNull();
    }
  });

  it('allows schema introspection without a key (GraphiQL, codegen)', async () => {
    const res = await t.gql('{ __schema { queryType { name } } }', {}, null);
    expect(res.data).toEqual({ __schema: { queryType: { name: 'Query' } } });
  });

  it('stores API keys hashed only', async () => {
    const rows = await t.prisma.apiKey.findMany();
    expect(rows.length).toBeGreaterThan(0);
    for (const row of rows) {
      expect(row.hash).toMatch(/^[0-9a-f]{64}$/);
      expect(JSON.stringify(row)).not.toContain(t.key);
      expect(JSON.stringify(row)).not.toContain(t.otherKey);
    }
  });

  it('closes an unauthenticated or wrongly keyed graphql-ws socket before any operation', async () => {
    for (const key of [null, 'hy_wrong_key_wrong_key_wrong_key']) {
      const closed = new Promise<number>((resolve) => {
        const client = wsClient(t.wsUrl, key, { on: { closed: (e) => resolve((e as { code: number }).code) } });
        collect(client, 'subscription { deliveryStatusChanged { status } }');
      });
      expect(await closed).toBe(4403);
    }
  });

  it('accepts a keyed graphql-ws socket', async () => {
    const client = wsClient(t.wsUrl, t.key);
    const sub = collect(client, 'subscription { deliveryStatusChanged { status } }');
    const query = await new Promise<unknown>((resolve, reject) => {
      client.subscribe({ query: '{ endpoints(first: 1) { edges { node { id } } } }' }, { next: resolve, error: reject, complete: () => {} });
    });
    expect(query).toMatchObject({ data: { endpoints: { edges: expect.any(Array) } } });
    sub.unsubscribe();
    await client.dispose();
  });
});

describe('request ids and errors', () => {
  it('puts x-request-id on every response and in every error', async () => {
    for (const path of ['/health', '/ready', '/nope', '/graphql']) {
      const res = await fetch(`${t.url}${path}`);
      expect(res.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    }
    const res = await post({ query: '{ delivery(id: "dlv_00000000000000000000000000") { id } }' }, { 'x-request-id': 'trace-abc-12345' });
    expect(res.headers.get('x-request-id')).toBe('trace-abc-12345');
    const body = (await res.json()) as { errors: { extensions: Record<string, unknown> }[] };
    expect(body.errors[0]!.extensions).toMatchObject({ code: 'NOT_FOUND', requestId: 'trace-abc-12345' });
    // A forged id with odd characters is replaced, not echoed.
    const odd = await fetch(`${t.url}/health`, { headers: { 'x-request-id': 'a\tb<script>' } });
    expect(odd.headers.get('x-request-id')).not.toContain('<');
  });

  it.each([
    ['a syntax error', '{ endpoints( }', 'GRAPHQL_PARSE_FAILED'],
    ['an unknown field', '{ nope }', 'GRAPHQL_VALIDATION_FAILED'],
    ['a missing argument', '{ delivery { id } }', 'GRAPHQL_VALIDATION_FAILED'],
  ])('gives %s a code', async (_what, query, code) => {
    const body = (await (await post({ query })).json()) as { errors: { extensions: Record<string, unknown> }[] };
    expect(body.errors[0]!.extensions).toMatchObject({ code, requestId: expect.any(String) });
  });

  it.each([
    ['a syntax error', 'subscription { deliveryStatusChanged( }', 'GRAPHQL_PARSE_FAILED'],
    ['an unknown field', 'subscription { nope }', 'GRAPHQL_VALIDATION_FAILED'],
  ])('gives %s over graphql-ws the same code as over HTTP', async (_what, query, code) => {
    // No HTTP request here, so Yoga's own parse-error code does not apply: the code is given where the error is raised.
    const client = wsClient(t.wsUrl, t.key);
    try {
      const errors = await new Promise<{ extensions?: Record<string, unknown> }[]>((resolve, reject) => {
        client.subscribe({ query }, { next: () => reject(new Error('unexpected result')), error: (e) => resolve(e as never), complete: () => {} });
      });
      expect(errors[0]!.extensions).toMatchObject({ code, requestId: expect.any(String) });
    } finally {
      await client.dispose();
    }
  });

  it('rejects deep, alias-bomb and huge queries with QUERY_TOO_COMPLEX before running them', async () => {
    const deep = `{ deliveries { edges { node { endpoint { deliveries { edges { node { event { deliveries { edges { node { endpoint { deliveries { edges { node { id } } } } } } } } } } } } } } } }`;
    const aliases = `{ ${Array.from({ length: 50 }, (_, i) => `a${i}: endpoints(first: 100) { edges { node { id } } }`).join(' ')} }`;
    const tokens = `{ ${Array.from({ length: 4000 }, () => '__typename').join(' ')} }`;
    for (const query of [deep, aliases, tokens]) {
      const body = (await (await post({ query })).json()) as { data?: unknown; errors: { extensions: Record<string, unknown> }[] };
      expect(body.data ?? null).toBeNull();
      expect(body.errors[0]!.extensions.code).toBe('QUERY_TOO_COMPLEX');
    }
  });

  it('refuses an oversized request body with 413 PAYLOAD_TOO_LARGE', async () => {
    const huge = JSON.stringify({ query: 'mutation($p: JSON!) { sendEvent(input: { eventType: "a", payload: $p }) { deliveriesCreated } }', variables: { p: { x: 'y'.repeat(2_000_000) } } });
    const res = await post(huge);
    expect(res.status).toBe(413);
    const body = (await res.json()) as { errors: { extensions: Record<string, unknown> }[] };
    expect(body.errors[0]!.extensions.code).toBe('PAYLOAD_TOO_LARGE');
  });

  it('refuses NUL characters in a payload as bad input, not a database error', async () => {
    const res = await t.gql(SendEvent, { input: { eventType: 'a', payload: { s: 'nul\u0000here' } } });
    expect(res.errors?.[0]?.extensions).toMatchObject({ code: 'VALIDATION_FAILED', param: 'input.payload' });
  });

  it('masks unexpected errors: no stack, no SQL, a code and the request id', async () => {
    const { createEndpoint } = await t.ok(CreateEndpoint, { input: { url: 'http://127.0.0.1:1234/x' } });
    const sent = await t.ok(SendEvent, { input: { eventType: 'mask.me', payload: {} } });
    const delivery = await t.prisma.delivery.findFirstOrThrow({ where: { eventId: sent.sendEvent.event.id, endpointId: createEndpoint.endpoint.id } });
    // Break the database under the API: the resolver's query fails in a way nobody planned for.
    await t.prisma.$executeRawUnsafe('ALTER TABLE "DeliveryAttempt" RENAME TO "DeliveryAttemptGone"');
    try {
      const res = await t.gql(GetDelivery, { id: delivery.id });
      expect(res.errors?.[0]?.message).toBe('Unexpected error.');
      expect(res.errors?.[0]?.extensions).toMatchObject({ code: 'INTERNAL_SERVER_ERROR', requestId: expect.any(String) });
      expect(JSON.stringify(res)).not.toMatch(/DeliveryAttempt|prisma|SELECT|\.ts:/i);
    } finally {
      await t.prisma.$executeRawUnsafe('ALTER TABLE "DeliveryAttemptGone" RENAME TO "DeliveryAttempt"');
    }
  });
});

describe('pages', () => {
  it('serves health, readiness and an offline GraphiQL', async () => {
    expect(await (await fetch(`${t.url}/health`)).json()).toEqual({ status: 'ok' });
    expect(await (await fetch(`${t.url}/ready`)).json()).toEqual({ status: 'ready' });
    const page = await fetch(t.graphqlUrl, { headers: { accept: 'text/html' } });
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toContain('<html');
    expect(html).not.toMatch(/<script[^>]+src=["']https?:|<link[^>]+href=["']https?:/);
  });
});
