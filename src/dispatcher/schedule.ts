// When the next attempt happens: the configured schedule with ±20% jitter, or the receiver's
// Retry-After (429/503) when it asks for longer, bounded by the operator's ceiling.

export const JITTER = 0.2;

/** Delay in ms before the next attempt after `attemptsDone` attempts; null when the schedule is exhausted. */
export function nextDelay(
  schedule: readonly number[],
  attemptsDone: number,
  retryAfterMs: number | null,
  maxRetryAfterMs: number,
  random: () => number = Math.random,
): number | null {
  const base = schedule[attemptsDone];
  if (base === undefined) return null;
  const jittered = Math.round(base * (1 - JITTER + 2 * JITTER * random()));
  if (retryAfterMs === null) return jittered;
  return Math.max(jittered, Math.min(retryAfterMs, maxRetryAfterMs));
}
