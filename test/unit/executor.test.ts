// The executor without a database: a fake sender and a recorder that only notes what it gets.
// Shutdown awaits the runs themselves (no polling): it ends as soon as the last one hands over, or
// at the deadline aborts those still sending and hands them back for release.
import { describe, expect, it, vi } from 'vitest';
import { Executor } from '../../src/dispatcher/executor.js';
import { LEASE_EXPIRED_ERROR, type Decision } from '../../src/dispatcher/policy.js';
import type { Recorder } from '../../src/dispatcher/recorder.js';
import { ABORTED, type AttemptOutcome, type Outgoing, type Sender } from '../../src/dispatcher/send.js';
import type { Claimed } from '../../src/dispatcher/store.js';
import { createLogger } from '../../src/logger.js';
import { Metrics } from '../../src/metrics.js';
import type { SecretBox } from '../../src/security/secretBox.js';

function claimed(id: string, endpointId: string, extra: Partial<Claimed> = {}): Claimed {
  return {
    id, tenantId: 'ten_1', endpointId, eventId: `evt_${id}`, eventType: 'x', attemptCount: 0, trigger: 'event', payload: {},
    eventCreatedAt: new Date(), url: 'http://receiver.example/', headers: {}, rateLimitPerSecond: null, secrets: [],
    traceparent: null, dueAt: new Date(), previousStatus: 'PENDING', fifo: false, ...extra,
  };
}

/**
 * A sender whose answers the test releases one by one; abort() ends every send still held, as the
 * real one does, or, with `answerOnAbort`, lets each receive that HTTP answer at the same moment.
 */
function heldSender(answerOnAbort?: number) {
  const waiting = new Map<string, (o: AttemptOutcome) => void>();
  const sent: string[] = [];
  const aborts: number[] = [];
  const sender: Sender = {
    send: (out: Outgoing) =>
      new Promise<AttemptOutcome>((resolve) => {
        sent.push(out.deliveryId);
        waiting.set(out.deliveryId, (o) => resolve(o));
      }),
    abort: () => {
      aborts.push(waiting.size);
      const base = { startedAt: new Date(), durationMs: 1, responseBody: null, retryAfterMs: null, ok: false };
      for (const end of waiting.values()) {
        end(answerOnAbort ? { ...base, responseStatus: answerOnAbort, error: `HTTP ${answerOnAbort}` } : { ...base, responseStatus: null, error: ABORTED });
      }
    },
    close: async () => {},
  };
  const answer = (id: string, status = 200) =>
    waiting.get(id)!({ startedAt: new Date(), durationMs: 1, responseBody: null, retryAfterMs: null, ok: status < 300, responseStatus: status, error: status < 300 ? null : `HTTP ${status}` });
  return { sender, sent, answer, aborts };
}

function setup(answerOnAbort?: number) {
  const { sender, sent, answer, aborts } = heldSender(answerOnAbort);
  const recorded: { id: string; decision: Decision }[] = [];
  const released: string[] = [];
  const recorder = {
    record: async (c: Claimed, decision: Decision) => void recorded.push({ id: c.id, decision }),
    release: (c: Claimed) => void released.push(c.id),
  } as unknown as Recorder;
  const freed: [string, number][] = [];
  const executor = new Executor({
    config: { retrySchedule: [0, 1000], maxRetryAfterMs: 60_000 },
    log: createLogger('silent'),
    metrics: new Metrics({ defaultMetrics: false }),
    secretBox: {} as SecretBox,
    sender,
    recorder,
    onSlotFreed: (endpointId, still) => void freed.push([endpointId, still]),
  });
  return { executor, sent, answer, aborts, recorded, released, freed };
}

