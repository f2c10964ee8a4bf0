// The one GraphQL client of everything that talks to a Hookyard server: the CLI, the dashboard, the
// tests (and the bench). Queries and mutations are POSTed with fetch, subscriptions go over
// graphql-ws; both are typed by the operations codegen.ts generates (TypedDocumentString).
// The dashboard bundles this file for the browser with esbuild, so it imports nothing that only
// Node has (test/unit/graphqlClient.test.ts bundles it for the browser platform to hold that).
//
// In Node (CLI, tests, bench):
//   const api = graphqlClient({ url: `${base}/graphql`, apiKey });
//   const { sendEvent } = await api.request(SendEvent, { input });   // throws GraphQLClientError
//   const ws = subscriptionClient({ url: subscriptionUrl(api.url), apiKey, webSocketImpl: WebSocket /* from 'ws' */ });
//   const stop = subscribe(ws, OnDeliveryStatus, { endpointId }, { next, error, complete });
import { createClient, type Client, type ClientOptions, type ExecutionResult, type Sink } from 'graphql-ws';
import type { ErrorCode } from '../errors.js';
import type { TypedDocumentString } from '../generated/gql/graphql.js';

/** One entry of a response's `errors`, as Hookyard sends it (src/errors.ts: `extensions.code`, `param`). */
export interface GraphQLErrorBody {
  message: string;
  path?: (string | number)[];
  extensions?: { code?: string; param?: string; retryAfterSeconds?: number; [key: string]: unknown };
}

/**
 * Hookyard's own codes (src/errors.ts), graphql-yoga's (a query the schema rejects, a masked
 * failure), and the client's: NETWORK (no answer) and BAD_RESPONSE (an answer that is not GraphQL).
 */
export type GraphQLErrorCode = ErrorCode | 'GRAPHQL_VALIDATION_FAILED' | 'GRAPHQL_PARSE_FAILED' | 'BAD_USER_INPUT' | 'INTERNAL_SERVER_ERROR' | 'NETWORK' | 'BAD_RESPONSE';

