// The outcome policy, row by row of README "Receiving webhooks" / SPEC "Delivering", plus a
// property over every outcome and schedule.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type DeliveryFacts, decide, GONE_REASON, LEASE_EXPIRED_ERROR, leaseExpiredOutcome, type RetryRules } from '../../src/dispatcher/policy.js';
import type { AttemptOutcome } from '../../src/dispatcher/send.js';
import { BlockedTargetError } from '../../src/security/targets.js';

const S = 1000;
const M = 60 * S;
// The default schedule (SPEC): immediately, 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 14 h, 20 h, 24 h.
const rules: RetryRules = {
  retrySchedule: [0, 5 * S, 5 * M, 30 * M, 120 * M, 300 * M, 600 * M, 840 * M, 1200 * M, 1440 * M],
  maxRetryAfterMs: 60 * M,
};
/** A jitter draw of 0.5 is the schedule's own entry (±20% around it). */
const MID = 0.5;
const startedAt = new Date('2026-11-23T12:00:00.000Z');

const first: DeliveryFacts = { attemptCount: 0, trigger: 'event' };
/** After attempt n failed: the next is attempt n + 1. */
const after = (n: number, trigger = 'event'): DeliveryFacts => ({ attemptCount: n, trigger });

function answer(status: number, extra: Partial<AttemptOutcome> = {}): AttemptOutcome {
  const ok = status >= 200 && status < 300;
  return { ok, startedAt, durationMs: 12, responseStatus: status, responseBody: `body ${status}`, error: ok ? null : `HTTP ${status}`, retryAfterMs: null, ...extra };
}
function noAnswer(error: string): AttemptOutcome {
  return { ok: false, startedAt, durationMs: 15_000, responseStatus: null, responseBody: null, error, retryAfterMs: null };
}
const retryIn = (ms: number) => ({ status: 'PENDING', retryInMs: ms, disableEndpoint: null });
const failed = { status: 'FAILED', retryInMs: null, disableEndpoint: null };

describe('outcome policy: what the receiver answered', () => {
  it.each([200, 201, 202, 204, 299])('%i is DELIVERED, with the attempt recorded as answered', (status) => {
    const d = decide(first, answer(status), rules, MID);
    expect(d).toEqual({
      status: 'DELIVERED', retryInMs: null, disableEndpoint: null,
      attempt: { attemptNumber: 1, trigger: 'event', startedAt, durationMs: 12, responseStatus: status, responseBody: `body ${status}`, error: null },
    });
  });

  it('2xx is DELIVERED on the last attempt of the schedule too', () => {
    expect(decide(after(rules.retrySchedule.length - 1), answer(200), rules, MID).status).toBe('DELIVERED');
  });

  it.each([301, 302, 303, 307, 308])('%i (a redirect, not followed) is a failure retried by the schedule, its error kept', (status) => {
    const outcome = answer(status, { error: `redirect not followed (${status} to https://elsewhere.example/)` });
    const d = decide(first, outcome, rules, MID);
    expect(d).toMatchObject(retryIn(5 * S));
    expect(d.attempt).toMatchObject({ responseStatus: status, error: outcome.error });
  });

  it.each([400, 401, 403, 404, 409, 413, 422])('%i is retried by the schedule (only 410 stops an endpoint)', (status) => {
    expect(decide(after(2), answer(status), rules, MID)).toMatchObject(retryIn(30 * M));
  });

  it.each([500, 502, 504])('%i is retried by the schedule', (status) => {
    expect(decide(after(3), answer(status), rules, MID)).toMatchObject(retryIn(120 * M));
  });

  it('410 Gone ends the delivery FAILED and disables the endpoint, with retries left', () => {
    const d = decide(first, answer(410), rules, MID);
    expect(d).toEqual({ status: 'FAILED', retryInMs: null, disableEndpoint: GONE_REASON, attempt: expect.objectContaining({ responseStatus: 410, error: 'HTTP 410' }) });
    expect(GONE_REASON).toBe('the receiver answered 410 Gone');
  });

  it('410 disables the endpoint whatever else came with it (Retry-After, webhook-retry: none, last attempt)', () => {
    for (const outcome of [answer(410, { retryAfterMs: 10 * S }), answer(410, { noRetry: true }), answer(410)]) {
      expect(decide(after(4), outcome, rules, MID)).toMatchObject({ status: 'FAILED', disableEndpoint: GONE_REASON });
    }
    expect(decide(after(rules.retrySchedule.length - 1), answer(410), rules, MID)).toMatchObject({ status: 'FAILED', disableEndpoint: GONE_REASON });
  });

  describe.each([429, 503])('%i', (status) => {
    it('without Retry-After: the schedule', () => {
      expect(decide(after(1), answer(status), rules, MID)).toMatchObject(retryIn(5 * M));
    });
    it('with a Retry-After longer than the schedule: the Retry-After', () => {
      expect(decide(after(1), answer(status, { retryAfterMs: 20 * M }), rules, MID)).toMatchObject(retryIn(20 * M));
    });
    it('with a Retry-After shorter than the schedule: the schedule (it never brings a retry forward)', () => {
      expect(decide(after(1), answer(status, { retryAfterMs: 10 * S }), rules, MID)).toMatchObject(retryIn(5 * M));
    });
    it('with a Retry-After beyond HOOKYARD_MAX_RETRY_AFTER_MS: the cap', () => {
      expect(decide(after(1), answer(status, { retryAfterMs: 48 * 60 * M }), rules, MID)).toMatchObject(retryIn(60 * M));
    });
    it('with a Retry-After beyond a cap that is below the schedule: the schedule', () => {
      const lowCap = { ...rules, maxRetryAfterMs: 1 * M };
      expect(decide(after(1), answer(status, { retryAfterMs: 48 * 60 * M }), lowCap, MID)).toMatchObject(retryIn(5 * M));
    });
    it('with Retry-After when the schedule is exhausted: FAILED (Retry-After does not add attempts)', () => {
      expect(decide(after(rules.retrySchedule.length - 1), answer(status, { retryAfterMs: 10 * S }), rules, MID)).toMatchObject(failed);
    });
    it('with webhook-retry: none: FAILED, Retry-After notwithstanding', () => {
      expect(decide(after(1), answer(status, { retryAfterMs: 10 * S, noRetry: true }), rules, MID)).toMatchObject(failed);
    });
  });

  it.each([400, 422, 500, 302, 429])('%i with webhook-retry: none ends FAILED now; the endpoint stays', (status) => {
    const error = `HTTP ${status}; the receiver asked for no retries (webhook-retry: none)`;
    const d = decide(first, answer(status, { noRetry: true, error }), rules, MID);
    expect(d).toMatchObject(failed);
    expect(d.attempt.error).toBe(error);
  });
});

