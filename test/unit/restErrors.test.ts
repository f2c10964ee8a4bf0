// How the REST layer turns thrown errors into statuses: expected HookyardErrors keep code, param
// (renamed to the seed's name) and Retry-After; anything else is masked and logged by request id.
import { describe, expect, it, vi } from 'vitest';
import { HookyardError, invalid } from '../../src/errors.js';
import type { Logger } from '../../src/logger.js';
import { toFailure } from '../../src/rest/http.js';

const fakeLogger = () => ({ error: vi.fn() }) as unknown as Logger & { error: ReturnType<typeof vi.fn> };

describe('toFailure', () => {
  it('maps domain codes to HTTP statuses and renames params to the seed\'s names', () => {
    const log = fakeLogger();
    expect(toFailure(invalid('input.endpointId', 'bad'), log, 'r1', 'x', { 'input.endpointId': 'subscription_id' })).toEqual({
      status: 400, code: 'VALIDATION_FAILED', message: 'bad', param: 'subscription_id',
    });
    expect(toFailure(new HookyardError('ENDPOINT_DISABLED', 'off', { param: 'id' }), log, 'r1', 'x').status).toBe(409);
    expect(toFailure(new HookyardError('NOT_FOUND', 'gone'), log, 'r1', 'x').status).toBe(404);
    expect(toFailure(new HookyardError('UNAUTHENTICATED', 'who'), log, 'r1', 'x').status).toBe(401);
    expect(toFailure(new HookyardError('REPLAY_RATE_LIMITED', 'slow', { retryAfterSeconds: 7 }), log, 'r1', 'x')).toMatchObject({
      status: 429, retryAfterSeconds: 7,
    });
    expect(log.error).not.toHaveBeenCalled();
  });

  it('masks an unexpected error: 500, no detail in the answer, logged with the request id', () => {
    const log = fakeLogger();
    const failure = toFailure(new Error('connection to db at 10.0.0.5 refused'), log, 'req-123', '/v1/x');
    expect(failure).toEqual({ status: 500, code: 'INTERNAL_SERVER_ERROR', message: expect.stringContaining('req-123') });
    expect(failure.message).not.toContain('10.0.0.5');
    expect(log.error).toHaveBeenCalledTimes(1);
    expect(log.error.mock.calls[0]![0]).toMatchObject({ requestId: 'req-123', route: '/v1/x' });
  });
});