describe('executor', () => {
  it('counts runs in flight globally and per endpoint, and reports each freed slot', async () => {
    const x = setup();
    x.executor.begin(claimed('d1', 'ep_a'));
    x.executor.begin(claimed('d2', 'ep_a'));
    x.executor.begin(claimed('d3', 'ep_b'));
    await vi.waitFor(() => expect(x.sent).toHaveLength(3));
    expect([x.executor.size, x.executor.busy('ep_a'), x.executor.busy('ep_b'), [...x.executor.busyEndpoints()].sort()]).toEqual([3, 2, 1, ['ep_a', 'ep_b']]);
    x.answer('d1');
    await vi.waitFor(() => expect(x.recorded.map((r) => r.id)).toEqual(['d1']));
    expect(x.freed).toEqual([['ep_a', 1]]);
    expect([x.executor.size, x.executor.busy('ep_a')]).toEqual([2, 1]);
    x.answer('d2', 500);
    x.answer('d3');
    await vi.waitFor(() => expect(x.recorded).toHaveLength(3));
    expect(x.freed).toEqual([['ep_a', 1], ['ep_a', 0], ['ep_b', 0]]);
    expect([x.executor.size, [...x.executor.busyEndpoints()]]).toEqual([0, []]);
    expect(x.recorded.find((r) => r.id === 'd2')!.decision).toMatchObject({ status: 'PENDING', attempt: { responseStatus: 500 } });
  });

  it('records a lease taken over as a lost attempt, without sending', async () => {
    const x = setup();
    x.executor.begin(claimed('d1', 'ep_a', { previousStatus: 'SENDING', attemptCount: 1, dueAt: null }));
    await vi.waitFor(() => expect(x.recorded).toHaveLength(1));
    expect(x.sent).toEqual([]);
    expect(x.recorded[0]!.decision).toMatchObject({ status: 'FAILED', attempt: { attemptNumber: 2, error: LEASE_EXPIRED_ERROR } });
  });

  it('drain ends when the last run hands over, long before its deadline', async () => {
    const x = setup();
    x.executor.begin(claimed('d1', 'ep_a'));
    x.executor.begin(claimed('d2', 'ep_b'));
    await vi.waitFor(() => expect(x.sent).toHaveLength(2));
    let drained: number | undefined;
    const draining = x.executor.drain(3_600_000).then((n) => (drained = n));
    x.answer('d1');
    await vi.waitFor(() => expect(x.recorded).toHaveLength(1));
    expect(drained).toBeUndefined();
    x.answer('d2');
    // Resolves within the test's own timeout, not the hour of grace.
    await draining;
    expect(drained).toBe(0);
    expect(x.recorded.map((r) => r.id).sort()).toEqual(['d1', 'd2']);
    expect(x.released).toEqual([]);
  });

  it('drain aborts what is still sending at the deadline and hands it back for release, not as an attempt', async () => {
    const x = setup();
    x.executor.begin(claimed('d1', 'ep_a'));
    x.executor.begin(claimed('d2', 'ep_a'));
    await vi.waitFor(() => expect(x.sent).toHaveLength(2));
    x.answer('d1');
    const unfinished = await x.executor.drain(50);
    expect(unfinished).toBe(1);
    expect(x.released).toEqual(['d2']);
    expect(x.recorded.map((r) => r.id)).toEqual(['d1']);
    expect(x.executor.size).toBe(0);
  });

  it('records an answer that arrives as drain aborts (a 500 here): an attempt like any other, not handed back', async () => {
    const x = setup(500);
    x.executor.begin(claimed('d1', 'ep_a'));
    await vi.waitFor(() => expect(x.sent).toHaveLength(1));
    expect(await x.executor.drain(10)).toBe(1);
    expect(x.released).toEqual([]);
    expect(x.recorded).toHaveLength(1);
    expect(x.recorded[0]!.decision).toMatchObject({ status: 'PENDING', attempt: { attemptNumber: 1, responseStatus: 500 } });
  });

  it('drain aborts through the sender once for all the sends in flight, and only when some are left', async () => {
    const x = setup();
    for (let i = 0; i < 40; i++) x.executor.begin(claimed(`d${i}`, `ep_${i}`));
    await vi.waitFor(() => expect(x.sent).toHaveLength(40));
    expect(await x.executor.drain(10)).toBe(40);
    expect(x.aborts).toEqual([40]);
    expect(x.released).toHaveLength(40);
    const y = setup();
    y.executor.begin(claimed('d1', 'ep_a'));
    await vi.waitFor(() => expect(y.sent).toHaveLength(1));
    y.answer('d1');
    expect(await y.executor.drain(3_600_000)).toBe(0);
    expect(y.aborts).toEqual([]);
  });

  it('opens each sealed secret once, not per delivery; a new sealed value is opened afresh; the cache is bounded', async () => {
    const opened: string[] = [];
    const secretBox = { open: (sealed: string, endpointId: string) => (opened.push(sealed), `clear(${sealed}@${endpointId})`) } as unknown as SecretBox;
    const outs: Outgoing[] = [];
    const ok = { startedAt: new Date(), durationMs: 1, responseBody: null, retryAfterMs: null, ok: true, responseStatus: 200, error: null };
    const recorded: string[] = [];
    const executor = new Executor({
      config: { retrySchedule: [0], maxRetryAfterMs: 0 },
      log: createLogger('silent'),
      metrics: new Metrics({ defaultMetrics: false }),
      secretBox,
      sender: { send: async (out) => (outs.push(out), ok), abort: () => {}, close: async () => {} },
      recorder: { record: (c: Claimed) => void recorded.push(c.id), release: () => {} } as unknown as Recorder,
      onSlotFreed: () => {},
    });
    for (const id of ['d1', 'd2', 'd3']) executor.begin(claimed(id, 'ep_a', { secrets: ['enc:one'] }));
    await vi.waitFor(() => expect(recorded).toHaveLength(3));
    expect(opened).toEqual(['enc:one']);
    expect(outs.map((o) => o.secrets)).toEqual([['clear(enc:one@ep_a)'], ['clear(enc:one@ep_a)'], ['clear(enc:one@ep_a)']]);
    // Rotated: two sealed values, the new one opened once; the same value on another endpoint is its own entry.
    executor.begin(claimed('d4', 'ep_a', { secrets: ['enc:two', 'enc:one'] }));
    executor.begin(claimed('d5', 'ep_b', { secrets: ['enc:one'] }));
    await vi.waitFor(() => expect(recorded).toHaveLength(5));
    expect(opened).toEqual(['enc:one', 'enc:two', 'enc:one']);
    expect(outs.at(-2)!.secrets).toEqual(['clear(enc:two@ep_a)', 'clear(enc:one@ep_a)']);
    expect(outs.at(-1)!.secrets).toEqual(['clear(enc:one@ep_b)']);
    // 1,100 more distinct values push the first ones out: they are opened again.
    for (let i = 0; i < 1100; i++) executor.begin(claimed(`m${i}`, 'ep_c', { secrets: [`enc:many${i}`] }));
    await vi.waitFor(() => expect(recorded).toHaveLength(1105));
    executor.begin(claimed('d6', 'ep_a', { secrets: ['enc:one'] }));
    await vi.waitFor(() => expect(recorded).toHaveLength(1106));
    expect(opened.at(-1)).toBe('enc:one');
    expect(opened).toHaveLength(3 + 1100 + 1);
  });
});
