// The GraphQL operations the bench sends (typed by codegen.ts into src/generated/gql), declared once
// for bench/run.ts, bench/fairness.ts, bench/soak.ts, bench/memory.ts, bench/subscriptions.ts and bench/subClients.ts.
// bench/floor.ts (the bare Yoga + pg peer) answers BenchSendEvent too: its schema has the same
// mutation, so both servers of the sendEvent ratio get the very same request.
import { graphql } from '../src/generated/gql/gql.js';

export const BenchCreateEndpoint = graphql(`
  mutation BenchCreateEndpoint($input: CreateEndpointInput!) {
    createEndpoint(input: $input) { endpoint { id } }
  }
`);

export const BenchSendEvent = graphql(`
  mutation BenchSendEvent($input: SendEventInput!) {
    sendEvent(input: $input) { event { id eventType } deliveriesCreated }
  }
`);

export const BenchSendEventId = graphql(`
  mutation BenchSendEventId($input: SendEventInput!) {
    sendEvent(input: $input) { event { id } }
  }
`);

export const BenchSendEventCount = graphql(`
  mutation BenchSendEventCount($input: SendEventInput!) {
    sendEvent(input: $input) { deliveriesCreated }
  }
`);

export const BenchSendEvents = graphql(`
  mutation BenchSendEvents($inputs: [SendEventInput!]!) {
    sendEvents(inputs: $inputs) { results { deliveriesCreated error { code } } }
  }
`);

export const BenchDeliveryIds = graphql(`
  query BenchDeliveryIds($filter: DeliveryFilter) {
    deliveries(filter: $filter, first: 50) { edges { node { id } } }
  }
`);

export const BenchDeliveries = graphql(`
  query BenchDeliveries($filter: DeliveryFilter) {
    deliveries(filter: $filter, first: 50) { edges { node { id status eventType createdAt } } pageInfo { endCursor hasNextPage } }
  }
`);

export const BenchBulkReplay = graphql(`
  mutation BenchBulkReplay($input: BulkReplayDeliveriesInput!) {
    bulkReplayDeliveries(input: $input) { enqueued capped }
  }
`);

export const BenchEndpointStatus = graphql(`
  subscription BenchEndpointStatus($endpointId: ID!) {
    deliveryStatusChanged(endpointId: $endpointId) { occurredAt status delivery { id status attemptCount } }
  }
`);

export const BenchFinalStatuses = graphql(`
  subscription BenchFinalStatuses {
    deliveryStatusChanged(statuses: [DELIVERED, FAILED]) { deliveryId status }
  }
`);
