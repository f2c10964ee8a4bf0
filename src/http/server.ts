// The HTTP front every instance runs: /health, /ready and /metrics, and x-request-id on every
// response. An instance that serves the API hands everything else to its routes (api.ts: GraphQL
// over HTTP and WebSocket, GraphiQL, the dashboard, REST); a dispatcher-only one answers 404.
import { createHash, randomUUID, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Services } from '../services.js';

/** The API's part of the server (api.ts), absent on a dispatcher-only instance. */
export interface ApiRoutes {
  /** Answers the request when it is the API's; false leaves it to the server (404). */
  handle(req: IncomingMessage, res: ServerResponse, requestId: string, path: string): boolean;
  /** Starts graphql-ws on the server; returns what closes its sockets at shutdown. */
  attach(server: Server): () => void;
}

export interface HttpDeps {
  api: ApiRoutes | undefined;
  services: Services;
  /** Throws when the instance cannot serve (database unreachable). */
  checkReady(): Promise<void>;
}

const REQUEST_ID = /^[A-Za-z0-9._:-]{8,128}$/;

function requestIdOf(req: IncomingMessage): string {
  const incoming = req.headers['x-request-id'];
  return typeof incoming === 'string' && REQUEST_ID.test(incoming) ? incoming : randomUUID();
}

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

// Compared as hashes so neither the length nor a prefix of the token leaks through timing.
function tokenMatches(header: string | undefined, token: string): boolean {
  const given = /^Bearer (.+)$/.exec(header ?? '')?.[1] ?? '';
  const digest = (s: string) => createHash('sha256').update(s).digest();
  return timingSafeEqual(digest(given), digest(token));
}

function serveMetrics(req: IncomingMessage, res: ServerResponse, services: Services, requestId: string): void {
  const token = services.config.metricsToken;
  if (token && !tokenMatches(req.headers.authorization, token)) {
    res.setHeader('www-authenticate', 'Bearer realm="metrics"');
    return sendJson(res, 401, { error: 'a metrics token is required (Authorization: Bearer <HOOKYARD_METRICS_TOKEN>)', requestId });
  }
  services.metrics.render().then(
    ({ contentType, body }) => {
      res.writeHead(200, { 'content-type': contentType, 'cache-control': 'no-store' });
      res.end(body);
    },
    (err: unknown) => {
      services.logger.warn({ err, requestId }, 'metrics collection failed');
      sendJson(res, 503, { error: 'metrics unavailable', requestId });
    },
  );
}

export function createHttpServer({ api, services, checkReady }: HttpDeps): { server: Server; closeWebSockets(): void } {
  const server = createServer((req, res) => {
    const requestId = requestIdOf(req);
    res.setHeader('x-request-id', requestId);
    const path = (req.url ?? '/').split('?')[0]!;
    if (path === '/health' && req.method === 'GET') return sendJson(res, 200, { status: 'ok' });
    if (path === '/ready' && req.method === 'GET') {
      checkReady().then(
        () => sendJson(res, 200, { status: 'ready' }),
        (err: unknown) => {
          services.logger.warn({ err, requestId }, 'readiness check failed');
          sendJson(res, 503, { status: 'unavailable' });
        },
      );
      return;
    }
    if (path === '/metrics' && req.method === 'GET') return serveMetrics(req, res, services, requestId);
    if (api?.handle(req, res, requestId, path)) return;
    sendJson(res, 404, { error: 'not found', requestId });
  });
  const closeWebSockets = api ? api.attach(server) : () => {};
  return { server, closeWebSockets };
}
