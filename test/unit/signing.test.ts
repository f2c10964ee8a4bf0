import { Webhook } from 'standardwebhooks';
import { describe, expect, it } from 'vitest';
import { nextDelay } from '../../src/dispatcher/schedule.js';
import { parseRetryAfter } from '../../src/dispatcher/send.js';
import { generateSecret, signatureHeader } from '../../src/signing.js';

describe('Standard Webhooks signatures', () => {
  it('verify with the standardwebhooks package, for every secret in a rotation', () => {
    const oldSecret = generateSecret();
    const newSecret = generateSecret();
    expect(oldSecret).toMatch(/^whsec_[A-Za-z0-9+/]+=*$/);
    const body = JSON.stringify({ id: 'evt_1', type: 'a.b', timestamp: new Date().toISOString(), data: { ü: '☃' } });
    const ts = Math.floor(Date.now() / 1000);
    const headers = { 'webhook-id': 'evt_1', 'webhook-timestamp': String(ts), 'webhook-signature': signatureHeader([newSecret, oldSecret], 'evt_1', ts, body) };
    expect(new Webhook(newSecret).verify(body, headers)).toMatchObject({ type: 'a.b' });
    expect(new Webhook(oldSecret).verify(body, headers)).toMatchObject({ type: 'a.b' });
    expect(() => new Webhook(generateSecret()).verify(body, headers)).toThrow();
    expect(() => new Webhook(newSecret).verify(`${body} `, headers)).toThrow();
  });
});

describe('retry schedule', () => {
  const schedule = [0, 5000, 300_000];

  it('follows the schedule with ±20% jitter, then gives up', () => {
    expect(nextDelay(schedule, 0, null, 1e9, () => 0.5)).toBe(0);
    expect(nextDelay(schedule, 1, null, 1e9, () => 0)).toBe(4000);
    expect(nextDelay(schedule, 1, null, 1e9, () => 1)).toBe(6000);
    expect(nextDelay(schedule, 2, null, 1e9, () => 0.5)).toBe(300_000);
    expect(nextDelay(schedule, 3, null, 1e9)).toBeNull();
  });

  it('waits longer when Retry-After asks, within the ceiling', () => {
    expect(nextDelay(schedule, 1, 60_000, 1e9, () => 0.5)).toBe(60_000);
    expect(nextDelay(schedule, 1, 10_000_000, 120_000, () => 0.5)).toBe(120_000);
    expect(nextDelay(schedule, 1, 10, 1e9, () => 0.5)).toBe(5000);
  });

  it('parses Retry-After seconds and dates', () => {
    expect(parseRetryAfter('120')).toBe(120_000);
    expect(parseRetryAfter(new Date(Date.now() + 30_000).toUTCString())).toBeGreaterThan(28_000);
    expect(parseRetryAfter('soon')).toBeNull();
    expect(parseRetryAfter(null)).toBeNull();
  });
});
