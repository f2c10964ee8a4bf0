import { readFileSync } from 'node:fs';
import { type GraphQLObjectType, printSchema } from 'graphql';
import { describe, expect, it } from 'vitest';
import { pendingMigrationSql } from '../../scripts/schema-engine.js';
import { schema } from '../../src/graphql/schema.js';

describe('committed artefacts', () => {
  it('schema.graphql is the printed Pothos schema (run `npm run schema:print`)', () => {
    const committed = readFileSync(new URL('../../schema.graphql', import.meta.url), 'utf8');
    expect(committed).toBe(`${printSchema(schema)}\n`);
  });

  it('prisma/migrations produce exactly schema.prisma (run `npm run migration:new -- <name>`)', async () => {
    // Prisma's schema engine replays the migrations on a shadow PGlite and diffs against the schema.
    expect(await pendingMigrationSql(process.cwd())).toBe('');
  }, 60_000);

  it('keeps the contract names and types of the SPEC', () => {
    const signature = (typeName: 'Query' | 'Mutation' | 'Subscription', field: string) => {
      const f = schema.getType(typeName) && (schema.getType(typeName) as GraphQLObjectType).getFields()[field];
      if (!f) return `${typeName}.${field} missing`;
      const args = f.args.map((a) => `${a.name}: ${String(a.type)}`).sort().join(', ');
      return `${field}(${args}): ${String(f.type)}`;
    };
    expect(signature('Query', 'node')).toBe('node(id: ID!): Node');
    expect(signature('Query', 'delivery')).toBe('delivery(id: ID!): Delivery');
    expect(signature('Query', 'deliveries')).toBe(
      'deliveries(after: String, before: String, filter: DeliveryFilter, first: Int, last: Int): DeliveryConnection!',
    );
    expect(signature('Query', 'endpoint')).toBe('endpoint(id: ID!): Endpoint');
    expect(signature('Query', 'endpoints')).toMatch(/^endpoints\(after: String, .*first: Int.*\): EndpointConnection!$/);
    expect(signature('Query', 'event')).toBe('event(id: ID!): Event');
    expect(signature('Query', 'events')).toMatch(/^events\(after: String, .*filter: EventFilter, first: Int.*\): EventConnection!$/);
    expect(signature('Mutation', 'createEndpoint')).toBe('createEndpoint(input: CreateEndpointInput!): CreateEndpointPayload!');
    expect(signature('Mutation', 'updateEndpoint')).toBe('updateEndpoint(id: ID!, input: UpdateEndpointInput!): Endpoint!');
    expect(signature('Mutation', 'deleteEndpoint')).toBe('deleteEndpoint(id: ID!): ID!');
    expect(signature('Mutation', 'disableEndpoint')).toBe('disableEndpoint(id: ID!, reason: String): Endpoint!');
    expect(signature('Mutation', 'enableEndpoint')).toBe('enableEndpoint(id: ID!): Endpoint!');
    expect(signature('Mutation', 'rotateEndpointSecret')).toBe('rotateEndpointSecret(graceSeconds: Int, id: ID!): RotateEndpointSecretPayload!');
    expect(signature('Mutation', 'sendEvent')).toBe('sendEvent(input: SendEventInput!): SendEventPayload!');
    expect(signature('Subscription', 'deliveryStatusChanged')).toBe(
      'deliveryStatusChanged(deliveryId: ID, endpointId: ID, eventId: ID, statuses: [DeliveryStatus!]): DeliveryStatusChange!',
    );
  });
});
