// The sharing of subscription executions, without a server: who shares a group, and that what a
// group yields reaches its own members only.
import fc from 'fast-check';
import { parse, type ExecutionResult } from 'graphql';
import { describe, expect, it } from 'vitest';
import { createSharedSubscriptions, shapeKey } from '../../src/graphql/sharedSubscriptions.js';

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
      fc.asyncProperty(fc.array(shapeArb, { minLength: 1, maxLength: 30 }), async (shapes) => {
        const shared = createSharedSubscriptions();
        const started: { shape: Shape; src: ReturnType<typeof source> }[] = [];
        const members = await Promise.all(
          shapes.map(async (shape) => {
            const it = (await shared.subscribe(shapeKey(argsOf(shape))!, () => {
              const src = source();
              started.push({ shape, src });
              return src.iterable;
            })) as AsyncIterableIterator<ExecutionResult>;
            return { shape, it };
          }),
        );
        // One execution per distinct shape, however many subscribers.
        const distinct = new Set(shapes.map((s) => JSON.stringify(s)));
        expect(started).toHaveLength(distinct.size);
        // Each execution yields what only its own starter's shape may see.
        for (const { shape, src } of started) src.push({ data: { for: JSON.stringify(shape) } });
        for (const { shape, it } of members) expect((await first(it)).data).toEqual({ for: JSON.stringify(shape) });
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
