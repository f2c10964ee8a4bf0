// The sharing of subscription executions, without a server: who shares a group, and that what a
// group yields reaches its own members only.
import fc from 'fast-check';
import { GraphQLError, parse, type ExecutionResult } from 'graphql';
import { describe, expect, it } from 'vitest';
import { createSharedSubscriptions, type FrameSink, shapeKey } from '../../src/graphql/sharedSubscriptions.js';

/** A source the test pushes into; graphql-js's subscribe returns one such stream per execution. */
function source() {
  const queue: ExecutionResult[] = [];
  let wake: (() => void) | null = null;
  let ended = false;
  const iterable: AsyncIterable<ExecutionResult> = {
    [Symbol.asyncIterator]: () => ({
      async next() {
        while (queue.length === 0 && !ended) await new Promise<void>((r) => (wake = r));
        return queue.length > 0 ? { value: queue.shift()!, done: false } : { value: undefined, done: true };
      },
      async return() {
        ended = true;
        wake?.();
        return { value: undefined, done: true };
      },
    }),
  };
  return {
    iterable,
    push(r: ExecutionResult) {
      queue.push(r);
      wake?.();
    },
    get ended() {
      return ended;
    },
  };
}

const DOCS = ['subscription { deliveryStatusChanged { status } }', 'subscription { deliveryStatusChanged { status deliveryId } }'].map((d) => parse(d));

interface Shape {
  tenant: string;
  key: string;
  doc: number;
  endpointId: string | null;
}

const argsOf = (s: Shape) => ({
  contextValue: { auth: { tenantId: s.tenant, apiKeyId: s.key } },
  // A new (equal) document object per subscriber, as parsing each socket's query gives.
  document: parse(DOCS[s.doc]!.loc!.source.body),
  variableValues: s.endpointId ? { endpointId: s.endpointId } : {},
  operationName: undefined,
});

/** A transport's sink (graphql-ws's socket in src/http/api.ts) that keeps what it is given. */
function sink() {
  const texts: string[] = [];
  const s: FrameSink & { texts: string[] } = { texts, next: (json) => void texts.push(json.toString()) };
  return s;
}

async function first(it: AsyncIterator<ExecutionResult>): Promise<ExecutionResult> {
  const step = await it.next();
  if (step.done) throw new Error('stream ended');
  return step.value;
}

