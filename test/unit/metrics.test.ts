import { describe, expect, it } from 'vitest';
import { outcomeLabel } from '../../src/metrics.js';

// The sender's error texts (src/dispatcher/send.ts) map onto the five documented outcomes.
describe('outcomeLabel', () => {
  it.each([
    [{ ok: true, responseStatus: 204, error: null }, 'success'],
    [{ ok: false, responseStatus: 500, error: 'HTTP 500' }, 'http_error'],
    [{ ok: false, responseStatus: 302, error: 'redirect not followed (302 to nowhere)' }, 'http_error'],
    [{ ok: false, responseStatus: null, error: 'timeout after 15000 ms' }, 'timeout'],
    [{ ok: false, responseStatus: null, error: 'connection refused' }, 'network_error'],
    [{ ok: false, responseStatus: null, error: 'connection reset' }, 'network_error'],
    [{ ok: false, responseStatus: null, error: 'lease expired: the dispatcher sending it stopped before recording the outcome' }, 'network_error'],
    [{ ok: false, responseStatus: null, error: 'blocked target: 10.0.0.1 is a private, loopback or link-local address' }, 'blocked'],
    [{ ok: false, responseStatus: null, error: 'anything', kind: 'blocked' as const }, 'blocked'],
  ])('%j → %s', (facts, label) => {
    expect(outcomeLabel(facts)).toBe(label);
  });
});
