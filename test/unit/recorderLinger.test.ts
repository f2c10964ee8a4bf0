// Outcomes that find no write under way wait OUTCOME_LINGER_MS for others to share their statement;
// a FIFO outcome does not wait (its line waits on its commit), and stop() writes what lingers.
import { afterEach, beforeEach, expect, it, vi } from 'vitest';
import type { RawQuery } from '../../src/db/client.js';
import type { OutboxRelay } from '../../src/domain/outbox.js';
import type { Decision } from '../../src/dispatcher/policy.js';
import { OUTCOME_LINGER_MS, Recorder } from '../../src/dispatcher/recorder.js';
import type { Claimed } from '../../src/dispatcher/store.js';
import { createLogger } from '../../src/logger.js';
import type { HookyardPubSub } from '../../src/pubsub.js';

function claimed(id: string, fifo = false): Claimed {
  return {
    id, tenantId: 'ten_1', endpointId: 'ep_1', eventId: `evt_${id}`, eventType: 'x', attemptCount: 0, trigger: 'event', payload: {},
    eventCreatedAt: new Date(), url: 'http://receiver.example/', headers: {}, rateLimitPerSecond: null, secrets: [],
    traceparent: null, dueAt: new Date(), previousStatus: 'PENDING', fifo,
  };
}

const delivered: Decision = {
  status: 'DELIVERED', retryInMs: null, disableEndpoint: null,
  attempt: { attemptNumber: 1, trigger: 'event', startedAt: new Date(), durationMs: 1, responseStatus: 200, responseBody: 'ok', error: null },
};

/** The delivery ids of each outcome statement sent, in order; every statement succeeds at once. */
function recorderWithLog() {
  const written: string[][] = [];
  const sql = (async (_sql: string, params: unknown[]) => {
    const ids = params[0] as string[];
    written.push(ids);
    return [{ id: 'o', tenantId: 'ten_1', changes: ids.map((deliveryId) => ({ deliveryId })), operational: [] }];
  }) as RawQuery;
  const recorder = new Recorder({
    config: { disableAfterMs: 0, retrySchedule: [0], maxRetryAfterMs: 0 },
    sql,
    log: createLogger('silent'),
    pubsub: { publish: () => {} } as unknown as HookyardPubSub,
    outbox: { publish: () => {} } as unknown as OutboxRelay,
    owner: 'test-owner',
    onRetryScheduled: () => {},
    wakeClaims: () => {},
  });
  return { recorder, written };
}

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

it('outcomes recorded within the linger share one statement, written when it ends', async () => {
  const { recorder, written } = recorderWithLog();
  recorder.record(claimed('d1'), delivered);
  await vi.advanceTimersByTimeAsync(OUTCOME_LINGER_MS - 1);
  recorder.record(claimed('d2'), delivered);
  expect(written).toEqual([]);
  await vi.advanceTimersByTimeAsync(1);
  expect(written).toEqual([['d1', 'd2']]);
});

it('a FIFO outcome is written without waiting, and takes what lingers with it', async () => {
  const { recorder, written } = recorderWithLog();
  recorder.record(claimed('d1'), delivered);
  recorder.record(claimed('f1', true), delivered);
  await vi.advanceTimersByTimeAsync(0);
  expect(written).toEqual([['d1', 'f1']]);
  // Its timer was cleared: nothing more is written when the linger would have ended.
  await vi.advanceTimersByTimeAsync(OUTCOME_LINGER_MS);
  expect(written).toEqual([['d1', 'f1']]);
});

it('stop() writes a lingering outcome at once', async () => {
  const { recorder, written } = recorderWithLog();
  recorder.record(claimed('d1'), delivered);
  const stopped = recorder.stop();
  await vi.advanceTimersByTimeAsync(0);
  await stopped;
  expect(written).toEqual([['d1']]);
});