describe('outcome policy: no answer', () => {
  it.each([
    ['a timeout', 'timeout after 15000 ms'],
    ['a refused connection', 'connection refused'],
    ['a reset connection', 'connection reset'],
    ['a failed DNS lookup', 'DNS lookup failed (ENOTFOUND)'],
    ['a TLS error', 'TLS error (CERT_HAS_EXPIRED)'],
    ['a blocked target (SSRF guard)', new BlockedTargetError('10.0.0.1').message],
    ['an internal error', 'internal error: boom'],
  ])('%s is retried by the schedule, its error recorded and no status', (_what, error) => {
    const d = decide(after(1), noAnswer(error), rules, MID);
    expect(d).toMatchObject(retryIn(5 * M));
    expect(d.attempt).toEqual({ attemptNumber: 2, trigger: 'retry', startedAt, durationMs: 15_000, responseStatus: null, responseBody: null, error });
  });

  it('a blocked target on the last attempt ends FAILED (it is not terminal by itself)', () => {
    expect(decide(after(rules.retrySchedule.length - 1), noAnswer(new BlockedTargetError('169.254.169.254').message), rules, MID)).toMatchObject(failed);
  });
});

describe('outcome policy: the schedule', () => {
  it('entry k is the delay after attempt k failed, for every entry', () => {
    for (let k = 1; k < rules.retrySchedule.length; k++) {
      expect(decide(after(k - 1), answer(500), rules, MID)).toMatchObject(retryIn(rules.retrySchedule[k]!));
    }
  });

  it('exhausted: the failure of the last attempt is FAILED', () => {
    const n = rules.retrySchedule.length;
    expect(decide(after(n - 2), answer(500), rules, MID)).toMatchObject(retryIn(rules.retrySchedule[n - 1]!));
    expect(decide(after(n - 1), answer(500), rules, MID)).toMatchObject({ ...failed, attempt: expect.objectContaining({ attemptNumber: n }) });
  });

  it('a one-entry schedule allows a single attempt', () => {
    expect(decide(first, answer(500), { ...rules, retrySchedule: [0] }, MID)).toMatchObject(failed);
  });

  it('jitters each delay by ±20% from the draw it is given', () => {
    expect(decide(after(1), answer(500), rules, 0).retryInMs).toBe(4 * M);
    expect(decide(after(1), answer(500), rules, 0.999_999_9).retryInMs).toBe(6 * M);
  });
});

describe('outcome policy: the attempt record', () => {
  it.each(['event', 'replay', 'test'])('the first attempt carries the delivery trigger (%s); later ones are "retry"', (trigger) => {
    expect(decide(after(0, trigger), answer(500), rules, MID).attempt).toMatchObject({ attemptNumber: 1, trigger });
    expect(decide(after(1, trigger), answer(500), rules, MID).attempt).toMatchObject({ attemptNumber: 2, trigger: 'retry' });
    expect(decide(after(5, trigger), answer(200), rules, MID).attempt).toMatchObject({ attemptNumber: 6, trigger: 'retry' });
  });
});

