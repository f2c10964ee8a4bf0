// Property-based: arbitrary strings (NUL, unpaired surrogates, control characters, anything in
// Unicode), numbers, dates and nesting, sent over HTTP as variables. Every answer is a success or
// a typed code, never INTERNAL_SERVER_ERROR or a 500, and a refused call writes nothing.
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CreateEndpoint, ListDeliveries, SendEvent, UpdateEndpoint } from '../helpers/operations.js';
import { startTestApp, type TestApp } from '../helpers/testApp.js';

const KNOWN = new Set([
  'VALIDATION_FAILED',
  'PAYLOAD_TOO_LARGE',
  'NOT_FOUND',
  'CONFLICT',
  'BAD_REQUEST',
  'GRAPHQL_PARSE_FAILED',
  'GRAPHQL_VALIDATION_FAILED',
  'QUERY_TOO_COMPLEX',
]);
const RUNS = { numRuns: 60 };

let t: TestApp;
let endpointId: string;
beforeAll(async () => {
  // API only: no dispatcher sends what the properties store.
  t = await startTestApp({ env: { HOOKYARD_ROLE: 'api' } });
  endpointId = (await t.ok(CreateEndpoint, { input: { url: 'http://127.0.0.1:8081/never', description: 'fuzz' } })).createEndpoint.endpoint.id;
});
afterAll(() => t?.stop());

// Characters that broke something once, ordinary ones, and any code point (surrogates included).
const char = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom('\u0000', '\ud800', '\udbff', '\udc00', '\udfff', '\u0001', '\u001f', '\u007f', '\u0085', '\u00e9', '\u00ff', '\u0101', '\u2028', '😀', '\n', '\r', '\t', ' ', '"', '\\', '*', '.', ':', '/') },
  { weight: 3, arbitrary: fc.constantFrom('a', 'b', 'z', '0', '9', '_', '-') },
  { weight: 2, arbitrary: fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }) },
  { weight: 1, arbitrary: fc.integer({ min: 0xd800, max: 0xdfff }).map((c) => String.fromCharCode(c)) },
);
const text = (maxLength = 40) => fc.string({ unit: char, maxLength });
const number = fc.oneof(
  fc.integer(),
  fc.integer({ min: -5, max: 20_000 }),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.constantFrom(0, -1, 2 ** 31, 2 ** 53 + 1, 1e300, -1e300, 0.5, 1.0000001),
);
const isoDate = fc.date({ min: new Date(-8.64e15), max: new Date(8.64e15), noInvalidDate: true }).map((d) => d.toISOString());
const date = fc.oneof(
  { weight: 1, arbitrary: isoDate },
  { weight: 1, arbitrary: text(30) },
  { weight: 3, arbitrary: fc.constantFrom('0000-01-01T00:00:00Z', '0001-01-01T00:00:00Z', '9999-12-31T23:59:59.999Z', '275760-09-13T00:00:00Z', '+275760-09-13T00:00:00.000Z', '-000001-01-01T00:00:00Z', '2024-02-30T00:00:00Z', 'now', '') },
);
const json = fc.jsonValue({ maxDepth: 4 }).chain((v) => fc.oneof(fc.constant(v), text(20).map((s) => ({ [s]: v, s }))));

interface Answer {
  status: number;
  data?: unknown;
  errors?: { extensions?: { code?: string } }[];
}

const send = (query: string, variables: unknown): Promise<Answer> => t.gql(query, variables);

async function rows() {
  const [endpoints, events, deliveries, target] = await Promise.all([
    t.prisma.endpoint.count(),
    t.prisma.event.count(),
    t.prisma.delivery.count(),
    t.prisma.endpoint.findUniqueOrThrow({ where: { id: endpointId } }),
  ]);
  return { endpoints, events, deliveries, target };
}

/** Success or a typed refusal; a refusal leaves every row as it was. */
async function check(query: string, variables: unknown): Promise<Answer> {
  const before = await rows();
  const answer = await send(query, variables);
  expect(answer.status, JSON.stringify(answer)).toBeLessThan(500);
  for (const error of answer.errors ?? []) {
    expect(KNOWN.has(error.extensions?.code ?? ''), JSON.stringify(error)).toBe(true);
  }
  if (answer.errors?.length) expect(await rows()).toEqual(before);
  return answer;
}

describe('arbitrary input', () => {
  it('sendEvent', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(text(), fc.constantFrom('order.created', 'a', 'x'.repeat(201))),
        // Deeper ones (4,200; 100,000) are in badInput.test.ts: JSON.stringify here would overflow first.
        fc.oneof(json, fc.integer({ min: 1, max: 1000 }).map((depth) => JSON.parse(`${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`) as unknown)),
        fc.option(text(300)),
        async (eventType, payload, idempotencyKey) => {
          await check(SendEvent.toString(), { input: { eventType, payload, idempotencyKey } });
        },
      ),
      RUNS,
    );
  });

  const endpointInput = fc.record(
    {
      url: fc.oneof(fc.constantFrom('http://127.0.0.1:8081/a', 'https://example.com/hook', 'http://127.0.0.1:0/', 'ftp://x/'), text(60), text(20).map((s) => `http://127.0.0.1:8080/${s}`)),
      description: fc.option(text(1200)),
      eventTypes: fc.option(fc.array(fc.oneof(text(20), fc.constantFrom('*', 'order.*', 'a.b')), { maxLength: 5 })),
      headers: fc.option(fc.oneof(fc.dictionary(text(12), fc.oneof(text(30), number, fc.constant(null)), { maxKeys: 4 }), json)),
      rateLimitPerSecond: fc.option(number),
    },
    { requiredKeys: [] },
  );

  it('createEndpoint', async () => {
    await fc.assert(
      fc.asyncProperty(endpointInput, async (input) => {
        await check(CreateEndpoint.toString(), { input: { url: 'http://127.0.0.1:8081/a', ...input } });
      }),
      RUNS,
    );
  });

  it('updateEndpoint', async () => {
    await fc.assert(
      fc.asyncProperty(endpointInput, async (input) => {
        await check(UpdateEndpoint.toString(), { id: endpointId, input });
      }),
      RUNS,
    );
  });

  it('the deliveries filter', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.record(
          {
            endpointId: fc.oneof(text(30), fc.constant(endpointId)),
            eventId: text(30),
            status: fc.array(fc.constantFrom('PENDING', 'FAILED', 'nope'), { maxLength: 3 }),
            eventType: text(30),
            createdAfter: date,
            createdBefore: date,
          },
          { requiredKeys: [] },
        ),
        fc.option(number),
        async (filter, first) => {
          await check(ListDeliveries.toString(), { filter, first });
        },
      ),
      RUNS,
    );
  });
});
