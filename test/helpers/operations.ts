// The typed operations the tests use (codegen.ts generates their types into src/generated/gql).
import { graphql } from '../../src/generated/gql/gql.js';
import type { OnDeliveryStatusSubscription } from '../../src/generated/gql/graphql.js';

export const EndpointFields = graphql(`
  fragment EndpointFields on Endpoint {
    id
    url
    description
    eventTypes
    status
    disabledReason
    failingSince
    headers
    rateLimitPerSecond
    fifo
    createdAt
    updatedAt
  }
`);

export const CreateEndpoint = graphql(`
  mutation CreateEndpoint($input: CreateEndpointInput!) {
    createEndpoint(input: $input) {
      secret
      endpoint { ...EndpointFields }
    }
  }
`);

export const UpdateEndpoint = graphql(`
  mutation UpdateEndpoint($id: ID!, $input: UpdateEndpointInput!) {
    updateEndpoint(id: $id, input: $input) { ...EndpointFields }
  }
`);

export const DeleteEndpoint = graphql(`
  mutation DeleteEndpoint($id: ID!) { deleteEndpoint(id: $id) }
`);

export const DisableEndpoint = graphql(`
  mutation DisableEndpoint($id: ID!, $reason: String) {
    disableEndpoint(id: $id, reason: $reason) { id status disabledReason }
  }
`);

export const EnableEndpoint = graphql(`
  mutation EnableEndpoint($id: ID!) { enableEndpoint(id: $id) { id status disabledReason } }
`);

export const RotateSecret = graphql(`
  mutation RotateSecret($id: ID!, $graceSeconds: Int) {
    rotateEndpointSecret(id: $id, graceSeconds: $graceSeconds) { secret endpoint { id } }
  }
`);

export const GetEndpoint = graphql(`
  query GetEndpoint($id: ID!) { endpoint(id: $id) { ...EndpointFields } }
`);

export const ListEndpoints = graphql(`
  query ListEndpoints($first: Int, $after: String) {
    endpoints(first: $first, after: $after) {
      edges { cursor node { id url status } }
      pageInfo { hasNextPage endCursor }
    }
  }
`);

export const SendEvent = graphql(`
  mutation SendEvent($input: SendEventInput!) {
    sendEvent(input: $input) {
      deliveriesCreated
      duplicate
      event { id eventType payload idempotencyKey test createdAt }
    }
  }
`);

export const SendEvents = graphql(`
  mutation SendEvents($inputs: [SendEventInput!]!) {
    sendEvents(inputs: $inputs) {
      results {
        index
        deliveriesCreated
        duplicate
        event { id eventType payload idempotencyKey }
        error { code message param }
      }
    }
  }
`);

export const GetEvent = graphql(`
  query GetEvent($id: ID!) {
    event(id: $id) {
      id eventType payload
      deliveries(first: 100) { edges { node { id status endpoint { id } } } }
    }
  }
`);

export const ListEvents = graphql(`
  query ListEvents($filter: EventFilter, $first: Int, $after: String) {
    events(filter: $filter, first: $first, after: $after) {
      edges { node { id eventType } }
      pageInfo { hasNextPage endCursor }
    }
  }
`);

export const DeliveryFields = graphql(`
  fragment DeliveryFields on Delivery {
    id
    status
    trigger
    eventType
    attemptCount
    nextAttemptAt
    lastAttemptAt
    deliveredAt
    lastResponseStatus
    lastError
    createdAt
    endpoint { id }
    event { id }
    replayOf { id }
    attempts { id attemptNumber trigger startedAt durationMs responseStatus responseBody error }
  }
`);

export const GetDelivery = graphql(`
  query GetDelivery($id: ID!) { delivery(id: $id) { ...DeliveryFields } }
`);

export const ListDeliveries = graphql(`
  query ListDeliveries($filter: DeliveryFilter, $first: Int, $after: String, $last: Int, $before: String) {
    deliveries(filter: $filter, first: $first, after: $after, last: $last, before: $before) {
      edges { cursor node { id status eventType createdAt endpoint { id } event { id } } }
      pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    }
  }
`);

export const GetNode = graphql(`
  query GetNode($id: ID!) {
    node(id: $id) {
      id
      __typename
      ... on Delivery { status }
      ... on Endpoint { url }
      ... on Event { eventType }
    }
  }
`);

export const OnDeliveryStatus = graphql(`
  subscription OnDeliveryStatus($endpointId: ID, $deliveryId: ID, $eventId: ID, $statuses: [DeliveryStatus!]) {
    deliveryStatusChanged(endpointId: $endpointId, deliveryId: $deliveryId, eventId: $eventId, statuses: $statuses) {
      previousStatus
      status
      occurredAt
      delivery { id status attemptCount endpoint { id } }
      attempt { attemptNumber responseStatus error }
    }
  }
`);

export type StatusChange = OnDeliveryStatusSubscription;

export const OnEndpointHealth = `
  subscription OnEndpointHealth($endpointId: ID, $types: [String!]) {
    endpointHealthChanged(endpointId: $endpointId, types: $types) {
      type
      endpointId
      reason
      data
      eventId
      occurredAt
      endpoint { id status }
    }
  }
`;

export interface HealthChange {
  endpointHealthChanged: {
    type: string;
    endpointId: string;
    reason: string;
    data: Record<string, unknown>;
    eventId: string | null;
    occurredAt: string;
    endpoint: { id: string; status: string };
  };
}

export const ReplayDelivery = graphql(`
  mutation ReplayDelivery($id: ID!) {
    replayDelivery(id: $id) { id status trigger replayOf { id } event { id } endpoint { id } attemptCount }
  }
`);

export const BulkReplay = graphql(`
  mutation BulkReplay($input: BulkReplayDeliveriesInput!) {
    bulkReplayDeliveries(input: $input) { enqueued capped dryRun totalMatching nextCreatedAfter nextAfterDeliveryId }
  }
`);

export const TestFire = graphql(`
  mutation TestFire($id: ID!, $eventType: String!) {
    testFireEndpoint(id: $id, eventType: $eventType) { id status trigger event { id test payload eventType } }
  }
`);

export const DeliveryReplays = graphql(`
  query DeliveryReplays($id: ID!) {
    delivery(id: $id) { id status attemptCount replays { id status replayOf { id } } }
  }
`);

export const DeliveryLists = graphql(`
  query DeliveryLists($id: ID!, $attempts: Int, $replays: Int) {
    delivery(id: $id) { id attempts(first: $attempts) { attemptNumber } replays(first: $replays) { id } }
  }
`);

export const ApiKeyFields = graphql(`
  fragment ApiKeyFields on ApiKey { id name prefix createdAt lastUsedAt revokedAt }
`);

export const ListApiKeys = graphql(`
  query ListApiKeys($first: Int, $after: String) {
    apiKeys(first: $first, after: $after) {
      edges { cursor node { ...ApiKeyFields } }
      pageInfo { hasNextPage endCursor }
    }
  }
`);

export const CreateApiKey = graphql(`
  mutation CreateApiKey($name: String!) {
    createApiKey(name: $name) { key apiKey { ...ApiKeyFields } }
  }
`);

export const RevokeApiKey = graphql(`
  mutation RevokeApiKey($id: ID!) { revokeApiKey(id: $id) { ...ApiKeyFields } }
`);
