// What an attempt's outcome means for its delivery: delivered, retried after a delay, or failed,
// and whether the endpoint must be disabled. A pure function of what it is given (no I/O, no clock,
// no randomness but the draw passed in), so every rule of README "Receiving webhooks" is
// unit-tested row by row (test/unit/policy.test.ts).
//
// Two endpoint rules are not decided here, because the endpoint can change between claim and
// record and only the database sees its state then: a claim skips disabled and deleted endpoints
// (store.claimDue), and a retry decided here for an endpoint deleted meanwhile ends FAILED in the
// recording statement (store.complete). Waiting deliveries of a deleted endpoint are failed by
// domain/endpoints.ts.
import type { DeliveryStatus } from '../generated/prisma/enums.js';
import { nextDelay } from './schedule.js';
import type { AttemptOutcome } from './send.js';

/** What the policy needs to know about the claimed delivery. */
export interface DeliveryFacts {
  /** Attempts recorded so far; this outcome is attempt attemptCount + 1. */
  attemptCount: number;
  /** Why the delivery exists (event, replay, test…): the trigger of its first attempt. */
  trigger: string;
}

export interface RetryRules {
  /** Entry i is the delay before attempt i + 1 (schedule.ts). */
  retrySchedule: readonly number[];
  /** Ceiling on a receiver's Retry-After. */
  maxRetryAfterMs: number;
}

/** The attempt row's fields (its id is the caller's). */
export interface AttemptRecord {
  attemptNumber: number;
  trigger: string;
  startedAt: Date;
  durationMs: number;
  responseStatus: number | null;
  responseBody: string | null;
  error: string | null;
}

export interface Decision {
  status: Extract<DeliveryStatus, 'DELIVERED' | 'PENDING' | 'FAILED'>;
  /** Delay before the next attempt when PENDING; null otherwise. */
  retryInMs: number | null;
  /** Disable the endpoint, with this reason (410 Gone); null to leave it. */
  disableEndpoint: string | null;
  attempt: AttemptRecord;
}

export const GONE_REASON = 'the receiver answered 410 Gone';
export const LEASE_EXPIRED_ERROR = 'lease expired: the dispatcher sending it stopped before recording the outcome';

/**
 * The outcome recorded for a delivery taken over from an instance that died holding it: whether
 * its attempt reached the receiver is unknown, so it counts as a failed attempt, retried by the
 * schedule.
 */
export function leaseExpiredOutcome(now: Date): AttemptOutcome {
  return { ok: false, startedAt: now, durationMs: 0, responseStatus: null, responseBody: null, retryAfterMs: null, error: LEASE_EXPIRED_ERROR };
}

/**
 * The next state after `outcome`. `random` is a draw in [0, 1) for the schedule's jitter.
 * 2xx → DELIVERED. 410 → FAILED and the endpoint disabled. Any other failure the receiver marked
 * `webhook-retry: none` → FAILED. Anything else → PENDING after the schedule's next delay (or a
 * longer Retry-After, capped), or FAILED when the schedule is exhausted.
 */
export function decide(delivery: DeliveryFacts, outcome: AttemptOutcome, rules: RetryRules, random: number): Decision {
  const attemptNumber = delivery.attemptCount + 1;
  const attempt: AttemptRecord = {
    attemptNumber,
    trigger: attemptNumber === 1 ? delivery.trigger : 'retry',
    startedAt: outcome.startedAt,
    durationMs: outcome.durationMs,
    responseStatus: outcome.responseStatus,
    responseBody: outcome.responseBody,
    error: outcome.error,
  };
  if (outcome.ok) return { status: 'DELIVERED', retryInMs: null, disableEndpoint: null, attempt };
  if (outcome.responseStatus === 410) return { status: 'FAILED', retryInMs: null, disableEndpoint: GONE_REASON, attempt };
  if (outcome.noRetry) return { status: 'FAILED', retryInMs: null, disableEndpoint: null, attempt };
  const delay = nextDelay(rules.retrySchedule, attemptNumber, outcome.retryAfterMs, rules.maxRetryAfterMs, () => random);
  if (delay === null) return { status: 'FAILED', retryInMs: null, disableEndpoint: null, attempt };
  return { status: 'PENDING', retryInMs: delay, disableEndpoint: null, attempt };
}
