// The dashboard's reconnect backoff: grows from half a second, never past the cap, never zero.
import { describe, expect, it } from 'vitest';
import { backoffMs } from '../../dashboard/live.js';

describe('dashboard reconnect backoff', () => {
  it('doubles from 0.5 s and stays within 10 s ± 25 % however many retries', () => {
    for (let i = 0; i < 200; i++) {
      expect(backoffMs(0)).toBeGreaterThanOrEqual(375);
      expect(backoffMs(0)).toBeLessThanOrEqual(625);
      expect(backoffMs(2)).toBeGreaterThanOrEqual(1500);
      expect(backoffMs(2)).toBeLessThanOrEqual(2500);
      for (const retries of [5, 6, 50, 10_000]) {
        expect(backoffMs(retries)).toBeGreaterThanOrEqual(7500);
        expect(backoffMs(retries)).toBeLessThanOrEqual(12_500);
      }
    }
  });
});
