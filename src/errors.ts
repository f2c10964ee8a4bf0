// Expected failures: typed GraphQL errors with a stable `extensions.code` (and `param` for bad
// input). Anything else thrown is masked by Yoga before it reaches a client.
import { GraphQLError } from 'graphql';

export type ErrorCode =
  | 'UNAUTHENTICATED'
  | 'NOT_FOUND'
  | 'VALIDATION_FAILED'
  | 'ENDPOINT_DISABLED'
  | 'REPLAY_RATE_LIMITED'
  | 'TEST_FIRE_RATE_LIMITED'
  | 'PAYLOAD_TOO_LARGE'
  | 'CONFLICT';

const HTTP_STATUS: Partial<Record<ErrorCode, number>> = { UNAUTHENTICATED: 401 };

export class HookyardError extends GraphQLError {
  constructor(
    readonly code: ErrorCode,
    message: string,
    extra: { param?: string; retryAfterSeconds?: number; [key: string]: unknown } = {},
  ) {
    const status = HTTP_STATUS[code];
    super(message, { extensions: { code, ...extra, ...(status ? { http: { status } } : {}) } });
    this.name = 'HookyardError';
  }
}

export const notFound = (what: string, id: string, param = 'id') =>
  new HookyardError('NOT_FOUND', `${what} ${JSON.stringify(id)} was not found`, { param });

export const invalid = (param: string, message: string) =>
  new HookyardError('VALIDATION_FAILED', message, { param });