/** A failed request: the first GraphQL error's code and extensions, every error in `errors`. */
export class GraphQLClientError extends Error {
  override readonly name = 'GraphQLClientError';
  constructor(
    message: string,
    /** A GraphQLErrorCode; a string, because a newer server may send codes this client does not know. */
    readonly code: GraphQLErrorCode | (string & {}),
    readonly extensions: Record<string, unknown> = {},
    readonly errors: GraphQLErrorBody[] = [],
    /** The HTTP status, when there was an answer. */
    readonly status?: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export interface GraphQLResponse<R> {
  status: number;
  headers: Headers;
  data?: R | null;
  errors?: GraphQLErrorBody[];
}

export interface RequestOptions {
  /** Overrides the client's key for this request; null sends none. */
  apiKey?: string | null;
  headers?: Record<string, string>;
  signal?: AbortSignal;
}

export interface GraphQLClientOptions {
  /** The GraphQL URL: `http://host:port/graphql`, or `/graphql` on the dashboard's own origin. */
  url: string;
  /** Sent as `authorization: Bearer …`. None: no credentials, or the dashboard's session cookie. */
  apiKey?: string | null;
  headers?: Record<string, string>;
  /** Sees each error before it is thrown (the dashboard signs out on UNAUTHENTICATED). */
  onError?: (error: GraphQLClientError) => void;
}

/** Variables may be left out only when the operation has no required ones. */
export type VariablesArgs<V> = {} extends V ? [variables?: V, options?: RequestOptions] : [variables: V, options?: RequestOptions];

export interface GraphQLClient {
  readonly url: string;
  /** The whole answer, errors included; throws only when there is no GraphQL answer (NETWORK, BAD_RESPONSE). */
  execute<R, V>(doc: TypedDocumentString<R, V> | string, variables?: V, options?: RequestOptions): Promise<GraphQLResponse<R>>;
  /** The data; throws a GraphQLClientError carrying the first error's code when there are errors. */
  request<R, V>(doc: TypedDocumentString<R, V>, ...args: VariablesArgs<V>): Promise<R>;
}

const reasonOf = (err: unknown): string => {
  const cause = (err as { cause?: unknown })?.cause;
  return cause instanceof Error ? cause.message : err instanceof Error ? err.message : String(err);
};

/** The error a response's `errors` stand for. */
export function errorFrom(errors: GraphQLErrorBody[], status?: number): GraphQLClientError {
  const first = errors[0]!;
  const extensions = first.extensions ?? {};
  return new GraphQLClientError(first.message, String(extensions.code ?? 'INTERNAL_SERVER_ERROR'), extensions, errors, status);
}

export function graphqlClient(options: GraphQLClientOptions): GraphQLClient {
  const fail = (error: GraphQLClientError): GraphQLClientError => {
    options.onError?.(error);
    return error;
  };

  async function execute<R, V>(doc: TypedDocumentString<R, V> | string, variables?: V, init: RequestOptions = {}): Promise<GraphQLResponse<R>> {
    const apiKey = init.apiKey === undefined ? options.apiKey : init.apiKey;
    let res: Response;
    try {
      res = await fetch(options.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...options.headers, ...init.headers, ...(apiKey ? { authorization: `Bearer ${apiKey}` } : {}) },
        body: JSON.stringify({ query: doc.toString(), variables }),
        signal: init.signal,
      });
    } catch (err) {
      throw fail(new GraphQLClientError(`cannot reach ${options.url}: ${reasonOf(err)}`, 'NETWORK', {}, [], undefined, { cause: err }));
    }
    const body = (await res.json().catch(() => null)) as { data?: R | null; errors?: GraphQLErrorBody[] } | null;
    if (!body || typeof body !== 'object' || (body.data === undefined && !Array.isArray(body.errors))) {
      throw fail(new GraphQLClientError(`unexpected answer from ${options.url} (HTTP ${res.status})`, 'BAD_RESPONSE', {}, [], res.status));
    }
    return { status: res.status, headers: res.headers, data: body.data, errors: body.errors };
  }

  async function request<R, V>(doc: TypedDocumentString<R, V>, ...[variables, init]: VariablesArgs<V>): Promise<R> {
    const res = await execute(doc, variables, init);
    if (res.errors?.length) throw fail(errorFrom(res.errors, res.status));
    if (res.data == null) throw fail(new GraphQLClientError(`no data from ${options.url} (HTTP ${res.status})`, 'BAD_RESPONSE', {}, [], res.status));
    return res.data;
  }

  return { url: options.url, execute, request };
}

/** The graphql-ws URL beside a GraphQL-over-HTTP one (same path, ws: or wss:). */
export const subscriptionUrl = (graphqlUrl: string): string => graphqlUrl.replace(/^http/, 'ws');

export interface SubscriptionClientOptions extends ClientOptions {
  /** Sent in connectionParams as `authorization: Bearer …` (unless connectionParams are given); none: the upgrade's session cookie. */
  apiKey?: string | null;
}

/**
 * A graphql-ws client. In the browser WebSocket is global; Node 20 has none, so Node callers pass
 * `webSocketImpl` (the `ws` package), which keeps this module free of Node-only imports.
 */
export function subscriptionClient({ apiKey, ...options }: SubscriptionClientOptions): Client {
  return createClient({ connectionParams: apiKey ? { authorization: `Bearer ${apiKey}` } : {}, ...options });
}

/** Subscribes with a typed operation; returns the unsubscribe. */
export function subscribe<R, V>(client: Client, doc: TypedDocumentString<R, V> | string, variables: V, sink: Sink<ExecutionResult<R>>): () => void {
  return client.subscribe<R>({ query: doc.toString(), variables: (variables ?? {}) as Record<string, unknown> }, sink);
}
