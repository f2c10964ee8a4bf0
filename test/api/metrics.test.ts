// GET /metrics: Prometheus text that a real parser accepts, counters that move by exactly one per
// attempt, no tenant or URL in any label, and the optional bearer token.
import parsePrometheusTextFormat from 'parse-prometheus-text-format';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newId } from '../../src/ids.js';
import { CreateEndpoint, GetDelivery, SendEvent } from '../helpers/operations.js';
import { type Receiver, startReceiver } from '../helpers/receiver.js';
import { eventually, startTestApp, type TestApp } from '../helpers/testApp.js';

interface Family {
  name: string;
  type: string;
  metrics: { labels?: Record<string, string>; value?: string; buckets?: Record<string, string>; count?: string; sum?: string }[];
}

let t: TestApp;
let rx: Receiver;
const TOKEN = 'metrics-token-for-tests-0123';

beforeAll(async () => {
  t = await startTestApp({ env: { HOOKYARD_RETRY_SCHEDULE: '0s,100ms', HOOKYARD_METRICS_TOKEN: TOKEN } });
  rx = await startReceiver();
});
afterAll(async () => {
  await t?.stop();
  await rx?.close();
});

// The parser keeps no labels on histogram buckets and drops _count, so histogram counts are read
// from their _count sample lines, whose format the parser has already accepted.
function histogramCount(text: string, name: string, labels = ''): number {
  const line = text.split('\n').find((l) => l.startsWith(`${name}_count${labels ? `{${labels}}` : ''} `));
  return line ? Number(line.split(' ')[1]) : 0;
}

async function scrape(): Promise<{ text: string; families: Map<string, Family> }> {
  const res = await fetch(`${t.url}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } });
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
  const text = await res.text();
  const families = new Map((parsePrometheusTextFormat(text) as Family[]).map((f) => [f.name, f]));
  return { text, families };
}

const value = (families: Map<string, Family>, name: string, labels: Record<string, string> = {}) => {
  const family = families.get(name);
  if (!family) return undefined;
  const m = family.metrics.find((x) => Object.entries(labels).every(([k, v]) => x.labels?.[k] === v));
  return m ? Number(m.value ?? m.count) : undefined;
};

describe('GET /metrics', () => {
  it('refuses a scrape without the configured token', async () => {
    expect((await fetch(`${t.url}/metrics`)).status).toBe(401);
    expect((await fetch(`${t.url}/metrics`, { headers: { authorization: 'Bearer wrong' } })).status).toBe(401);
  });

  it('parses as Prometheus text with the documented families and Node process metrics', async () => {
    const { families } = await scrape();
    expect(families.get('hookyard_delivery_attempts_total')?.type).toBe('COUNTER');
    expect(families.get('hookyard_delivery_attempt_duration_seconds')?.type).toBe('HISTOGRAM');
    expect(families.get('hookyard_delivery_lag_seconds')?.type).toBe('HISTOGRAM');
    expect(families.get('hookyard_deliveries_pending')?.type).toBe('GAUGE');
    expect(families.get('hookyard_events_ingested_total')?.type).toBe('COUNTER');
    expect(families.get('hookyard_dispatch_outcomes_waiting')?.type).toBe('GAUGE');
    expect(families.has('process_resident_memory_bytes')).toBe(true);
    expect(families.has('nodejs_eventloop_lag_seconds')).toBe(true);
  });

  it('moves the attempt counters by exactly one per attempt, labelled by outcome only', async () => {
    const { families: before, text: beforeText } = await scrape();
    const ok = (await t.ok(CreateEndpoint, { input: { url: `${rx.url}/metrics-ok` } })).createEndpoint.endpoint;
    const bad = (await t.ok(CreateEndpoint, { input: { url: `${rx.url}/metrics-bad` } })).createEndpoint.endpoint;
    rx.respond((req) => ({ status: req.path === '/metrics-bad' ? 500 : 200 }));
    const sent = await t.ok(SendEvent, { input: { eventType: 'metrics.test', payload: { n: 1 } } });
    const eventId = sent.sendEvent.event.id;
    const deliveries = await t.prisma.delivery.findMany({ where: { eventId } });
    expect(deliveries.map((d) => d.endpointId).sort()).toEqual([ok.id, bad.id].sort());
    // Two attempts to the failing endpoint (the schedule has two entries), one to the healthy one.
    for (const d of deliveries) {
      await eventually(async () => {
        const got = (await t.ok(GetDelivery, { id: d.id })).delivery!;
        return got.status === 'DELIVERED' || got.status === 'FAILED';
      });
    }
    const { families: after, text: afterText } = await scrape();
    const hdelta = (name: string, labels = '') => histogramCount(afterText, name, labels) - histogramCount(beforeText, name, labels);
    const delta = (name: string, labels: Record<string, string> = {}) => (value(after, name, labels) ?? 0) - (value(before, name, labels) ?? 0);
    expect(delta('hookyard_delivery_attempts_total', { outcome: 'success' })).toBe(1);
    expect(delta('hookyard_delivery_attempts_total', { outcome: 'http_error' })).toBe(2);
    expect(delta('hookyard_delivery_attempts_total', { outcome: 'timeout' })).toBe(0);
    expect(hdelta('hookyard_delivery_attempt_duration_seconds', 'outcome="http_error"')).toBe(2);
    expect(hdelta('hookyard_delivery_attempt_duration_seconds', 'outcome="success"')).toBe(1);
    expect(hdelta('hookyard_delivery_lag_seconds')).toBe(3);
    expect(delta('hookyard_events_ingested_total')).toBe(1);
    expect(delta('hookyard_deliveries_finished_total', { status: 'FAILED' })).toBe(1);
    expect(delta('hookyard_deliveries_finished_total', { status: 'DELIVERED' })).toBe(1);

    // Cardinality: nothing tenant- or endpoint-specific ever becomes a label value.
    for (const secretish of [ok.id, bad.id, eventId, rx.url, 'default', 'intruder']) {
      expect(afterText.includes(secretish), secretish).toBe(false);
    }
  });

  it('reports PENDING deliveries from the database', async () => {
    const ep = (await t.ok(CreateEndpoint, { input: { url: `${rx.url}/metrics-pending`, eventTypes: ['nothing.matches'] } })).createEndpoint.endpoint;
    // Written directly and due in an hour, so it stays PENDING while the gauge's cache expires.
    const { tenantId } = (await t.prisma.endpoint.findUniqueOrThrow({ where: { id: ep.id } }));
    const event = await t.prisma.event.create({ data: { id: newId('event'), tenantId, eventType: 'metrics.pending', payload: {} } });
    await t.prisma.delivery.createMany({
      data: [0, 1, 2].map(() => ({ id: newId('delivery'), tenantId, endpointId: ep.id, eventId: event.id, eventType: 'metrics.pending', nextAttemptAt: new Date(Date.now() + 3_600_000) })),
    });
    const expected = await t.prisma.delivery.count({ where: { status: 'PENDING' } });
    expect(expected).toBeGreaterThanOrEqual(3);
    await eventually(async () => value((await scrape()).families, 'hookyard_deliveries_pending') === expected, 10_000, 'the pending gauge');
  });
});
