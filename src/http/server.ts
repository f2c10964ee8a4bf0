// The HTTP and WebSocket front: /graphql (Yoga over HTTP, graphql-ws over WebSocket on the same
// path), GraphiQL inlined for offline use, /health and /ready. Every response has x-request-id.
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { gzipSync } from 'node:zlib';
import { renderGraphiQL } from '@graphql-yoga/render-graphiql';
import { parse, type ExecutionArgs } from 'graphql';
import { useServer } from 'graphql-ws/use/ws';
import { WebSocketServer } from 'ws';
import { authenticate } from '../auth/apiKeys.js';
import type { Auth } from '../graphql/context.js';
import { type HookyardYoga, stampErrors } from '../graphql/yoga.js';
import type { Services } from '../services.js';
import { authenticateSession } from '../auth/sessions.js';
import { DASHBOARD_CSP, graphiqlCsp } from './csp.js';
import { dashboardAsset } from './dashboard.js';
import { handleSession } from './session.js';

export interface HttpDeps {
  /** Absent for a dispatcher-only instance: then only /health and /ready are served. */
  yoga: HookyardYoga | undefined;
  services: Services;
  /** Throws when the instance cannot serve (database unreachable). */
  checkReady(): Promise<void>;
}

const REQUEST_ID = /^[A-Za-z0-9._:-]{8,128}$/;

function requestIdOf(req: IncomingMessage): string {
  const incoming = req.headers['x-request-id'];
  return typeof incoming === 'string' && REQUEST_ID.test(incoming) ? incoming : randomUUID();
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

let graphiqlPage: { plain: Buffer; gzip: Buffer; csp: string } | undefined;
function graphiql(): { plain: Buffer; gzip: Buffer; csp: string } {
  if (!graphiqlPage) {
    const html = renderGraphiQL({
      title: 'Hookyard GraphiQL',
      endpoint: '/graphql',
      subscriptionsProtocol: 'WS',
      headers: JSON.stringify({ Authorization: 'Bearer <your API key>' }, null, 2),
      defaultQuery: '# Set your API key in the Headers tab below, then:\nquery Endpoints {\n  endpoints(first: 10) {\n    edges { node { id url status } }\n  }\n}\n',
    });
    const plain = Buffer.from(html);
    graphiqlPage = { plain, gzip: gzipSync(plain), csp: graphiqlCsp(html) };
  }
  return graphiqlPage;
}

/** The dashboard's session cookie on a socket opened by a page of this very server (no cross-site socket rides on it). */
function sessionOfSameOrigin(req: IncomingMessage): Promise<Auth | null> {
  const origin = req.headers.origin;
  if (origin && origin.replace(/^https?:\/\//, '') !== req.headers.host) return Promise.resolve(null);
  return authenticateSession(req.headers.cookie);
}

export function createHttpServer({ yoga, services, checkReady }: HttpDeps): { server: Server; closeWebSockets(): void } {
  // A JSON body can be larger than the payload it carries (escaping, other fields).
  const maxBodyBytes = services.config.maxPayloadBytes * 2 + 64 * 1024;

  const server = createServer((req, res) => {
    const requestId = requestIdOf(req);
    res.setHeader('x-request-id', requestId);
    const path = (req.url ?? '/').split('?')[0];
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
    if (path === '/graphql' && yoga) {
      if (req.method === 'GET' && (req.headers.accept ?? '').includes('text/html')) {
        const page = graphiql();
        const gzip = /\bgzip\b/.test(String(req.headers['accept-encoding'] ?? ''));
        res.writeHead(200, {
          'content-type': 'text/html; charset=utf-8',
          'cache-control': 'public, max-age=3600',
          'content-security-policy': page.csp,
          ...(gzip ? { 'content-encoding': 'gzip' } : {}),
        });
        return res.end(gzip ? page.gzip : page.plain);
      }
      const length = Number(req.headers['content-length'] ?? 0);
      if (length > maxBodyBytes) {
        res.setHeader('connection', 'close');
        return sendJson(res, 413, {
          errors: [{ message: `request body is ${length} bytes; the limit is ${maxBodyBytes}`, extensions: { code: 'PAYLOAD_TOO_LARGE', requestId } }],
        });
      }
      void yoga(req, res, { requestId });
      return;
    }
    if (yoga && path === '/session') {
      handleSession(req, res).catch((err: unknown) => {
        services.logger.error({ err, requestId }, 'session request failed');
        if (!res.headersSent) sendJson(res, 500, { error: 'internal error', requestId });
      });
      return;
    }
    if (yoga && req.method === 'GET' && (path === '/' || path === '/dashboard.js' || path === '/dashboard.css')) {
      dashboardAsset(path).then(
        (asset) => {
          if (!asset) return sendJson(res, 404, { error: 'not found', requestId });
          const gzip = /\bgzip\b/.test(String(req.headers['accept-encoding'] ?? ''));
          res.writeHead(200, {
            'content-type': asset.type,
            'cache-control': 'no-cache',
            // The page runs only its own script and talks only to this server.
            'content-security-policy': DASHBOARD_CSP,
            'x-content-type-options': 'nosniff',
            ...(gzip ? { 'content-encoding': 'gzip' } : {}),
          });
          res.end(gzip ? asset.gzip : asset.plain);
        },
        (err: unknown) => {
          services.logger.error({ err, requestId }, 'dashboard build failed');
          sendJson(res, 500, { error: 'dashboard unavailable', requestId });
        },
      );
      return;
    }
    sendJson(res, 404, { error: 'not found', requestId });
  });

  if (!yoga) return { server, closeWebSockets() {} };
  const wss = new WebSocketServer({ server, path: '/graphql', maxPayload: maxBodyBytes });
  useServer<Record<string, unknown> | undefined, { auth?: Auth }>(
    {
      // An unauthenticated socket is closed (4403) before any operation runs.
      onConnect: async (ctx) => {
        const raw = ctx.connectionParams?.authorization ?? ctx.connectionParams?.Authorization;
        const auth = typeof raw === 'string' ? await authenticate(raw) : await sessionOfSameOrigin(ctx.extra.request);
        if (!auth) return false;
        ctx.extra.auth = auth;
        return true;
      },
      onSubscribe: async (ctx, _id, params) => {
        const requestId = randomUUID();
        const { schema, execute, subscribe, contextFactory, validate } = yoga.getEnveloped({
          requestId,
          auth: ctx.extra.auth ?? null,
        });
        let document;
        try {
          document = parse(params.query);
        } catch (err) {
          return stampErrors({ errors: [err as never] }, requestId).errors!;
        }
        const args: ExecutionArgs = {
          schema,
          operationName: params.operationName,
          document,
          variableValues: params.variables,
          contextValue: await contextFactory(),
          rootValue: { execute, subscribe },
        };
        const errors = validate(args.schema, args.document);
        if (errors.length) return stampErrors({ errors }, requestId).errors!;
        return args;
      },
      execute: (args) => (args.rootValue as { execute: typeof import('graphql').execute }).execute(args),
      subscribe: (args) => (args.rootValue as { subscribe: typeof import('graphql').subscribe }).subscribe(args),
      onClose: () => {},
    },
    wss,
  );
  return {
    server,
    closeWebSockets() {
      for (const client of wss.clients) client.close(1001, 'server shutting down');
      wss.close();
    },
  };
}
