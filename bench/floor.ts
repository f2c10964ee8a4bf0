// The floor `npm run bench` measures sendEvent against: a bare graphql-yoga server whose one
// mutation stores an event and one delivery per endpoint (FLOOR_ENDPOINTS, comma-separated) in one
// `pg` statement, with no auth, limits, Prisma or logging. Same tables, same database, same load
// generator as Hookyard in the same run, so the ratio between the two is what Hookyard's own layers cost.
// Prints {"port":N} when ready.
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { GraphQLScalarType } from 'graphql';
import { createSchema, createYoga } from 'graphql-yoga';
import pg from 'pg';

const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL, max: 10 });
const tenantId = process.env.FLOOR_TENANT_ID!;
const endpointIds = (process.env.FLOOR_ENDPOINTS ?? '').split(',').filter(Boolean);
const id = (prefix: string) => `${prefix}_${randomBytes(13).toString('hex').slice(0, 26)}`;

const yoga = createYoga({
  logging: false,
  landingPage: false,
  graphiql: false,
  schema: createSchema({
    typeDefs: /* GraphQL */ `
      scalar JSON
      input SendEventInput { eventType: String!, payload: JSON!, idempotencyKey: String }
      type Event { id: ID!, eventType: String! }
      type SendEventPayload { event: Event!, deliveriesCreated: Int! }
      type Query { ok: Boolean }
      type Mutation { sendEvent(input: SendEventInput!): SendEventPayload! }
    `,
    resolvers: {
      JSON: new GraphQLScalarType({ name: 'JSON' }),
      Mutation: {
        async sendEvent(_: unknown, { input }: { input: { eventType: string; payload: unknown; idempotencyKey?: string } }) {
          const eventId = id('evt');
          const { rows } = await pool.query(
            `WITH ev AS (
               INSERT INTO "Event" (id, "tenantId", "eventType", payload, "idempotencyKey")
               VALUES ($1, $2, $3, $4::jsonb, $5) RETURNING id, "eventType"
             ), dl AS (
               INSERT INTO "Delivery" (id, "tenantId", "endpointId", "eventId", "eventType", trigger, "nextAttemptAt")
               SELECT t.id, $2, t.endpoint_id, ev.id, $3, 'event', now() FROM ev CROSS JOIN unnest($6::text[], $7::text[]) AS t(id, endpoint_id)
               RETURNING id
             )
             SELECT (SELECT id FROM ev) AS id, (SELECT "eventType" FROM ev) AS "eventType", (SELECT count(*) FROM dl)::int AS created`,
            [eventId, tenantId, input.eventType, JSON.stringify(input.payload), input.idempotencyKey ?? null, endpointIds.map(() => id('dlv')), endpointIds],
          );
          return { event: { id: rows[0].id, eventType: rows[0].eventType }, deliveriesCreated: rows[0].created };
        },
      },
    },
  }),
});

const server = createServer(yoga);
server.listen(0, '127.0.0.1', () => console.log(JSON.stringify({ port: (server.address() as AddressInfo).port })));
process.on('SIGTERM', () => {
  server.close();
  void pool.end().then(() => process.exit(0));
});
