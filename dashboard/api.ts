// GraphQL over HTTP for the dashboard, and the words an operator reads for each error code.
import type { TypedDocumentString } from '../src/generated/gql/graphql.js';

export class ApiError extends Error {
  constructor(message: string, readonly code: string, readonly extensions: Record<string, unknown>) {
    super(message);
  }
}

/** Called when the server no longer knows the session (expired, signed out elsewhere, key revoked). */
export const session = { onLost: () => {} };

/** Trades the key for the HttpOnly session cookie: the key is not kept anywhere on the page. */
export async function signIn(key: string): Promise<void> {
  const res = await fetch('/session', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ key }) }).catch(() => {
    throw new ApiError('the server did not answer', 'NETWORK', {});
  });
  if (res.status === 401) throw new ApiError('that API key was not accepted', 'UNAUTHENTICATED', {});
  if (!res.ok) throw new ApiError(`HTTP ${res.status}`, 'HTTP', {});
}

export async function hasSession(): Promise<boolean> {
  return (await fetch('/session').catch(() => null))?.ok ?? false;
}

export async function signOut(): Promise<void> {
  await fetch('/session', { method: 'DELETE' }).catch(() => {});
}

export async function gql<R, V>(doc: TypedDocumentString<R, V>, variables?: V): Promise<R> {
  let res: Response;
  try {
    res = await fetch('/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: doc.toString(), variables }),
    });
  } catch {
    throw new ApiError('the server did not answer', 'NETWORK', {});
  }
  const body = (await res.json().catch(() => ({}))) as { data?: R; errors?: { message: string; extensions?: Record<string, unknown> }[] };
  const err = body.errors?.[0];
  if (err?.extensions?.code === 'UNAUTHENTICATED') session.onLost();
  if (err) throw new ApiError(err.message, String(err.extensions?.code ?? 'ERROR'), err.extensions ?? {});
  if (!res.ok || body.data === undefined) throw new ApiError(`HTTP ${res.status}`, 'HTTP', {});
  return body.data as R;
}

/** What an operator should read for each error code. */
export function explain(err: unknown): string {
  if (!(err instanceof ApiError)) return `Something went wrong: ${(err as Error)?.message ?? String(err)}`;
  const param = err.extensions.param ? ` (${String(err.extensions.param)})` : '';
  switch (err.code) {
    case 'REPLAY_RATE_LIMITED':
      return `Replay limit reached for this endpoint (${err.extensions.limit ?? 10} per minute). Try again in ${err.extensions.retryAfterSeconds} s.`;
    case 'TEST_FIRE_RATE_LIMITED':
      return `Test-fire limit reached. Try again in ${err.extensions.retryAfterSeconds} s.`;
    case 'ENDPOINT_DISABLED':
      return `This endpoint is disabled, so nothing can be sent to it. Enable it first. (${err.message})`;
    case 'UNAUTHENTICATED':
      return 'That API key was not accepted.';
    case 'NOT_FOUND':
      return 'Not found (it may belong to another tenant or have been deleted).';
    case 'NETWORK':
      return 'The server did not answer. Is it running?';
    case 'VALIDATION_FAILED':
    case 'INVALID_URL':
    case 'TARGET_NOT_ALLOWED':
      return `${err.message}${param}`;
    default:
      return `${err.code}: ${err.message}${param}`;
  }
}
