// When the next attempt happens: the configured schedule with ±20% jitter, or the receiver's
// Retry-After (429/503) when it asks for longer, bounded by the operator's ceiling. Entry i is the
// delay before attempt i + 1: entry 0 before the first attempt (from the delivery's creation),
// entry k after attempt k failed. These are delays; the database adds them to its own clock.

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
  const jittered = jitter(base, random);
  if (retryAfterMs === null) return jittered;
  return Math.max(jittered, Math.min(retryAfterMs, maxRetryAfterMs));
}

/** Delay in ms from a delivery's creation to its first attempt (entry 0, jittered). */
export function firstDelay(schedule: readonly number[], random: () => number = Math.random): number {
  return jitter(schedule[0] ?? 0, random);
}

function jitter(base: number, random: () => number): number {
  return Math.round(base * (1 - JITTER + 2 * JITTER * random()));
}
