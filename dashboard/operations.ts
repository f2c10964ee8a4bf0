// The dashboard's GraphQL operations (typed by codegen.ts).
import { graphql } from '../src/generated/gql/gql.js';

export const DashEndpoints = graphql(`
  query DashEndpoints {
    endpoints(first: 100) {
      edges {
        node {
          id url description status disabledReason eventTypes headers rateLimitPerSecond fifo createdAt
          deliveryStats { pending sending delivered failed failureRate }
        }
      }
    }
  }
`);

export const DashCreateEndpoint = graphql(`
  mutation DashCreateEndpoint($input: CreateEndpointInput!) {
    createEndpoint(input: $input) { secret endpoint { id } }
  }
`);

export const DashUpdateEndpoint = graphql(`
  mutation DashUpdateEndpoint($id: ID!, $input: UpdateEndpointInput!) {
    updateEndpoint(id: $id, input: $input) { id }
  }
`);

export const DashDeleteEndpoint = graphql(`
  mutation DashDeleteEndpoint($id: ID!) { deleteEndpoint(id: $id) }
`);

export const DashDisable = graphql(`
  mutation DashDisable($id: ID!, $reason: String) { disableEndpoint(id: $id, reason: $reason) { id status disabledReason } }
`);

export const DashEnable = graphql(`
  mutation DashEnable($id: ID!) { enableEndpoint(id: $id) { id status disabledReason } }
`);

export const DashRotateSecret = graphql(`
  mutation DashRotateSecret($id: ID!, $graceSeconds: Int) {
    rotateEndpointSecret(id: $id, graceSeconds: $graceSeconds) { secret endpoint { id } }
  }
`);

export const DashTestFire = graphql(`
  mutation DashTestFire($id: ID!, $eventType: String!) { testFireEndpoint(id: $id, eventType: $eventType) { id status } }
`);

export const DashDeliveries = graphql(`
  query DashDeliveries($filter: DeliveryFilter, $first: Int, $after: String, $last: Int, $before: String) {
    deliveries(filter: $filter, first: $first, after: $after, last: $last, before: $before) {
      edges { node { id status eventType attemptCount lastResponseStatus lastError createdAt trigger endpoint { id } supersededBy { id } } }
      pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    }
  }
`);

export const DashDelivery = graphql(`
  query DashDelivery($id: ID!) {
    delivery(id: $id) {
      id status eventType trigger attemptCount nextAttemptAt deliveredAt lastError lastResponseStatus createdAt
      endpoint { id url status headers }
      event { id payload test createdAt }
      replayOf { id status createdAt }
      replays { id status createdAt }
      attempts { id attemptNumber trigger startedAt durationMs responseStatus responseBody error }
    }
  }
`);

export const DashReplay = graphql(`
  mutation DashReplay($id: ID!) { replayDelivery(id: $id) { id status } }
`);

export const DashBulkReplay = graphql(`
  mutation DashBulkReplay($input: BulkReplayDeliveriesInput!) {
    bulkReplayDeliveries(input: $input) { enqueued capped dryRun totalMatching }
  }
`);

export const DashLive = graphql(`
  subscription DashLive($endpointId: ID) {
    deliveryStatusChanged(endpointId: $endpointId) {
      status previousStatus endpointId
      delivery { id status eventType attemptCount lastResponseStatus lastError createdAt trigger endpoint { id } }
    }
  }
`);

export const DashStats = graphql(`
  query DashStats($endpointId: ID, $since: DateTime!, $bucketSeconds: Int!) {
    deliveryStats(endpointId: $endpointId, since: $since, bucketSeconds: $bucketSeconds) { start delivered failed pending }
  }
`);
