// The seeds' REST APIs (issue 14), called through a client typed from the served OpenAPI document:
// each seed's example request with this server's ids, every field its document lists, and each
// error class. Replays really reach a receiver, with the event's webhook-id.
import { validate, compileErrors } from '@readme/openapi-parser';
import type { Middleware } from 'openapi-fetch';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { newId } from '../../src/ids.js';
import { openApiDocument } from '../../src/rest/openapi.js';
import { restRoutes } from '../../src/rest/router.js';
import { CreateEndpoint, DisableEndpoint, ReplayDelivery } from '../helpers/operations.js';
import { type Receiver, startReceiver } from '../helpers/receiver.js';
import { documentChecker, restClient } from '../helpers/restClient.js';
import { eventually, startTestApp, type TestApp } from '../helpers/testApp.js';

const LIMITS = { replays: 3, testFires: 2, bulkCap: 2 };
let t: TestApp;
let rx: Receiver;
let tenantId: string;
let checker: Middleware;

beforeAll(async () => {
  t = await startTestApp({
    env: {
      HOOKYARD_REPLAY_RATE_LIMIT: String(LIMITS.replays),
      HOOKYARD_TEST_FIRE_RATE_LIMIT: String(LIMITS.testFires),
      HOOKYARD_BULK_REPLAY_CAP: String(LIMITS.bulkCap),
    },
  });
  rx = await startReceiver();
  tenantId = (await t.prisma.tenant.findUniqueOrThrow({ where: { name: 'default' } })).id;
  checker = await documentChecker();
});
afterAll(async () => {
  await t?.stop();
  await rx?.close();
});

/** The typed client (every response checked against the document); `key: null` sends no credentials. */
const api = (key: string | null = t.key, headers: Record<string, string> = {}) =>
  restClient(t.url, { ...(key ? { authorization: `Bearer ${key}` } : {}), ...headers }, checker);

async function endpoint(name: string) {
  const url = `${rx.url}/${name}`;
  const id = (await t.ok(CreateEndpoint, { input: { url, eventTypes: [name] } })).createEndpoint.endpoint.id;
  return { id, url };
}

/** FAILED deliveries written straight to the database (nothing retries them), oldest first. */
async function failed(endpointId: string, eventType: string, createdAt: Date[]) {
  const events = createdAt.map((at) => ({ id: newId('event'), tenantId, eventType, payload: { n: at.getTime() }, createdAt: at }));
  await t.prisma.event.createMany({ data: events });
  const rows = createdAt.map((at, i) => ({
    id: newId('delivery'), tenantId, endpointId, eventId: events[i]!.id, eventType, status: 'FAILED' as const,
    attemptCount: 10, nextAttemptAt: null, lastAttemptAt: at, lastResponseStatus: 503, lastError: 'HTTP 503', createdAt: at,
  }));
  await t.prisma.delivery.createMany({ data: rows });
  return rows;
}

const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;
const STATUS = /^(pending|sending|delivered)$/;
const received = (deliveryId: string) =>
  eventually(async () => rx.received.find((r) => r.headers['x-hookyard-delivery-id'] === deliveryId), 15_000, `delivery ${deliveryId} at the receiver`);

describe('OpenAPI document', () => {
  it('is served at /openapi.json, validates as OpenAPI 3.1, and describes exactly the routes the server has', async () => {
    const res = await fetch(`${t.url}/openapi.json`);
    expect(res.status).toBe(200);
    const served = await res.json();
    expect(served).toEqual(JSON.parse(JSON.stringify(openApiDocument)));
    const result = await validate(structuredClone(served));
    expect(result.valid, result.valid ? '' : compileErrors(result)).toBe(true);
    expect(served.openapi).toBe('3.1.0');

    const documented = Object.entries(served.paths as Record<string, Record<string, unknown>>).flatMap(([path, ops]) =>
      Object.keys(ops).map((m) => `${m.toUpperCase()} ${path}`),
    );
    const routed = restRoutes().map((r) => `${r.method} ${r.path.replace(/:(\w+)/g, '{$1}')}`);
    expect(routed.sort()).toEqual(documented.sort());
  });
});

