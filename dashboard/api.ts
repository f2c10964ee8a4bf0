// GraphQL over HTTP for the dashboard, and the words an operator reads for each error code.
import { GraphQLClientError, graphqlClient } from '../src/client/graphql.js';

/** Called when the server no longer knows the session (expired, signed out elsewhere, key revoked). */
export const session = { onLost: () => {} };

/** Trades the key for the HttpOnly session cookie: the key is not kept anywhere on the page. */
export async function signIn(key: string): Promise<void> {
  const res = await fetch('/session', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ key }) }).catch(() => {
    throw new GraphQLClientError('the server did not answer', 'NETWORK');
  });
  if (res.status === 401) throw new GraphQLClientError('that API key was not accepted', 'UNAUTHENTICATED', {}, [], 401);
  if (!res.ok) throw new GraphQLClientError(`HTTP ${res.status}`, 'BAD_RESPONSE', {}, [], res.status);
}

export async function hasSession(): Promise<boolean> {
  return (await fetch('/session').catch(() => null))?.ok ?? false;
}

export async function signOut(): Promise<void> {
  await fetch('/session', { method: 'DELETE' }).catch(() => {});
}

/** The dashboard's client: same origin, the session cookie instead of a key. */
const api = graphqlClient({
  url: '/graphql',
  onError: (err) => {
    if (err.code === 'UNAUTHENTICATED') session.onLost();
  },
});
export const gql = api.request;

/** What an operator should read for each error code. */
export function explain(err: unknown): string {
  if (!(err instanceof GraphQLClientError)) return `Something went wrong: ${(err as Error)?.message ?? String(err)}`;
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
