// The GraphQL operations the `hookyard` client commands send (typed by codegen.ts).
import { graphql } from '../generated/gql/gql.js';

export const CliListEndpoints = graphql(`
  query CliListEndpoints($first: Int, $after: String, $status: EndpointStatus) {
    endpoints(first: $first, after: $after, status: $status) {
      edges { node { id url status description eventTypes disabledReason deliveryStats { delivered failed failureRate } } }
      pageInfo { hasNextPage endCursor }
    }
  }
`);

export const CliCreateEndpoint = graphql(`
  mutation CliCreateEndpoint($input: CreateEndpointInput!) {
    createEndpoint(input: $input) { secret endpoint { id url status eventTypes } }
  }
`);

export const CliSendEvent = graphql(`
  mutation CliSendEvent($input: SendEventInput!) {
    sendEvent(input: $input) { deliveriesCreated duplicate event { id eventType } }
  }
`);

export const CliTestFire = graphql(`
  mutation CliTestFire($id: ID!, $eventType: String!) {
    testFireEndpoint(id: $id, eventType: $eventType) { id status event { id } }
  }
`);

export const CliListDeliveries = graphql(`
  query CliListDeliveries($filter: DeliveryFilter, $first: Int, $after: String) {
    deliveries(filter: $filter, first: $first, after: $after) {
      edges { node { id status eventType attemptCount lastResponseStatus lastError createdAt endpoint { id } } }
      pageInfo { hasNextPage endCursor }
    }
  }
`);

export const CliReplay = graphql(`
  mutation CliReplay($id: ID!) { replayDelivery(id: $id) { id status replayOf { id } } }
`);

export const CliBulkReplay = graphql(`
  mutation CliBulkReplay($input: BulkReplayDeliveriesInput!) {
    bulkReplayDeliveries(input: $input) { enqueued capped dryRun totalMatching nextCreatedAfter nextAfterDeliveryId }
  }
`);

export const CliListApiKeys = graphql(`
  query CliListApiKeys($first: Int, $after: String) {
    apiKeys(first: $first, after: $after) {
      edges { node { id name prefix createdAt lastUsedAt revokedAt } }
      pageInfo { hasNextPage endCursor }
    }
  }
`);

export const CliCreateApiKey = graphql(`
  mutation CliCreateApiKey($name: String!) {
    createApiKey(name: $name) { key apiKey { id name prefix createdAt } }
  }
`);

export const CliRevokeApiKey = graphql(`
  mutation CliRevokeApiKey($id: ID!) { revokeApiKey(id: $id) { id name prefix revokedAt } }
`);