describe('seed 001: POST /v1/webhook_deliveries/{id}/replay', () => {
  it('replays as a fresh delivery row (the original stays), delivered with the same webhook-id', async () => {
    const ep = await endpoint('s001.replay');
    const [original] = await failed(ep.id, 's001.replay', [new Date()]);
    // The example: POST with only the Authorization header, no body.
    const { data, response } = await api().POST('/v1/webhook_deliveries/{id}/replay', { params: { path: { id: original!.id } } });
    expect(response.status).toBe(200);
    expect(data).toEqual({
      data: { id: expect.stringMatching(/^dlv_/), object: 'webhook_delivery', replayed_from: original!.id, status: 'pending' },
      request_id: response.headers.get('x-request-id'),
    });
    expect(data!.data.id).not.toBe(original!.id);
    const row = await t.prisma.delivery.findUniqueOrThrow({ where: { id: data!.data.id } });
    expect(row).toMatchObject({ replayOfId: original!.id, trigger: 'replay', eventId: original!.eventId, endpointId: ep.id });
    expect((await received(data!.data.id)).headers['webhook-id']).toBe(original!.eventId);
    expect(await t.prisma.delivery.findUniqueOrThrow({ where: { id: original!.id } })).toMatchObject({ status: 'FAILED', attemptCount: 10 });
  });

  it('answers each error class in the seed envelope: 400 with param, 401, 404 (also for another tenant), 409, 429 with Retry-After (the limit GraphQL counts too)', async () => {
    const ep = await endpoint('s001.errors');
    const [d] = await failed(ep.id, 's001.errors', [new Date()]);
    const replay = (id: string, key: string | null = t.key) => api(key).POST('/v1/webhook_deliveries/{id}/replay', { params: { path: { id } } });

    const bad = await replay('not-an-id');
    expect(bad.response.status).toBe(400);
    expect(bad.error).toEqual({
      error: { type: 'invalid_request_error', code: 'validation_failed', message: expect.any(String), param: 'id' },
      request_id: bad.response.headers.get('x-request-id'),
    });
    const anon = await replay(d!.id, null);
    expect(anon.response.status).toBe(401);
    expect(anon.error?.error).toMatchObject({ type: 'authentication_error', code: 'unauthenticated' });
    const wrongKey = await replay(d!.id, 'hy_this_key_does_not_exist_000000');
    expect(wrongKey.response.status).toBe(401);
    const missing = await replay(newId('delivery'));
    expect(missing.response.status).toBe(404);
    expect(missing.error?.error).toMatchObject({ type: 'invalid_request_error', code: 'not_found', param: 'id' });
    const foreign = await replay(d!.id, t.otherKey);
    expect(foreign.response.status).toBe(404);
    expect(foreign.error?.error.code).toBe('not_found');

    const before = await t.prisma.delivery.count({ where: { endpointId: ep.id } });
    // One limit per endpoint whichever API replays: the last allowed replay goes through GraphQL.
    for (let i = 0; i < LIMITS.replays - 1; i++) expect((await replay(d!.id)).response.status).toBe(200);
    await t.ok(ReplayDelivery, { id: d!.id });
    const limited = await replay(d!.id);
    expect(limited.response.status).toBe(429);
    expect(limited.error?.error).toMatchObject({ type: 'rate_limit_error', code: 'replay_rate_limited' });
    expect(Number(limited.response.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(Number(limited.response.headers.get('retry-after'))).toBeLessThanOrEqual(60);

    await t.ok(DisableEndpoint, { id: ep.id, reason: 'maintenance' });
    const disabled = await replay(d!.id);
    expect(disabled.response.status).toBe(409);
    expect(disabled.error?.error).toMatchObject({ type: 'invalid_request_error', code: 'endpoint_disabled' });
    expect(await t.prisma.delivery.count({ where: { endpointId: ep.id } })).toBe(before + LIMITS.replays);
  });
});

describe('seed 000: POST /v1/webhook_deliveries/bulk_replay', () => {
  it('replays the oldest matching deliveries of the subscription, at most the cap, and says it capped', async () => {
    const ep = await endpoint('s000.bulk');
    const t0 = Date.parse('2026-04-15T12:00:00Z');
    const rows = await failed(ep.id, 's000.bulk', [0, 1, 2, 3].map((s) => new Date(t0 + s * 1000)));
    await failed(ep.id, 's000.other', [new Date(t0 + 500)]);
    // The seed's example body, with this server's ids and a window around the rows.
    const { data, response } = await api().POST('/v1/webhook_deliveries/bulk_replay', {
      body: { subscription_id: ep.id, status: 'failed', event_type: 's000.bulk', created_after: '2026-04-15T12:00:00Z', created_before: '2026-04-15T12:01:00Z' },
    });
    expect(response.status).toBe(200);
    expect(data).toEqual({ data: { enqueued: LIMITS.bulkCap, capped: true }, request_id: response.headers.get('x-request-id') });
    const replays = await t.prisma.delivery.findMany({ where: { endpointId: ep.id, trigger: 'replay' }, select: { replayOfId: true } });
    expect(replays.map((r) => r.replayOfId).sort()).toEqual(rows.slice(0, LIMITS.bulkCap).map((r) => r.id).sort());

    // `exhausted` is the seeds' word for failed; the window leaves two rows: not capped.
    const rest = await api().POST('/v1/webhook_deliveries/bulk_replay', {
      body: { subscription_id: ep.id, status: 'exhausted', event_type: 's000.bulk', created_after: new Date(t0 + 2000).toISOString() },
    });
    expect(rest.data?.data).toEqual({ enqueued: 2, capped: false });
  });

  it('refuses bad input with the field as param (never echoing the body), and maps 401, 404, 409 and 429', async () => {
    const ep = await endpoint('s000.errors');
    await failed(ep.id, 's000.errors', [new Date()]);
    const bulk = (body: Record<string, unknown>, key: string | null = t.key) =>
      api(key).POST('/v1/webhook_deliveries/bulk_replay', { body: body as never });
    const cases: [Record<string, unknown>, string][] = [
      [{}, 'subscription_id'],
      [{ subscription_id: 42 }, 'subscription_id'],
      [{ subscription_id: 'sub_123' }, 'subscription_id'],
      [{ subscription_id: ep.id, status: 'lost' }, 'status'],
      [{ subscription_id: ep.id, event_type: 'no spaces' }, 'event_type'],
      [{ subscription_id: ep.id, created_after: 'yesterday' }, 'created_after'],
      [{ subscription_id: ep.id, created_after: '2026-03-02T00:00:00Z', created_before: '2026-03-01T00:00:00Z' }, 'created_after'],
      [{ subscription_id: ep.id, subscriptionId: ep.id }, 'subscriptionId'],
    ];
    for (const [body, param] of cases) {
      const res = await bulk(body);
      expect(res.response.status, JSON.stringify(body)).toBe(400);
      expect(res.error?.error).toMatchObject({ type: 'invalid_request_error', code: 'validation_failed', param });
    }

    const errorLog = vi.spyOn(t.app.logger, 'error');
    const warnLog = vi.spyOn(t.app.logger, 'warn');
    const secret = 'sk_live_do_not_echo_me';
    const raw = await fetch(`${t.url}/v1/webhook_deliveries/bulk_replay`, {
      method: 'POST',
      headers: { authorization: `Bearer ${t.key}`, 'content-type': 'application/json' },
      body: `{"subscription_id": "${secret}"`,
    });
    const text = await raw.text();
    expect(raw.status).toBe(400);
    expect(JSON.parse(text).error).toMatchObject({ code: 'validation_failed', param: 'body' });
    expect(text).not.toContain(secret);
    expect(JSON.stringify([...errorLog.mock.calls, ...warnLog.mock.calls])).not.toContain(secret);
    errorLog.mockRestore();
    warnLog.mockRestore();

    const notJson = await fetch(`${t.url}/v1/webhook_deliveries/bulk_replay`, {
      method: 'POST',
      headers: { authorization: `Bearer ${t.key}`, 'content-type': 'text/plain' },
      body: `subscription_id=${ep.id}`,
    });
    expect(notJson.status).toBe(400);
    expect((await notJson.json()).error).toMatchObject({ code: 'validation_failed', param: 'body' });

    const huge = await fetch(`${t.url}/v1/webhook_deliveries/bulk_replay`, {
      method: 'POST',
      headers: { authorization: `Bearer ${t.key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ subscription_id: ep.id, event_type: 'x'.repeat(70_000) }),
    });
    expect(huge.status).toBe(413);
    expect((await huge.json()).error.code).toBe('payload_too_large');

    expect((await bulk({ subscription_id: ep.id }, null)).response.status).toBe(401);
    const missing = await bulk({ subscription_id: newId('endpoint') });
    expect(missing.response.status).toBe(404);
    expect(missing.error?.error).toMatchObject({ code: 'not_found', param: 'subscription_id' });
    expect((await bulk({ subscription_id: ep.id }, t.otherKey)).response.status).toBe(404);

    for (let i = 0; i < LIMITS.replays; i++) expect((await bulk({ subscription_id: ep.id })).response.status).toBe(200);
    const limited = await bulk({ subscription_id: ep.id });
    expect(limited.response.status).toBe(429);
    expect(limited.error?.error.code).toBe('replay_rate_limited');
    expect(Number(limited.response.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);

    await t.ok(DisableEndpoint, { id: ep.id });
    const disabled = await bulk({ subscription_id: ep.id });
    expect(disabled.response.status).toBe(409);
    expect(disabled.error?.error).toMatchObject({ code: 'endpoint_disabled', param: 'subscription_id' });
  });
});

describe('seed 000: GET /v1/webhook_deliveries and /v1/webhook_deliveries/{id}', () => {
  it('lists the tenant\'s deliveries newest first with filters and cursor paging, and gets one with every field', async () => {
    const ep = await endpoint('s000.list');
    const t0 = Date.parse('2026-05-01T00:00:00Z');
    const rows = await failed(ep.id, 's000.list', [0, 1, 2].map((s) => new Date(t0 + s * 1000)));
    const newestFirst = [...rows].reverse().map((r) => r.id);

    const pages: string[][] = [];
    let cursor: string | undefined;
    for (;;) {
      const { data, response } = await api().GET('/v1/webhook_deliveries', {
        params: { query: { subscription_id: ep.id, status: 'failed', event_type: 's000.list', created_after: new Date(t0).toISOString(), limit: 2, ...(cursor ? { starting_after: cursor } : {}) } },
      });
      expect(response.status).toBe(200);
      expect(data!.object).toBe('list');
      expect(data!.request_id).toBe(response.headers.get('x-request-id'));
      pages.push(data!.data.map((d) => d.id));
      if (!data!.has_more) {
        expect(data!.next_cursor).toBeNull();
        break;
      }
      cursor = data!.next_cursor!;
    }
    expect(pages).toEqual([newestFirst.slice(0, 2), newestFirst.slice(2)]);
    expect((await api().GET('/v1/webhook_deliveries', { params: { query: { subscription_id: ep.id, status: 'delivered' } } })).data!.data).toEqual([]);
    expect((await api(t.otherKey).GET('/v1/webhook_deliveries', { params: { query: { subscription_id: ep.id } } })).data!.data).toEqual([]);

    const one = await api().GET('/v1/webhook_deliveries/{id}', { params: { path: { id: rows[0]!.id } } });
    expect(one.data).toEqual({
      data: {
        id: rows[0]!.id, object: 'webhook_delivery', subscription_id: ep.id, event_id: rows[0]!.eventId, event_type: 's000.list', status: 'failed',
        trigger: 'event', attempt_count: 10, replayed_from: null, next_attempt_at: null, last_attempt_at: new Date(t0).toISOString(),
        delivered_at: null, last_response_status: 503, last_error: 'HTTP 503', created_at: new Date(t0).toISOString(), updated_at: expect.stringMatching(ISO),
      },
      request_id: one.response.headers.get('x-request-id'),
    });
    const foreign = await api(t.otherKey).GET('/v1/webhook_deliveries/{id}', { params: { path: { id: rows[0]!.id } } });
    expect(foreign.response.status).toBe(404);
    expect(foreign.error?.error.code).toBe('not_found');

    const badStatus = await api().GET('/v1/webhook_deliveries', { params: { query: { status: 'lost' as never } } });
    expect(badStatus.error?.error).toMatchObject({ code: 'validation_failed', param: 'status' });
    const badType = await api().GET('/v1/webhook_deliveries', { params: { query: { event_type: 'no spaces' } } });
    expect(badType.error?.error).toMatchObject({ code: 'validation_failed', param: 'event_type' });
    const badWindow = await api().GET('/v1/webhook_deliveries', { params: { query: { created_after: '2026-05-02T00:00:00Z', created_before: '2026-05-01T00:00:00Z' } } });
    expect(badWindow.error?.error).toMatchObject({ code: 'validation_failed', param: 'created_after' });
    const badLimit = await api().GET('/v1/webhook_deliveries', { params: { query: { limit: 1000 } } });
    expect(badLimit.error?.error).toMatchObject({ code: 'validation_failed', param: 'limit' });
    const foreignCursor = await api(t.otherKey).GET('/v1/webhook_deliveries', { params: { query: { starting_after: rows[0]!.id } } });
    expect(foreignCursor.error?.error).toMatchObject({ code: 'validation_failed', param: 'starting_after' });
    expect((await api(null).GET('/v1/webhook_deliveries')).response.status).toBe(401);
  });
});

describe('seed 004: POST /v1/webhook_deliveries/{id}/redeliver', () => {
  it('returns the new delivery with every listed field and counts manual replays', async () => {
    const ep = await endpoint('s004.redeliver');
    const [d] = await failed(ep.id, 's004.redeliver', [new Date()]);
    const first = await api().POST('/v1/webhook_deliveries/{id}/redeliver', { params: { path: { id: d!.id } } });
    expect(first.response.status).toBe(200);
    expect(first.data).toEqual({
      id: expect.stringMatching(/^dlv_/), endpoint_id: ep.id, event_id: d!.eventId, event_type: 's004.redeliver', url: ep.url,
      status: expect.stringMatching(STATUS), attempt_count: expect.any(Number), manual_retry_count: 1,
      next_attempt_at: expect.toSatisfy((v: unknown) => v === null || ISO.test(String(v))), last_error: null,
      last_response_status: expect.toSatisfy((v: unknown) => v === null || v === 200),
      delivered_at: expect.toSatisfy((v: unknown) => v === null || ISO.test(String(v))), created_at: expect.stringMatching(ISO), updated_at: expect.stringMatching(ISO),
    });
    expect(first.data!.id).not.toBe(d!.id);
    expect((await received(first.data!.id)).headers['webhook-id']).toBe(d!.eventId);
    const second = await api().POST('/v1/webhook_deliveries/{id}/redeliver', { params: { path: { id: first.data!.id } } });
    expect(second.data).toMatchObject({ manual_retry_count: 2, event_id: d!.eventId });

    const foreign = await api(t.otherKey).POST('/v1/webhook_deliveries/{id}/redeliver', { params: { path: { id: d!.id } } });
    expect(foreign.response.status).toBe(404);
    expect((await api(null).POST('/v1/webhook_deliveries/{id}/redeliver', { params: { path: { id: d!.id } } })).response.status).toBe(401);
    expect((await api().POST('/v1/webhook_deliveries/{id}/redeliver', { params: { path: { id: 'nope' } } })).error?.error.param).toBe('id');
    await api().POST('/v1/webhook_deliveries/{id}/redeliver', { params: { path: { id: d!.id } } });
    const limited = await api().POST('/v1/webhook_deliveries/{id}/redeliver', { params: { path: { id: d!.id } } });
    expect(limited.response.status).toBe(429);
    expect(limited.response.headers.get('retry-after')).toMatch(/^\d+$/);
    await t.ok(DisableEndpoint, { id: ep.id });
    expect((await api().POST('/v1/webhook_deliveries/{id}/redeliver', { params: { path: { id: d!.id } } })).error?.error.code).toBe('endpoint_disabled');
  });
});

describe('seed 002: POST /v1/webhooks/deliveries/{delivery_id}/replay', () => {
  it('takes the key from X-API-Key (or Authorization) and returns the new delivery record', async () => {
    const ep = await endpoint('s002.replay');
    const [d] = await failed(ep.id, 's002.replay', [new Date()]);
    const replay = (headers: Record<string, string>, id = d!.id) =>
      api(null, headers).POST('/v1/webhooks/deliveries/{delivery_id}/replay', { params: { path: { delivery_id: id } } });
    const { data, response } = await replay({ 'X-API-Key': t.key });
    expect(response.status).toBe(200);
    expect(data).toEqual({
      id: expect.stringMatching(/^dlv_/), endpoint_id: ep.id, event_id: d!.eventId, event_type: 's002.replay', status: expect.stringMatching(STATUS),
      scheduled_attempt: 1, next_retry_at: expect.toSatisfy((v: unknown) => v === null || ISO.test(String(v))),
      last_attempt_at: expect.toSatisfy((v: unknown) => v === null || ISO.test(String(v))),
      delivered_at: expect.toSatisfy((v: unknown) => v === null || ISO.test(String(v))),
      final_http_status: expect.toSatisfy((v: unknown) => v === null || v === 200), error_message: null, replay_of_delivery_id: d!.id,
      created_at: expect.stringMatching(ISO), updated_at: expect.stringMatching(ISO),
    });
    expect((await received(data!.id)).headers['webhook-id']).toBe(d!.eventId);
    expect((await replay({ authorization: `Bearer ${t.key}` })).response.status).toBe(200);
  });

  it('answers 422 { detail: [{ loc, msg, type }] } for bad input and { detail } for 401, 404, 409, 429', async () => {
    const ep = await endpoint('s002.errors');
    const [d] = await failed(ep.id, 's002.errors', [new Date()]);
    const replay = (id: string, headers: Record<string, string> = { 'X-API-Key': t.key }) =>
      api(null, headers).POST('/v1/webhooks/deliveries/{delivery_id}/replay', { params: { path: { delivery_id: id } } });
    const bad = await replay('42');
    expect(bad.response.status).toBe(422);
    expect(bad.error).toEqual({ detail: [{ loc: ['path', 'delivery_id'], msg: expect.any(String), type: 'validation_failed' }] });
    const anon = await replay(d!.id, {});
    expect(anon.response.status).toBe(401);
    expect(anon.error).toEqual({ detail: expect.any(String), code: 'unauthenticated' });
    expect((await replay(d!.id, { 'X-API-Key': 'hy_unknown_key_0000000000000' })).response.status).toBe(401);
    const foreign = await replay(d!.id, { 'X-API-Key': t.otherKey });
    expect(foreign.response.status).toBe(404);
    expect(foreign.error).toMatchObject({ code: 'not_found' });
    for (let i = 0; i < LIMITS.replays; i++) expect((await replay(d!.id)).response.status).toBe(200);
    const limited = await replay(d!.id);
    expect(limited.response.status).toBe(429);
    expect(limited.error).toMatchObject({ code: 'replay_rate_limited' });
    expect(Number(limited.response.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    await t.ok(DisableEndpoint, { id: ep.id });
    const disabled = await replay(d!.id);
    expect(disabled.response.status).toBe(409);
    expect(disabled.error).toMatchObject({ code: 'endpoint_disabled' });
  });
});

describe('seed 003: /api/v1/webhooks/{endpoint_id}/…', () => {
  it('replays one delivery of the endpoint, and refuses a delivery of another endpoint', async () => {
    const ep = await endpoint('s003.one');
    const other = await endpoint('s003.other');
    const [d] = await failed(ep.id, 's003.one', [new Date()]);
    const replay = (endpointId: string, deliveryId: string, key: string | null = t.key) =>
      api(key).POST('/api/v1/webhooks/{endpoint_id}/deliveries/{delivery_id}/replay', { params: { path: { endpoint_id: endpointId, delivery_id: deliveryId } } });
    const { data, response } = await replay(ep.id, d!.id);
    expect(response.status).toBe(200);
    expect(data).toEqual({ delivery_id: expect.stringMatching(/^dlv_/), endpoint_id: ep.id, replayed_from: d!.id, status: 'pending' });
    const got = await received(data!.delivery_id);
    expect(got.headers['webhook-id']).toBe(d!.eventId);
    expect(JSON.parse(got.body).data).toEqual({ n: d!.createdAt.getTime() }); // the payload is unchanged

    const wrongEndpoint = await replay(other.id, d!.id);
    expect(wrongEndpoint.response.status).toBe(404);
    expect(wrongEndpoint.error).toEqual({ error: { code: 'NOT_FOUND', message: expect.any(String), param: 'delivery_id' }, request_id: wrongEndpoint.response.headers.get('x-request-id') });
    expect((await replay(ep.id, d!.id, t.otherKey)).response.status).toBe(404);
    expect((await replay(ep.id, d!.id, null)).error?.error.code).toBe('UNAUTHENTICATED');
    expect((await replay('whk_01HN', d!.id)).error?.error).toMatchObject({ code: 'VALIDATION_FAILED', param: 'endpoint_id' });
    for (let i = 1; i < LIMITS.replays; i++) expect((await replay(ep.id, d!.id)).response.status).toBe(200);
    const limited = await replay(ep.id, d!.id);
    expect(limited.response.status).toBe(429);
    expect(limited.error?.error.code).toBe('REPLAY_RATE_LIMITED');
    expect(Number(limited.response.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    await t.ok(DisableEndpoint, { id: ep.id });
    const disabled = await replay(ep.id, d!.id);
    expect(disabled.response.status).toBe(409);
    expect(disabled.error?.error).toMatchObject({ code: 'ENDPOINT_DISABLED', param: 'endpoint_id' });
  });

  it('replay-failed queues the failed deliveries since `since` (all without it), oldest first, at most the cap', async () => {
    const ep = await endpoint('s003.bulk');
    const t0 = Date.parse('2026-04-20T00:00:00Z');
    const rows = await failed(ep.id, 's003.bulk', [-2000, 1000, 2000, 3000].map((s) => new Date(t0 + s)));
    const { data, response } = await api().POST('/api/v1/webhooks/{endpoint_id}/replay-failed', {
      params: { path: { endpoint_id: ep.id } },
      body: { since: '2026-04-20T00:00:00Z' },
    });
    expect(response.status).toBe(200);
    expect(data).toEqual({ queued: LIMITS.bulkCap, endpoint_id: ep.id });
    const replays = await t.prisma.delivery.findMany({ where: { endpointId: ep.id, trigger: 'replay' }, select: { replayOfId: true } });
    expect(replays.map((r) => r.replayOfId).sort()).toEqual([rows[1]!.id, rows[2]!.id].sort());
    // Without a body: every failed delivery, still capped.
    const all = await api().POST('/api/v1/webhooks/{endpoint_id}/replay-failed', { params: { path: { endpoint_id: ep.id } } });
    expect(all.data).toEqual({ queued: LIMITS.bulkCap, endpoint_id: ep.id });
    const bad = await api().POST('/api/v1/webhooks/{endpoint_id}/replay-failed', { params: { path: { endpoint_id: ep.id } }, body: { since: 'last week' } });
    expect(bad.response.status).toBe(400);
    expect(bad.error?.error).toMatchObject({ code: 'VALIDATION_FAILED', param: 'since' });
    const foreign = await api(t.otherKey).POST('/api/v1/webhooks/{endpoint_id}/replay-failed', { params: { path: { endpoint_id: ep.id } } });
    expect(foreign.error?.error).toMatchObject({ code: 'NOT_FOUND', param: 'endpoint_id' });
    await t.ok(DisableEndpoint, { id: ep.id });
    const disabled = await api().POST('/api/v1/webhooks/{endpoint_id}/replay-failed', { params: { path: { endpoint_id: ep.id } } });
    expect(disabled.response.status).toBe(409);
    expect(disabled.error?.error.code).toBe('ENDPOINT_DISABLED');
  });

  it('test-fire sends a signed synthetic event (data.test: true) to this endpoint, rate limited with TEST_FIRE_RATE_LIMITED', async () => {
    const ep = await endpoint('s003.fire');
    const fire = (body: { event: string }) => api().POST('/api/v1/webhooks/{endpoint_id}/test-fire', { params: { path: { endpoint_id: ep.id } }, body });
    const { data, response } = await fire({ event: 'message.delivered' });
    expect(response.status).toBe(200);
    expect(data).toEqual({ delivery_id: expect.stringMatching(/^dlv_/), endpoint_id: ep.id, event: 'message.delivered', test: true, status: 'pending' });
    const got = await received(data!.delivery_id);
    expect(got.headers['webhook-signature']).toMatch(/^v1,/);
    expect(JSON.parse(got.body)).toMatchObject({ type: 'message.delivered', data: { test: true } });

    const missing = await api().POST('/api/v1/webhooks/{endpoint_id}/test-fire', { params: { path: { endpoint_id: ep.id } }, body: {} as never });
    expect(missing.error?.error).toMatchObject({ code: 'VALIDATION_FAILED', param: 'event' });
    expect((await fire({ event: 'bad event' })).error?.error).toMatchObject({ code: 'VALIDATION_FAILED', param: 'event' });
    for (let i = 1; i < LIMITS.testFires; i++) expect((await fire({ event: 'message.delivered' })).response.status).toBe(200);
    const limited = await fire({ event: 'message.delivered' });
    expect(limited.response.status).toBe(429);
    expect(limited.error?.error.code).toBe('TEST_FIRE_RATE_LIMITED');
    expect(Number(limited.response.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
  });
});

describe('REST routing', () => {
  it('masks an unexpected failure as 500 in the seed envelope and logs it with the request id', async () => {
    const errorLog = vi.spyOn(t.app.logger, 'error');
    const read = vi.spyOn(t.prisma.delivery, 'findFirst').mockRejectedValueOnce(new Error('connection to 10.1.2.3 lost'));
    const res = await api().GET('/v1/webhook_deliveries/{id}', { params: { path: { id: newId('delivery') } } });
    read.mockRestore();
    expect(res.response.status).toBe(500);
    const requestId = res.response.headers.get('x-request-id')!;
    expect(res.error).toEqual({ error: { type: 'api_error', code: 'internal_server_error', message: expect.stringContaining(requestId) }, request_id: requestId });
    expect(JSON.stringify(res.error)).not.toContain('10.1.2.3');
    expect(errorLog).toHaveBeenCalledWith(expect.objectContaining({ requestId, route: '/v1/webhook_deliveries/:id' }), 'unexpected error in a REST handler');
    errorLog.mockRestore();
  });

  it('answers unknown paths under a seed prefix in that seed\'s envelope, and leaves other paths alone', async () => {
    const unknown = await fetch(`${t.url}/v1/webhook_deliveries/${newId('delivery')}/explode`, { method: 'POST', headers: { authorization: `Bearer ${t.key}` } });
    expect(unknown.status).toBe(404);
    expect((await unknown.json()).error).toMatchObject({ code: 'not_found', param: 'path' });
    expect((await fetch(`${t.url}/v2/elsewhere`)).status).toBe(404);
  });
});
