// CI runs a small version of the benchmark and of the soak so neither can rot. No timing is
// asserted here: numbers belong in BENCHMARKS.md, measured on a quiet machine.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);
/** Runs a bench script; a failure carries the end of its output, which says what went wrong. */
const tsx = async (script: string, env: Record<string, string>) => {
  try {
    return await run(process.execPath, ['--import', 'tsx', script], { env: { ...process.env, ...env }, maxBuffer: 64 * 1024 * 1024 });
  } catch (err) {
    const e = err as Error & { stdout?: string; stderr?: string };
    throw new Error(`${script} failed: ${e.message}\n--- stdout (end)\n${(e.stdout ?? '').slice(-4000)}\n--- stderr (end)\n${(e.stderr ?? '').slice(-4000)}`);
  }
};

describe('bench and soak scripts', () => {
  it('npm run bench completes every scenario (BENCH_QUICK)', async () => {
    const { stdout } = await tsx('bench/run.ts', { BENCH_QUICK: '1' });
    for (const scenario of ['ceiling', 'sendevent', 'batch', 'dispatch', 'latency', 'ingest', 'subscriptions', 'queries', 'bulk', 'soak']) expect(stdout).toContain(scenario);
    expect(stdout).toContain('wrote ');
    // The dispatch floor ran beside the dispatcher and delivered everything it was given.
    expect(stdout).toMatch(/floorDeliveriesPerSecond: \d+/);
  }, 300_000);

  it('npm run soak loses nothing with an instance killed midway, poisoned answers and retention on (small N)', async () => {
    // Retention short enough to delete rows while the soak runs: the counts must include them.
    const { stdout } = await tsx('bench/soak.ts', { SOAK_EVENTS: '400', SOAK_TIMEOUT_SECONDS: '240', SOAK_RETENTION: '5s', SOAK_POISON: '0.05' });
    expect(stdout).toContain('OK: nothing lost');
    const counts = JSON.parse(stdout.slice(stdout.indexOf('{'), stdout.lastIndexOf('}') + 1)) as Record<string, number>;
    expect(counts).toMatchObject({
      eventsStored: 400, deliveries: 400, open: 0, attemptCountMismatches: 0, subscriberMissedFinals: 0,
      poisonedAnswersWithout200Attempt: 0, retentionDeletedOpenDeliveries: 0,
    });
    expect(counts.poisonedAnswers).toBeGreaterThan(0);
    expect(counts.retentionDeletedDeliveries).toBeGreaterThan(0);
    for (const table of ['Event', 'Delivery', 'DeliveryAttempt', 'StatusOutbox', 'RateLimit']) expect(stdout).toMatch(new RegExp(`  ${table} +\\d+ rows +\\d+ kB`));
  }, 300_000);
});
