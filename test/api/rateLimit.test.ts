import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { databaseRateLimiter } from '../../src/domain/rateLimit.js';
import { newId } from '../../src/ids.js';
import { startTestApp, type TestApp } from '../helpers/testApp.js';

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp({ env: { HOOKYARD_ROLE: 'api' } });
});
afterAll(() => t?.stop());

describe('database rate limiter', () => {
  it('allows exactly `limit` calls in any 60 s, counting concurrent callers exactly', async () => {
    const limiter = databaseRateLimiter(t.prisma);
    const key = `test:${newId('endpoint')}`;
    const results = await Promise.all(Array.from({ length: 25 }, () => limiter.hit(key, 10)));
    expect(results.filter((r) => r.allowed)).toHaveLength(10);
    for (const r of results.filter((x) => !x.allowed)) {
      expect(r.retryAfterSeconds).toBeGreaterThanOrEqual(59);
      expect(r.retryAfterSeconds).toBeLessThanOrEqual(60);
    }
  });

  it('slides: calls older than a minute stop counting, there is no window boundary to reset on', async () => {
    const limiter = databaseRateLimiter(t.prisma);
    const key = `test:${newId('endpoint')}`;
    // Seven calls 59.5 s ago and three 30 s ago: the log is full.
    const old = (s: number) => new Date(Date.now() - s * 1000);
    await t.prisma.rateLimit.create({ data: { key, hits: [...Array(7).fill(old(59.5)), ...Array(3).fill(old(30))] } });
    expect((await limiter.hit(key, 10)).allowed).toBe(false);
    // The thing under test is time passing: the oldest seven cross the one-minute line.
    await new Promise((r) => setTimeout(r, 700));
    // The seven aged out; three remain, so seven more fit.
    const later = await Promise.all(Array.from({ length: 8 }, () => limiter.hit(key, 10)));
    expect(later.filter((r) => r.allowed)).toHaveLength(7);
    const refused = later.find((r) => !r.allowed)!;
    expect(refused.retryAfterSeconds).toBeGreaterThanOrEqual(29);
    expect(refused.retryAfterSeconds).toBeLessThanOrEqual(31);
  });
});
