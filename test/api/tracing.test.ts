// OpenTelemetry: spans reach an OTLP/HTTP receiver run by the test, and one trace follows an event
// from the sendEvent call through the attempt to the HTTP request it made.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CreateEndpoint, GetDelivery, SendEvent } from '../helpers/operations.js';
import { type Receiver, startReceiver } from '../helpers/receiver.js';
import { eventually, startTestApp, type TestApp } from '../helpers/testApp.js';

interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  attributes: { key: string; value: Record<string, unknown> }[];
}

let t: TestApp;
let rx: Receiver;
let otlp: Server;
const spans: OtlpSpan[] = [];
const contentTypes = new Set<string>();

beforeAll(async () => {
  // The smallest OTLP/HTTP collector: the JSON encoding the exporter sends, spans kept in order.
  otlp = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      contentTypes.add(String(req.headers['content-type']));
      if (req.url === '/v1/traces') {
        const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as {
          resourceSpans: { resource: unknown; scopeSpans: { spans: OtlpSpan[] }[] }[];
        };
        for (const rs of body.resourceSpans) for (const ss of rs.scopeSpans) spans.push(...ss.spans);
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => otlp.listen(0, '127.0.0.1', resolve));
  const port = (otlp.address() as AddressInfo).port;
  t = await startTestApp({ env: { OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${port}`, OTEL_SERVICE_NAME: 'hookyard-test' } });
  rx = await startReceiver();
});
afterAll(async () => {
  await t?.stop();
  await rx?.close();
  await new Promise((r) => otlp?.close(r));
});

const attr = (s: OtlpSpan, key: string) => {
  const v = s.attributes.find((a) => a.key === key)?.value;
  return v ? Object.values(v)[0] : undefined;
};

describe('tracing', () => {
  it('carries the trace from sendEvent to each attempt and its HTTP request', async () => {
    const { endpoint } = (await t.ok(CreateEndpoint, { input: { url: `${rx.url}/traced` } })).createEndpoint;
    const sent = await t.ok(SendEvent, { input: { eventType: 'trace.me', payload: { a: 1 } } });
    const eventId = sent.sendEvent.event.id;
    const deliveryId = (await t.prisma.delivery.findFirstOrThrow({ where: { eventId, endpointId: endpoint.id } })).id;
    await eventually(async () => (await t.ok(GetDelivery, { id: deliveryId })).delivery?.status === 'DELIVERED');

    const attempt = await eventually(
      async () => spans.find((s) => s.name === 'hookyard.delivery.attempt' && attr(s, 'hookyard.delivery.id') === deliveryId),
      10_000,
      'the attempt span',
    );
    expect(attr(attempt, 'hookyard.event.id')).toBe(eventId);
    expect(attr(attempt, 'hookyard.endpoint.id')).toBe(endpoint.id);
    expect(Number(attr(attempt, 'hookyard.attempt'))).toBe(1);
    expect(Number(attr(attempt, 'http.response.status_code'))).toBe(200);

    // Its parent is the GraphQL operation that accepted the event: same trace.
    const operation = spans.find((s) => s.spanId === attempt.parentSpanId);
    expect(operation?.name).toBe('graphql.mutation SendEvent');
    expect(operation?.traceId).toBe(attempt.traceId);

    // The statement that stored the event is in that trace too (Prisma's instrumentation on PGlite,
    // Hookyard's own db.query span where it goes to the pg pool directly).
    const insert = await eventually(
      async () => spans.find((s) => s.traceId === attempt.traceId && s.attributes.some((a) => JSON.stringify(a.value).includes('INSERT INTO \\"Event\\"'))),
      10_000,
      'the SQL span of the insert',
    );
    expect(insert.traceId).toBe(operation?.traceId);

    // The request itself, from undici's instrumentation, is the attempt's child.
    const request = await eventually(async () => spans.find((s) => s.parentSpanId === attempt.spanId), 10_000, 'the HTTP client span');
    expect(request.traceId).toBe(attempt.traceId);
    expect(String(attr(request, 'url.full'))).toBe(`${rx.url}/traced`);

    // The webhook carried the trace to the receiver (W3C traceparent, injected by undici's instrumentation).
    const delivered = rx.received.find((r) => r.path === '/traced')!;
    expect(delivered.headers.traceparent).toMatch(new RegExp(`^00-${attempt.traceId}-`));
    expect([...contentTypes]).toEqual(['application/json']);
  });
});
