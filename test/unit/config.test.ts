import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, parseDuration } from '../../src/config.js';

describe('config', () => {
  it('has the documented defaults', () => {
    const c = loadConfig({});
    expect(c).toMatchObject({
      port: 4000,
      databaseUrl: undefined,
      dataDir: './.hookyard',
      role: 'all',
      allowPrivateTargets: false,
      deliveryTimeoutMs: 15_000,
      dispatchConcurrency: 64,
      maxPayloadBytes: 262_144,
      bulkReplayCap: 1000,
      replayRateLimit: 10,
      testFireRateLimit: 20,
      logLevel: 'info',
    });
    expect(c.retrySchedule).toEqual([0, 5e3, 3e5, 18e5, 72e5, 18e6, 36e6, 504e5, 72e6, 864e5]);
  });

  it('lists every problem at once', () => {
    let error: ConfigError | undefined;
    try {
      loadConfig({
        PORT: 'eighty',
        DATABASE_URL: 'mysql://x',
        HOOKYARD_ROLE: 'boss',
        HOOKYARD_RETRY_SCHEDULE: '1s,soon',
        HOOKYARD_ALLOW_PRIVATE_TARGETS: 'maybe',
        LOG_LEVEL: 'loud',
        HOOKYARD_BOOTSTRAP_API_KEY: 'short',
      });
    } catch (err) {
      error = err as ConfigError;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const text = error!.problems.join('\n');
    for (const name of ['PORT', 'DATABASE_URL', 'HOOKYARD_ROLE', 'HOOKYARD_RETRY_SCHEDULE', 'HOOKYARD_ALLOW_PRIVATE_TARGETS', 'LOG_LEVEL', 'HOOKYARD_BOOTSTRAP_API_KEY']) {
      expect(text).toContain(name);
    }
    expect(error!.problems).toHaveLength(7);
  });

  it('parses durations', () => {
    expect(parseDuration('250ms')).toBe(250);
    expect(parseDuration('1.5s')).toBe(1500);
    expect(parseDuration('2h')).toBe(7_200_000);
    expect(parseDuration('2 hours')).toBeUndefined();
    expect(parseDuration('-1s')).toBeUndefined();
  });

  it('refuses a lease no longer than the send timeout', () => {
    expect(() => loadConfig({ HOOKYARD_LEASE_MS: '5000', HOOKYARD_DELIVERY_TIMEOUT_MS: '5000' })).toThrow(/LEASE/);
  });

  it('reads HOOKYARD_RETENTION as a duration, 30 days by default, 0 to keep everything', () => {
    expect(loadConfig({}).retentionMs).toBe(30 * 86_400_000);
    expect(loadConfig({ HOOKYARD_RETENTION: '3s' }).retentionMs).toBe(3000);
    expect(loadConfig({ HOOKYARD_RETENTION: '0' }).retentionMs).toBe(0);
    expect(() => loadConfig({ HOOKYARD_RETENTION: 'forever' })).toThrow(/HOOKYARD_RETENTION/);
  });

  it('reads HOOKYARD_DISABLE_AFTER as a duration, 5 days by default, 0 to never disable', () => {
    expect(loadConfig({}).disableAfterMs).toBe(5 * 86_400_000);
    expect(loadConfig({ HOOKYARD_DISABLE_AFTER: '2s' }).disableAfterMs).toBe(2000);
    expect(loadConfig({ HOOKYARD_DISABLE_AFTER: '0' }).disableAfterMs).toBe(0);
    expect(() => loadConfig({ HOOKYARD_DISABLE_AFTER: 'soon' })).toThrow(/HOOKYARD_DISABLE_AFTER/);
  });

  it('reads HOOKYARD_DISPATCH_THREADS: 0 (sends on the main thread) by default, 0 to 64', () => {
    expect(loadConfig({}).dispatchThreads).toBe(0);
    expect(loadConfig({ HOOKYARD_DISPATCH_THREADS: '2' }).dispatchThreads).toBe(2);
    expect(() => loadConfig({ HOOKYARD_DISPATCH_THREADS: 'many' })).toThrow(/HOOKYARD_DISPATCH_THREADS/);
    expect(() => loadConfig({ HOOKYARD_DISPATCH_THREADS: '65' })).toThrow(/HOOKYARD_DISPATCH_THREADS/);
  });
});
