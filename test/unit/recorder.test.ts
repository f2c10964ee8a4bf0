// The recorder without a database: a fake client whose outcome statement the test holds open.
// An outcome waiting for its batch must not keep its claim's payload (or URL, headers, sealed
// secrets) reachable: under load those waits are long enough for V8 to promote what they hold to
// the old generation (BENCHMARKS.md, issue 11 item 2, dispatcher). Outcomes that find no write
// under way wait OUTCOME_LINGER_MS for others to share their statement; a FIFO outcome does not
// wait (its line waits on its commit), and stop() writes what lingers.
import { runInNewContext } from 'node:vm';
import v8 from 'node:v8';
import { afterEach, expect, it, vi } from 'vitest';
import type { RawQuery } from '../../src/db/client.js';
import type { OutboxRelay } from '../../src/domain/outbox.js';
import type { Decision } from '../../src/dispatcher/policy.js';
import { OUTCOME_LINGER_MS, Recorder } from '../../src/dispatcher/recorder.js';
import type { Claimed } from '../../src/dispatcher/store.js';
import { createLogger } from '../../src/logger.js';
import type { HookyardPubSub } from '../../src/pubsub.js';

v8.setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

function claimed(id: string, payload: object = {}, fifo = false): Claimed {
  return {
    id, tenantId: 'ten_1', endpointId: 'ep_1', eventId: `evt_${id}`, eventType: 'x', attemptCount: 0, trigger: 'event', payload,
    eventCreatedAt: new Date(), url: 'http://receiver.example/', headers: {}, rateLimitPerSecond: null, secrets: ['sealed'],
    traceparent: null, dueAt: new Date(), previousStatus: 'PENDING', fifo,
  };
}

const delivered: Decision = {
  status: 'DELIVERED', retryInMs: null, disableEndpoint: null,
  attempt: { attemptNumber: 1, trigger: 'event', startedAt: new Date(), durationMs: 1, responseStatus: 200, responseBody: 'ok', error: null },
};

function newRecorder(sql: RawQuery): Recorder {
  return new Recorder({
    config: { disableAfterMs: 0, retrySchedule: [0], maxRetryAfterMs: 0 },
    sql,
    log: createLogger('silent'),
    pubsub: { publish: () => {} } as unknown as HookyardPubSub,
    outbox: { publish: () => {} } as unknown as OutboxRelay,
    owner: 'test-owner',
    onRetryScheduled: () => {},
    wakeClaims: () => {},
  });
}

afterEach(() => {
  vi.useRealTimers();
});

it('keeps no claim payload reachable while an outcome waits for its write, nor for a delivery handed back', async () => {
  let finishWrite: (() => void) | undefined;
  const statements: unknown[][] = [];
  const sql = ((_sql: string, params: unknown[]) => {
    statements.push(params);
    return new Promise((resolve) => {
      finishWrite = () => resolve([{ id: 'o1', tenantId: 'ten_1', changes: [{ deliveryId: 'd1' }], operational: [] }] as never);
    });
  }) as RawQuery;
  const recorder = newRecorder(sql);

  const refs: WeakRef<object>[] = [];
  // In a function of its own, so no local of this test holds the payloads.
  (() => {
    const sent = { body: 'x'.repeat(100_000) };
    const unsent = { body: 'y'.repeat(100_000) };
    refs.push(new WeakRef(sent), new WeakRef(unsent));
    recorder.record(claimed('d1', sent), delivered);
    recorder.release(claimed('d2', unsent));
  })();
  await vi.waitFor(() => expect(statements).toHaveLength(1));
  // A WeakRef's target stays alive until the task that made it ends: let it end before collecting.
  await new Promise((resolve) => setImmediate(resolve));
  gc();
  expect(refs.map((r) => r.deref() === undefined)).toEqual([true, true]);

  // What it kept is enough to write the outcome and publish it.
  finishWrite!();
  const stopping = recorder.stop();
  await vi.waitFor(() => expect(statements).toHaveLength(2));
  expect(statements[0]![0]).toEqual(['d1']);
  expect(statements[1]).toEqual([['d2'], 'test-owner']);
  finishWrite!();
  await stopping;
});

/** The delivery ids of each outcome statement sent, in order; every statement succeeds at once. */
function recorderWithLog() {
  const written: string[][] = [];
  const sql = (async (_sql: string, params: unknown[]) => {
    const ids = params[0] as string[];
    written.push(ids);
    return [{ id: 'o', tenantId: 'ten_1', changes: ids.map((deliveryId) => ({ deliveryId })), operational: [] }];
  }) as RawQuery;
  return { recorder: newRecorder(sql), written };
}

it('outcomes recorded within the linger share one statement, written when it ends', async () => {
  vi.useFakeTimers();
  const { recorder, written } = recorderWithLog();
  recorder.record(claimed('d1'), delivered);
  await vi.advanceTimersByTimeAsync(OUTCOME_LINGER_MS - 1);
  recorder.record(claimed('d2'), delivered);
  expect(written).toEqual([]);
  await vi.advanceTimersByTimeAsync(1);
  expect(written).toEqual([['d1', 'd2']]);
});

it('a FIFO outcome is written without waiting, and takes what lingers with it', async () => {
  vi.useFakeTimers();
  const { recorder, written } = recorderWithLog();
  recorder.record(claimed('d1'), delivered);
  recorder.record(claimed('f1', {}, true), delivered);
  await vi.advanceTimersByTimeAsync(0);
  expect(written).toEqual([['d1', 'f1']]);
  // Its timer was cleared: nothing more is written when the linger would have ended.
  await vi.advanceTimersByTimeAsync(OUTCOME_LINGER_MS);
  expect(written).toEqual([['d1', 'f1']]);
});

it('stop() writes a lingering outcome at once', async () => {
  vi.useFakeTimers();
  const { recorder, written } = recorderWithLog();
  recorder.record(claimed('d1'), delivered);
  const stopped = recorder.stop();
  await vi.advanceTimersByTimeAsync(0);
  await stopped;
  expect(written).toEqual([['d1']]);
});
