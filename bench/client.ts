// The bench's side of Hookyard's one GraphQL client (src/client/graphql.ts), shared by bench/run.ts,
// bench/fairness.ts, bench/soak.ts, bench/memory.ts and bench/subscriptions.ts.
import { graphqlClient, type GraphQLClient } from '../src/client/graphql.js';
import type { CreateEndpointInput } from '../src/generated/gql/graphql.js';
import { BenchCreateEndpoint } from './operations.js';

/** A client of the Hookyard instance at `base` (http://host:port), as `apiKey`. */
export const benchClient = (base: string, apiKey: string): GraphQLClient => graphqlClient({ url: `${base}/graphql`, apiKey });

/** Creates an endpoint and returns its id. */
export async function createEndpoint(api: GraphQLClient, input: CreateEndpointInput, apiKey?: string): Promise<string> {
  return (await api.request(BenchCreateEndpoint, { input }, apiKey ? { apiKey } : {})).createEndpoint.endpoint.id;
}