describe('outcome policy: a lease taken over from a dead instance', () => {
  it('counts the lost attempt as failed, at the time given, and retries by the schedule', () => {
    const now = new Date('2026-11-23T13:00:00.000Z');
    const outcome = leaseExpiredOutcome(now);
    const d = decide(after(2), outcome, rules, MID);
    expect(d).toMatchObject(retryIn(30 * M));
    expect(d.attempt).toEqual({ attemptNumber: 3, trigger: 'retry', startedAt: now, durationMs: 0, responseStatus: null, responseBody: null, error: LEASE_EXPIRED_ERROR });
  });

  it('on a first attempt keeps the trigger; on the last, ends FAILED', () => {
    expect(decide(after(0, 'replay'), leaseExpiredOutcome(startedAt), rules, MID)).toMatchObject({ ...retryIn(5 * S), attempt: { trigger: 'replay' } });
    expect(decide(after(rules.retrySchedule.length - 1), leaseExpiredOutcome(startedAt), rules, MID)).toMatchObject(failed);
  });
});

describe('outcome policy: disabled and deleted endpoints', () => {
  // The endpoint's state is not an input: it can change between claim and record, and only the
  // database sees it then. A claim skips DISABLED and deleted endpoints (store.claimDue); a retry
  // decided here for an endpoint deleted meanwhile ends FAILED in store.complete's statement; a
  // disabled endpoint's retry stays PENDING until it is enabled (test/api/dispatch.test.ts,
  // test/api/retire.test.ts). The policy's part is to decide the same for them as for any endpoint.
  it('decides a retry for a failure (store.complete fails it if the endpoint was deleted meanwhile)', () => {
    expect(decide(after(1), answer(500), rules, MID)).toMatchObject(retryIn(5 * M));
  });
});

describe('outcome policy: properties', () => {
  const outcomes = fc.record({
    responseStatus: fc.option(fc.integer({ min: 100, max: 599 }), { nil: null }),
    retryAfterMs: fc.option(fc.integer({ min: 0, max: 10 * 24 * 60 * M }), { nil: null }),
    noRetry: fc.boolean(),
    durationMs: fc.nat(60_000),
  }).map((o): AttemptOutcome => {
    const ok = o.responseStatus !== null && o.responseStatus >= 200 && o.responseStatus < 300;
    return { ...o, ok, startedAt, responseBody: null, error: ok ? null : 'failed' };
  });
  const schedules = fc.array(fc.integer({ min: 0, max: 48 * 60 * M }), { minLength: 1, maxLength: 12 });

  it('DELIVERED iff 2xx; FAILED iff terminal (410, webhook-retry: none) or the schedule is exhausted; a delay from the schedule or a capped Retry-After', () => {
    fc.assert(
      fc.property(outcomes, schedules, fc.nat(15), fc.nat(24 * 60 * M), fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
        (outcome, retrySchedule, attemptCount, maxRetryAfterMs, random) => {
          const d = decide({ attemptCount, trigger: 'event' }, outcome, { retrySchedule, maxRetryAfterMs }, random);
          const attemptNumber = attemptCount + 1;
          const exhausted = attemptNumber >= retrySchedule.length;
          const terminal = outcome.responseStatus === 410 || outcome.noRetry === true;
          expect(d.attempt.attemptNumber).toBe(attemptNumber);
          expect(d.attempt.trigger).toBe(attemptNumber === 1 ? 'event' : 'retry');
          expect(d.disableEndpoint !== null).toBe(!outcome.ok && outcome.responseStatus === 410);
          if (outcome.ok) {
            expect(d).toMatchObject({ status: 'DELIVERED', retryInMs: null });
            return;
          }
          expect(d.status === 'FAILED').toBe(terminal || exhausted);
          if (d.status === 'FAILED') {
            expect(d.retryInMs).toBeNull();
            return;
          }
          expect(d.status).toBe('PENDING');
          const base = retrySchedule[attemptNumber]!;
          const low = Math.round(base * 0.8);
          const high = Math.round(base * 1.2);
          const delay = d.retryInMs!;
          expect(delay).toBeGreaterThanOrEqual(low);
          if (outcome.retryAfterMs === null) {
            expect(delay).toBeLessThanOrEqual(high);
          } else {
            const asked = Math.min(outcome.retryAfterMs, maxRetryAfterMs);
            expect(delay).toBeGreaterThanOrEqual(asked);
            // Beyond the schedule's jitter only to honour the (capped) Retry-After, never past the cap.
            if (delay > high) expect(delay).toBe(asked);
            expect(delay).toBeLessThanOrEqual(Math.max(high, maxRetryAfterMs));
          }
        }),
      { numRuns: 2000 },
    );
  });

  it('is pure: the same facts give the same decision, and its inputs are left as they were', () => {
    fc.assert(
      fc.property(outcomes, schedules, fc.nat(15), fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), (outcome, retrySchedule, attemptCount, random) => {
        const facts = { attemptCount, trigger: 'replay' };
        const r = { retrySchedule, maxRetryAfterMs: 60 * M };
        const before = structuredClone({ facts, outcome, r });
        expect(decide(facts, outcome, r, random)).toEqual(decide(facts, outcome, r, random));
        expect({ facts, outcome, r }).toEqual(before);
      }),
      { numRuns: 500 },
    );
  });
});
