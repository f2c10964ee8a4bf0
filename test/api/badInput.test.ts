// Input that used to end as INTERNAL_SERVER_ERROR (a database error or a stack overflow) gets a
// typed error naming the field, and writes nothing.
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { MAX_PAYLOAD_DEPTH } from '../../src/domain/events.js';
import { BulkReplay, CreateEndpoint, DisableEndpoint, ListDeliveries, ListEvents, SendEvent, UpdateEndpoint } from '../helpers/operations.js';
import { type Receiver, startReceiver } from '../helpers/receiver.js';
import { startTestApp, type TestApp } from '../helpers/testApp.js';

let t: TestApp;
let rx: Receiver;
let endpointId: string;
beforeAll(async () => {
  t = await startTestApp();
  rx = await startReceiver();
  endpointId = (await t.ok(CreateEndpoint, { input: { url: rx.url, description: 'kept' } })).createEndpoint.endpoint.id;
});
afterAll(async () => {
  await t?.stop();
  await rx?.close();
});

/** Everything a refused call could have written. */
async function snapshot() {
  const [endpoints, events, deliveries] = await Promise.all([
    t.prisma.endpoint.findMany({ orderBy: { id: 'asc' } }),
    t.prisma.event.count(),
    t.prisma.delivery.count(),
  ]);
  return { endpoints, events, deliveries };
}

async function refused(run: () => Promise<{ status: number; errors?: { extensions: { code: string; param?: string } }[] }>, code: string, param?: string) {
  const before = await snapshot();
  const res = await run();
  expect(res.status).toBeLessThan(500);
  expect(res.errors?.[0]?.extensions).toMatchObject({ code, ...(param ? { param } : {}) });
  expect(await snapshot()).toEqual(before);
}

const UNSTORABLE = [
  ['a NUL', 'a\u0000b'],
  ['a lone high surrogate', 'a\ud800b'],
  ['a lone low surrogate', '\udc00'],
] as const;

describe('text PostgreSQL cannot store', () => {
  it.each(UNSTORABLE)('refuses %s in every stored string', async (_what, bad) => {
    await refused(() => t.gql(CreateEndpoint, { input: { url: rx.url, description: bad } }), 'VALIDATION_FAILED', 'input.description');
    await refused(() => t.gql(CreateEndpoint, { input: { url: rx.url, eventTypes: [bad] } }), 'VALIDATION_FAILED', 'input.eventTypes[0]');
    await refused(() => t.gql(CreateEndpoint, { input: { url: rx.url, headers: { 'x-a': bad } } }), 'VALIDATION_FAILED', 'input.headers.x-a');
    await refused(() => t.gql(UpdateEndpoint, { id: endpointId, input: { description: bad } }), 'VALIDATION_FAILED', 'input.description');
    await refused(() => t.gql(UpdateEndpoint, { id: endpointId, input: { eventTypes: [bad] } }), 'VALIDATION_FAILED', 'input.eventTypes[0]');
    await refused(() => t.gql(UpdateEndpoint, { id: endpointId, input: { headers: { 'x-a': bad } } }), 'VALIDATION_FAILED', 'input.headers.x-a');
    await refused(() => t.gql(DisableEndpoint, { id: endpointId, reason: bad }), 'VALIDATION_FAILED', 'reason');
    await refused(() => t.gql(SendEvent, { input: { eventType: bad, payload: {} } }), 'VALIDATION_FAILED', 'input.eventType');
    await refused(() => t.gql(SendEvent, { input: { eventType: 'a', payload: { [bad]: 1 } } }), 'VALIDATION_FAILED', 'input.payload');
    await refused(() => t.gql(SendEvent, { input: { eventType: 'a', payload: {}, idempotencyKey: bad } }), 'VALIDATION_FAILED', 'input.idempotencyKey');
  });
});

