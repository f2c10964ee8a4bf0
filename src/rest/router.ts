// The seeds' REST APIs on Hookyard's port: thin adapters over the domain functions GraphQL uses
// (src/domain/replay.ts, the same Prisma reads), each rendering errors in its seed's envelope.
import type { IncomingMessage, ServerResponse } from 'node:http';
import FindMyWay from 'find-my-way';
import { authenticate } from '../auth/apiKeys.js';
import { HookyardError, notFound } from '../errors.js';
import type { Services } from '../services.js';
import { endpointWebhooksShape } from './endpointWebhooks.js';
import { fastapiDeliveriesShape } from './fastapiDeliveries.js';
import { type RestResult, type Route, type Shape, toFailure } from './http.js';
import { openApiDocument } from './openapi.js';
import { webhookDeliveriesShape } from './webhookDeliveries.js';

export interface RestApi {
  /** Whether the path belongs to one of the REST APIs (which then answers even its 404s). */
  handles(req: IncomingMessage): boolean;
  handle(req: IncomingMessage, res: ServerResponse, requestId: string): void;
}

// Longest prefix first: `/v1/webhook_deliveries` also starts with `/v1/webhook`.
const PREFIXES: [string, Shape][] = [
  ['/v1/webhook_deliveries', webhookDeliveriesShape],
  ['/v1/webhooks/', fastapiDeliveriesShape],
  ['/api/v1/webhooks/', endpointWebhooksShape],
];

const SHAPES: Shape[] = [webhookDeliveriesShape, fastapiDeliveriesShape, endpointWebhooksShape];

/** Every REST route, for the test that holds the OpenAPI document to what is served. */
export const restRoutes = (): Route[] => SHAPES.flatMap((s) => s.routes);

const pathOf = (req: IncomingMessage) => (req.url ?? '/').split('?')[0]!;

function send(res: ServerResponse, result: RestResult, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(result.body);
  res.writeHead(result.status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

export function createRestApi(services: Services): RestApi {
  const router = FindMyWay({ ignoreTrailingSlash: true });
  const documentText = JSON.stringify(openApiDocument);
  for (const shape of SHAPES) {
    for (const route of shape.routes) router.on(route.method, route.path, () => {}, { shape, route });
  }

  async function run(req: IncomingMessage, res: ServerResponse, requestId: string, shape: Shape, route: Route | undefined, params: Record<string, string>) {
    try {
      if (!route) throw notFound('route', `${req.method} ${pathOf(req)}`, 'path');
      const auth = await authenticate(services.db, shape.apiKey(req));
      if (!auth) throw new HookyardError('UNAUTHENTICATED', 'an API key is required (Authorization: Bearer <key>)');
      const query = new URLSearchParams((req.url ?? '').split('?')[1] ?? '');
      send(res, await route.run({ req, requestId, params, query, auth, services }));
    } catch (err) {
      const failure = toFailure(err, services.logger, requestId, route?.path ?? 'unknown', route?.rename);
      const headers: Record<string, string> = failure.retryAfterSeconds !== undefined ? { 'retry-after': String(failure.retryAfterSeconds) } : {};
      // An unread body of a refused request would otherwise hold the connection.
      if (failure.code === 'PAYLOAD_TOO_LARGE') headers.connection = 'close';
      if (!res.headersSent) send(res, shape.render(failure, { requestId, params }), headers);
    }
  }

  return {
    handles(req) {
      const path = pathOf(req);
      return path === '/openapi.json' || PREFIXES.some(([prefix]) => path.startsWith(prefix));
    },
    handle(req, res, requestId) {
      const path = pathOf(req);
      if (path === '/openapi.json') {
        if (req.method !== 'GET') return send(res, { status: 405, body: { error: 'use GET' } }, { allow: 'GET' });
        res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-cache' });
        return void res.end(documentText);
      }
      const found = router.find(req.method as 'GET', path);
      const store = found?.store as { shape: Shape; route: Route } | undefined;
      const shape = store?.shape ?? PREFIXES.find(([prefix]) => path.startsWith(prefix))![1];
      void run(req, res, requestId, shape, store?.route, (found?.params ?? {}) as Record<string, string>);
    },
  };
}
