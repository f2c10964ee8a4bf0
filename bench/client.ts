// The bench's side of Hookyard's one GraphQL client (src/client/graphql.ts), shared by bench/run.ts,
// bench/fairness.ts, bench/soak.ts, bench/memory.ts and bench/subscriptions.ts.
import { Pool } from 'undici';
import { errorFrom, graphqlClient, type GraphQLClient, type GraphQLErrorBody } from '../src/client/graphql.js';
import type { CreateEndpointInput, TypedDocumentString } from '../src/generated/gql/graphql.js';
import { BenchCreateEndpoint } from './operations.js';

/** A client of the Hookyard instance at `base` (http://host:port), as `apiKey`. */
export const benchClient = (base: string, apiKey: string): GraphQLClient => graphqlClient({ url: `${base}/graphql`, apiKey });

/** Creates an endpoint and returns its id. */
export async function createEndpoint(api: GraphQLClient, input: CreateEndpointInput, apiKey?: string): Promise<string> {
  return (await api.request(BenchCreateEndpoint, { input }, apiKey ? { apiKey } : {})).createEndpoint.endpoint.id;
}

/**
 * The latency bench's load generator: one operation POSTed with undici's `request` on a pool of
 * its own, instead of the client's WHATWG fetch. It stands for the tenants' applications, which
 * do not run on Hookyard's cores in a deployment; here it shares the 2 cores with everything
 * measured. Through fetch it used ~0.8 ms of CPU per call, 163 ms a second at 200 calls/s (as
 * much as the receiver and a third of the dispatcher; /proc schedstat, BENCHMARKS.md).
 */
export function postClient(base: string, apiKey: string) {
  const pool = new Pool(base, { connections: 64 });
  const headers = { 'content-type': 'application/json', authorization: `Bearer ${apiKey}` };
  return {
    async request<R, V>(doc: TypedDocumentString<R, V>, variables: V): Promise<R> {
      const res = await pool.request({ path: '/graphql', method: 'POST', headers, body: JSON.stringify({ query: doc.toString(), variables }) });
      const body = (await res.body.json()) as { data?: R | null; errors?: GraphQLErrorBody[] };
      if (body.errors?.length) throw errorFrom(body.errors, res.statusCode);
      if (body.data == null) throw new Error(`no data (HTTP ${res.statusCode})`);
      return body.data;
    },
    close: () => pool.close(),
  };
}