describe('header values', () => {
  it.each([['a control character', 'a\u0001b'], ['DEL', 'a\u007f'], ['a character above U+00FF', 'ā'], ['an emoji', '😀'], ['a line break', 'a\nb']])(
    'refuses %s',
    async (_what, value) => {
      await refused(() => t.gql(CreateEndpoint, { input: { url: rx.url, headers: { 'x-a': value } } }), 'VALIDATION_FAILED', 'input.headers.x-a');
    },
  );

  it('accepts tab, space and U+0080-U+00FF, and delivers them as they are', async () => {
    const value = 'caf\u00e9 \tok\u00ff';
    const { createEndpoint } = await t.ok(CreateEndpoint, { input: { url: `${rx.url}/latin1`, headers: { 'x-a': value }, eventTypes: ['latin1.check'] } });
    expect(createEndpoint.endpoint.headers).toEqual({ 'x-a': value });
    await t.ok(SendEvent, { input: { eventType: 'latin1.check', payload: {} } });
    const got = await vi.waitFor(() => rx.received.find((r) => r.path === '/latin1') ?? Promise.reject(new Error('not yet')), { timeout: 20_000 });
    // Node reads header bytes as latin1: the value arrives byte for byte.
    expect(got?.headers['x-a']).toBe(value);
  });
});

describe('URLs', () => {
  it.each(['http://127.0.0.1:0/hook', 'https://example.com:0/'])('refuses port 0 (%s)', async (url) => {
    await refused(() => t.gql(CreateEndpoint, { input: { url } }), 'VALIDATION_FAILED', 'input.url');
    await refused(() => t.gql(UpdateEndpoint, { id: endpointId, input: { url } }), 'VALIDATION_FAILED', 'input.url');
  });
});

describe('dates PostgreSQL cannot store', () => {
  const YEAR_ZERO = '0000-01-01T00:00:00Z';
  it('refuses them in every filter and in bulk replay', async () => {
    for (const [key, param] of [['createdAfter', 'filter.createdAfter'], ['createdBefore', 'filter.createdBefore']] as const) {
      await refused(() => t.gql(ListEvents, { filter: { [key]: YEAR_ZERO } }), 'VALIDATION_FAILED', param);
      await refused(() => t.gql(ListDeliveries, { filter: { [key]: YEAR_ZERO } }), 'VALIDATION_FAILED', param);
      await refused(
        () => t.gql(`query($f: DeliveryFilter) { endpoint(id: "${endpointId}") { deliveries(filter: $f) { edges { node { id } } } } }`, { f: { [key]: YEAR_ZERO } }),
        'VALIDATION_FAILED',
        param,
      );
      await refused(
        () => t.gql(BulkReplay, { input: { endpointId, [key]: YEAR_ZERO } }),
        'VALIDATION_FAILED',
        `input.${key}`,
      );
    }
    await refused(
      () => t.gql(`query($s: DateTime) { endpoint(id: "${endpointId}") { deliveryStats(since: $s) { pending } } }`, { s: YEAR_ZERO }),
      'VALIDATION_FAILED',
      'since',
    );
  });

  it('still takes year 1 and year 9999', async () => {
    const res = await t.gql(ListEvents, { filter: { createdAfter: '0001-01-01T00:00:00Z', createdBefore: '9999-12-31T23:59:59Z' } });
    expect(res.errors).toBeUndefined();
  });
});

describe('nesting', () => {
  // Written as text: JSON.stringify itself overflows the stack on the deep ones.
  const sendNested = async (depth: number) => {
    const payload = `${'{"a":'.repeat(depth - 1)}{}${'}'.repeat(depth - 1)}`;
    const res = await fetch(t.graphqlUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${t.key}` },
      body: `{"query": ${JSON.stringify(SendEvent.toString())}, "variables": {"input": {"eventType": "deep", "payload": ${payload}}}}`,
    });
    return { status: res.status, ...((await res.json()) as { errors?: { extensions: { code: string; param?: string } }[] }) };
  };

  it(`takes a payload ${MAX_PAYLOAD_DEPTH} levels deep and refuses one deeper, up to 100,000`, async () => {
    expect((await sendNested(MAX_PAYLOAD_DEPTH)).errors).toBeUndefined();
    for (const depth of [MAX_PAYLOAD_DEPTH + 1, 4200, 100_000]) {
      await refused(() => sendNested(depth), 'VALIDATION_FAILED', 'input.payload');
    }
  });

  it('refuses an argument list nested 3,000 deep, without a key, as QUERY_TOO_COMPLEX', async () => {
    const query = `{ endpoints(first: ${'['.repeat(3000)}${']'.repeat(3000)}) { edges { node { id } } } }`;
    expect(query.length).toBeLessThan(7000);
    await refused(() => t.gql(query, {}, null), 'QUERY_TOO_COMPLEX');
  });
});