describe('shared subscriptions', () => {
  it('runs one source per shape for many subscribers, hands each result to all of them, and stops the source when the last leaves', async () => {
    const shared = createSharedSubscriptions();
    const sources: ReturnType<typeof source>[] = [];
    const start = () => {
      const s = source();
      sources.push(s);
      return s.iterable;
    };
    const shape: Shape = { tenant: 't1', key: 'k1', doc: 0, endpointId: 'ep_1' };
    const members = (await Promise.all(Array.from({ length: 50 }, () => shared.subscribe(shapeKey(argsOf(shape))!, start)))) as AsyncIterableIterator<ExecutionResult>[];
    expect(sources).toHaveLength(1);
    expect(shared.stats).toMatchObject({ subscribers: 50, groups: 1 });
    for (let i = 0; i < 3; i++) {
      const result = { data: { n: i } };
      sources[0]!.push(result);
      for (const m of members) expect(await first(m)).toBe(result);
    }
    for (const m of members.slice(1)) await m.return!();
    expect(sources[0]!.ended).toBe(false);
    await members[0]!.return!();
    expect(sources[0]!.ended).toBe(true);
    expect(shared.stats).toMatchObject({ subscribers: 0, groups: 0 });
    // A later subscriber of the same shape starts afresh.
    await shared.subscribe(shapeKey(argsOf(shape))!, start);
    expect(sources).toHaveLength(2);
  });

  it('serializes a result once for every member with a sink, and gives results with errors (or a busy reader) the member\'s own stream', async () => {
    const shared = createSharedSubscriptions();
    const src = source();
    const key = shapeKey(argsOf({ tenant: 't1', key: 'k1', doc: 0, endpointId: null }))!;
    const sinks = [sink(), sink(), sink()];
    const framed = (await Promise.all(sinks.map((s) => shared.subscribe(key, () => src.iterable, s)))) as AsyncIterableIterator<ExecutionResult>[];
    // An SSE subscriber of the same shape: no sink, every result through its stream.
    const plain = (await shared.subscribe(key, () => src.iterable)) as AsyncIterableIterator<ExecutionResult>;
    expect(shared.stats.groups).toBe(1);
    // graphql-ws is waiting on each framed member: nothing of theirs is in flight.
    const waiting = framed.map((m) => m.next());

    let serializations = 0;
    const counted = { toJSON: () => (serializations++, 'status') };
    const result: ExecutionResult = { data: { n: 1, counted } };
    src.push(result);
    expect(await first(plain)).toBe(result);
    expect(serializations).toBe(1);
    for (const s of sinks) expect(s.texts).toEqual(['{"data":{"n":1,"counted":"status"}}']);

    // Errors are stamped per subscriber (its own request id): the object goes to each stream.
    const failed: ExecutionResult = { data: null, errors: [new GraphQLError('boom')] };
    src.push(failed);
    for (const w of waiting) expect((await w).value).toBe(failed);
    expect(await first(plain)).toBe(failed);
    for (const s of sinks) expect(s.texts).toHaveLength(1);

    // Nobody asked for the next value yet (graphql-ws still writing the error): queued, in order.
    const later: ExecutionResult = { data: { n: 2 } };
    src.push(later);
    expect(await first(plain)).toBe(later);
    for (const s of sinks) expect(s.texts).toHaveLength(1);
    for (const m of framed) expect(await first(m)).toBe(later);
    // Waiting again: back to the shared text.
    const again = framed.map((m) => m.next());
    src.push({ data: { n: 3 } });
    await first(plain);
    for (const s of sinks) expect(s.texts).toEqual(['{"data":{"n":1,"counted":"status"}}', '{"data":{"n":3}}']);
    for (const m of [...framed, plain]) await m.return!();
    expect(src.ended).toBe(true);
    await Promise.all(again);
  });

  it('gives a start that answers with errors to everyone who joined meanwhile, and keeps no group', async () => {
    const shared = createSharedSubscriptions();
    let starts = 0;
    const refused = { errors: [] as never[], data: null };
    const start = async () => {
      starts++;
      return refused;
    };
    const key = shapeKey(argsOf({ tenant: 't1', key: 'k1', doc: 0, endpointId: 'bad' }))!;
    const answers = await Promise.all([shared.subscribe(key, start), shared.subscribe(key, start)]);
    expect(answers).toEqual([refused, refused]);
    expect(starts).toBe(1);
    expect(shared.stats.groups).toBe(0);
  });

  it('never hands a result to a subscriber of another tenant, key, document or variables (property)', async () => {
    const shapeArb = fc.record({
      tenant: fc.constantFrom('t1', 't2', 't3'),
      key: fc.constantFrom('k1', 'k2'),
      doc: fc.constantFrom(0, 1),
      endpointId: fc.constantFrom(null, 'ep_1', 'ep_2'),
    });
    await fc.assert(
      // Some subscribers have a sink (graphql-ws) and are waiting: they get the group's shared text.
      fc.asyncProperty(fc.array(fc.tuple(shapeArb, fc.boolean()), { minLength: 1, maxLength: 30 }), async (subscribers) => {
        const shapes = subscribers.map(([shape]) => shape);
        const shared = createSharedSubscriptions();
        const started: { shape: Shape; src: ReturnType<typeof source> }[] = [];
        const members = await Promise.all(
          subscribers.map(async ([shape, framed]) => {
            const s = framed ? sink() : undefined;
            const it = (await shared.subscribe(
              shapeKey(argsOf(shape))!,
              () => {
                const src = source();
                started.push({ shape, src });
                return src.iterable;
              },
              s,
            )) as AsyncIterableIterator<ExecutionResult>;
            // graphql-ws is waiting for the next value of a framed member.
            if (s) void it.next();
            return { shape, it, sink: s };
          }),
        );
        // One execution per distinct shape, however many subscribers.
        const distinct = new Set(shapes.map((s) => JSON.stringify(s)));
        expect(started).toHaveLength(distinct.size);
        // Each execution yields what only its own starter's shape may see.
        for (const { shape, src } of started) src.push({ data: { for: JSON.stringify(shape) } });
        // The sources and the groups answer in microtasks: after a macrotask every result is handed out.
        await new Promise((r) => setImmediate(r));
        for (const { shape, it, sink: s } of members) {
          if (s) expect(s.texts.map((t) => JSON.parse(t))).toEqual([{ data: { for: JSON.stringify(shape) } }]);
          else expect((await first(it)).data).toEqual({ for: JSON.stringify(shape) });
        }
        for (const { it } of members) await it.return!();
        expect(started.every(({ src }) => src.ended)).toBe(true);
      }),
      { numRuns: 200 },
    );
  });

  it('keys on the caller: no caller, no sharing', () => {
    const a = argsOf({ tenant: 't1', key: 'k1', doc: 0, endpointId: null });
    expect(shapeKey({ ...a, contextValue: { auth: null } })).toBeNull();
    expect(shapeKey(a)).not.toBe(shapeKey({ ...a, contextValue: { auth: { tenantId: 't2', apiKeyId: 'k1' } } }));
  });
});
