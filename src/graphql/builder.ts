// The Pothos builder and its plugins; no domain types live here (see the type files beside it).
import SchemaBuilder from '@pothos/core';
import PrismaPlugin from '@pothos/plugin-prisma';
import RelayPlugin from '@pothos/plugin-relay';
import { DateTimeResolver, JSONResolver } from 'graphql-scalars';
import type PrismaTypes from '../generated/pothos-types.js';
import { getDatamodel } from '../generated/pothos-types.js';
import { kindOfId } from '../ids.js';
import { invalid, notFound } from '../errors.js';
import { type Context, tenantId } from './context.js';

// Ids are already opaque and prefixed (evt_…, dlv_…): they serve as global ids unchanged, and the
// prefix tells the type.
const TYPE_OF_KIND: Record<string, string> = { endpoint: 'Endpoint', event: 'Event', delivery: 'Delivery' };

export const builder = new SchemaBuilder<{
  Context: Context;
  PrismaTypes: PrismaTypes;
  DefaultFieldNullability: false;
  Scalars: {
    DateTime: { Input: Date; Output: Date };
    JSON: { Input: unknown; Output: unknown };
    ID: { Input: string; Output: string };
  };
}>({
  plugins: [RelayPlugin, PrismaPlugin],
  defaultFieldNullability: false,
  prisma: {
    // Per request: each app's context carries its own database.
    client: (ctx) => ctx.services.db,
    dmmf: getDatamodel(),
    filterConnectionTotalCount: true,
    maxConnectionSize: 100,
    defaultConnectionSize: 20,
    onUnusedQuery: null,
  },
  relay: {
    clientMutationId: 'omit',
    cursorType: 'String',
    encodeGlobalID: (_typename, id) => String(id),
    decodeGlobalID: (globalID) => {
      const kind = kindOfId(globalID);
      return { typename: (kind && TYPE_OF_KIND[kind]) ?? 'Unknown', id: globalID };
    },
    nodesQueryOptions: false,
    nodeQueryOptions: {
      // Unknown, malformed and other tenants' ids all read as NOT_FOUND, like the typed lookups.
      resolve: async (_root, { id }, ctx, _info, resolveNode) => {
        tenantId(ctx);
        if (id.typename === 'Unknown') throw invalid('id', `${JSON.stringify(id.id.slice(0, 64))} is not a Hookyard id`);
        // Pothos loads prisma nodes with findUniqueOrThrow; the tenant filter makes others' ids miss.
        const node = await Promise.resolve(resolveNode(id)).catch((err: unknown) => {
          if ((err as { code?: string }).code === 'P2025') return null;
          throw err;
        });
        if (!node) throw notFound('node', id.id);
        return node;
      },
    },
  },
});

builder.addScalarType('DateTime', DateTimeResolver);
builder.addScalarType('JSON', JSONResolver);
builder.queryType({});
builder.mutationType({});
builder.subscriptionType({});
