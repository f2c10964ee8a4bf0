// API keys of the caller's tenant: list, mint (the key is shown once), revoke. The key and its
// hash are never readable; a key is told apart by its name and prefix.
import { mintApiKey, revokeApiKey } from '../auth/apiKeys.js';
import { optionalText } from '../domain/validate.js';
import { invalid, notFound } from '../errors.js';
import { builder } from './builder.js';
import { tenantId } from './context.js';
import { parseId } from './ids.js';

const ApiKeyRef = builder.prismaObject('ApiKey', {
  fields: (t) => ({
    id: t.exposeID('id'),
    name: t.exposeString('name'),
    prefix: t.exposeString('prefix', { description: 'The first characters of the key.' }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    lastUsedAt: t.expose('lastUsedAt', { type: 'DateTime', nullable: true, description: 'Last authenticated use, to the minute.' }),
    revokedAt: t.expose('revokedAt', { type: 'DateTime', nullable: true }),
  }),
});

const ApiKeyConnection = builder.connectionObject({ type: ApiKeyRef, name: 'ApiKeyConnection' }, { name: 'ApiKeyEdge' });

interface Created {
  apiKeyId: string;
  key: string;
}

const CreateApiKeyPayload = builder.objectRef<Created>('CreateApiKeyPayload').implement({
  fields: (t) => ({
    apiKey: t.prismaField({
      type: 'ApiKey',
      resolve: (query, parent, _args, ctx) => ctx.services.db.apiKey.findUniqueOrThrow({ ...query, where: { id: parent.apiKeyId } }),
    }),
    key: t.exposeString('key', { description: 'The key (hy_…). Shown only here.' }),
  }),
});

builder.queryFields((t) => ({
  apiKeys: t.prismaConnection({
    type: 'ApiKey',
    cursor: 'id',
    description: "The tenant's API keys, revoked ones included, newest first.",
    resolve: (query, _root, _args, ctx) =>
      ctx.services.db.apiKey.findMany({ ...query, where: { tenantId: tenantId(ctx) }, orderBy: [{ createdAt: 'desc' }, { id: 'desc' }] }),
  }, ApiKeyConnection),
}));

builder.mutationFields((t) => ({
  createApiKey: t.field({
    type: CreateApiKeyPayload,
    args: { name: t.arg.string({ required: true }) },
    resolve: async (_root, args, ctx) => {
      const tenant = tenantId(ctx);
      const name = optionalText(args.name.trim(), 'name', 100);
      if (!name) throw invalid('name', 'name must not be empty');
      if (/[\u0000-\u001f\u007f]/.test(name)) throw invalid('name', 'name must not contain control characters');
      const { key, id } = await mintApiKey(ctx.services.db, tenant, name);
      return { apiKeyId: id, key };
    },
  }),
  revokeApiKey: t.prismaField({
    type: 'ApiKey',
    description: 'Refused at once on this instance and, with Redis, on every instance; without Redis other instances may accept it for up to 5 s.',
    args: { id: t.arg.id({ required: true }) },
    resolve: async (query, _root, args, ctx) => {
      const tenant = tenantId(ctx);
      const id = parseId('apiKey', args.id);
      const row = await revokeApiKey(ctx.services.db, ctx.services.pubsub, tenant, id);
      if (!row) throw notFound('API key', id);
      return ctx.services.db.apiKey.findUniqueOrThrow({ ...query, where: { id } });
    },
  }),
}));
