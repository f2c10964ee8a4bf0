// The dashboard's GraphQL operations (typed by codegen.ts).
import { graphql } from '../src/generated/gql/gql.js';

export const DashEndpoints = graphql(`
  query DashEndpoints {
    endpoints(first: 100) {
      edges { node { id url description status disabledReason eventTypes deliveryStats { pending delivered failed failureRate } } }
    }
  }
`);

export const DashSetEnabled = graphql(`
  mutation DashDisable($id: ID!) { disableEndpoint(id: $id, reason: "disabled from the dashboard") { id status disabledReason } }
`);

export const DashEnable = graphql(`
  mutation DashEnable($id: ID!) { enableEndpoint(id: $id) { id status disabledReason } }
`);

export const DashDeliveries = graphql(`
  query DashDeliveries($filter: DeliveryFilter, $first: Int, $after: String, $last: Int, $before: String) {
    deliveries(filter: $filter, first: $first, after: $after, last: $last, before: $before) {
      edges { node { id status eventType attemptCount lastResponseStatus lastError createdAt trigger supersededBy { id } } }
      pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    }
  }
`);

export const DashDelivery = graphql(`
  query DashDelivery($id: ID!) {
    delivery(id: $id) {
      id status eventType trigger attemptCount nextAttemptAt deliveredAt lastError createdAt
      endpoint { id url status }
      event { id payload test createdAt }
      replayOf { id status }
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

export const DashLive = `
  subscription DashLive($endpointId: ID) {
    deliveryStatusChanged(endpointId: $endpointId) {
      status previousStatus
      delivery { id status eventType attemptCount lastResponseStatus lastError createdAt trigger }
    }
  }
`;
