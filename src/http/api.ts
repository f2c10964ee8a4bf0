// The API on the HTTP server: /graphql (Yoga over HTTP, graphql-ws over WebSocket on the same
// path), GraphiQL inlined for offline use, the dashboard and its session, and the seeds' REST shapes.
// Only an instance that serves the API loads this file (app.ts imports it then): a dispatcher-only
// process never loads Yoga, the schema, ws or the REST router (~9 MiB of its peak RSS, measured in
// BENCHMARKS.md, issue 11 item 2).
import type { PrismaClient } from '../db/client.js';
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { ExecutionArgs, GraphQLError } from 'graphql';
import { useServer } from 'graphql-ws/use/ws';
import { WebSocketServer } from 'ws';
import { authenticate } from '../auth/apiKeys.js';
import type { Auth } from '../auth/apiKeys.js';
import { type HookyardYoga, stampErrors } from '../graphql/yoga.js';
import type { FrameSink } from '../graphql/sharedSubscriptions.js';
import { createRestApi } from '../rest/router.js';
import type { Services } from '../services.js';
import { authenticateSession, SESSION_COOKIE } from '../auth/sessions.js';
import { HookyardError } from '../errors.js';
import { DASHBOARD_CSP } from './csp.js';
import { dashboardAsset } from './dashboard.js';
import { nextFrameWriter } from './wsFrames.js';
import type { ApiRoutes } from './server.js';
import { sendJson } from './server.js';
import { handleSession } from './session.js';

/** A header by name, any case, in a client's connectionParams or GraphiQL's Headers tab. */
function param(params: unknown, name: string): unknown {
  if (!params || typeof params !== 'object') return undefined;
  const key = Object.keys(params).find((k) => k.toLowerCase() === name);
  return key === undefined ? undefined : (params as Record<string, unknown>)[key];
}

/** The key in connectionParams: `authorization` (any case) or, as some clients nest it, `headers.authorization`. */
const keyOfParams = (params: unknown) => param(params, 'authorization') ?? param(param(params, 'headers'), 'authorization');

function tooLarge(res: ServerResponse, requestId: string, maxBodyBytes: number, length?: number): void {
  // The rest of the body is never read: the connection cannot carry another request.
  res.setHeader('connection', 'close');
  sendJson(res, 413, {
    errors: [
      {
        message: `request body is ${length !== undefined ? `${length} bytes` : 'larger than the limit'}; the limit is ${maxBodyBytes} bytes`,
        extensions: { code: 'PAYLOAD_TOO_LARGE', limitBytes: maxBodyBytes, requestId },
      },
    ],
  });
}

/**
 * Reads a request body, counting as it streams (chunked bodies have no Content-Length to check),
 * and stops reading once it passes the limit. Resolves null then. whatwg-node has no limit of its
 * own; it takes a body read beforehand from `req.body` (its adapter for body-parsing frameworks).
 */
function readBody(req: IncomingMessage, maxBytes: number): Promise<Buffer | null> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > maxBytes) {
        req.off('data', onData);
        req.pause();
        resolve(null);
        return;
      }
      chunks.push(chunk);
    };
    req.on('data', onData);
    req.once('end', () => resolve(Buffer.concat(chunks, size)));
    req.once('error', reject);
    // A client gone mid-body may close without an error; after 'end' this changes nothing.
    req.once('close', () => reject(new Error('request closed before its body ended')));
  });
}

/** How long a socket without credentials (GraphiQL's) may stay open before an operation proves a key. */
export const UNPROVEN_SOCKET_MS = 10_000;

/** Whether the upgrade request carries the dashboard's cookie at all (valid or not). */
function hasSessionCookie(req: IncomingMessage): boolean {
  return (req.headers.cookie ?? '').split(';').some((part) => part.trim().startsWith(`${SESSION_COOKIE}=`));
}

/** The dashboard's session cookie on a socket opened by a page of this very server (no cross-site socket rides on it). */
function sessionOfSameOrigin(db: PrismaClient, req: IncomingMessage): Promise<Auth | null> {
  const origin = req.headers.origin;
  if (origin && origin.replace(/^https?:\/\//, '') !== req.headers.host) return Promise.resolve(null);
  return authenticateSession(db, req.headers.cookie);
}

export function createApiRoutes({ yoga, services }: { yoga: HookyardYoga; services: Services }): ApiRoutes {
  // A JSON body can be larger than the payload it carries: escaped as \u0041, one byte of payload
  // takes six, and the limit is on the payload's own UTF-8 size (checkPayload).
  const maxBodyBytes = services.config.maxPayloadBytes * 6 + 64 * 1024;
  const rest = createRestApi(services);

  return {
    handle(req, res, requestId, path) {
      if (path === '/graphql') {
        if (req.method === 'GET' && (req.headers.accept ?? '').includes('text/html')) {
          dashboardAsset('/graphql').then(
            (page) => {
              const gzip = /\bgzip\b/.test(String(req.headers['accept-encoding'] ?? ''));
              res.writeHead(200, {
                'content-type': 'text/html; charset=utf-8',
                'cache-control': 'public, max-age=3600',
                ...(page!.csp ? { 'content-security-policy': page!.csp } : {}),
                ...(gzip ? { 'content-encoding': 'gzip' } : {}),
              });
              res.end(gzip ? page!.gzip : page!.plain);
            },
            (err: unknown) => {
              services.logger.error({ err, requestId }, 'GraphiQL page unavailable');
              sendJson(res, 500, { error: 'GraphiQL unavailable', requestId });
            },
          );
          return true;
        }
        const length = Number(req.headers['content-length'] ?? 0);
        if (length > maxBodyBytes) {
          tooLarge(res, requestId, maxBodyBytes, length);
          return true;
        }
        if (req.method === 'GET' || req.method === 'HEAD') {
          void yoga(req, res, { requestId });
          return true;
        }
        readBody(req, maxBodyBytes).then(
          (body) => {
            if (!body) return tooLarge(res, requestId, maxBodyBytes);
            (req as IncomingMessage & { body?: Uint8Array }).body = body;
            void yoga(req, res, { requestId });
          },
          // The client went away mid-body: nobody is left to answer.
          () => res.destroy(),
        );
        return true;
      }
      if (path === '/session') {
        handleSession(services.db, req, res).catch((err: unknown) => {
          services.logger.error({ err, requestId }, 'session request failed');
          if (!res.headersSent) sendJson(res, 500, { error: 'internal error', requestId });
        });
        return true;
      }
      if (req.method === 'GET' && (path === '/' || path === '/dashboard.js' || path === '/dashboard.css')) {
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
        return true;
      }
      if (rest.handles(req)) {
        rest.handle(req, res, requestId);
        return true;
      }
      return false;
    },

    attach(server: Server) {
    const wss = new WebSocketServer({ server, path: '/graphql', maxPayload: maxBodyBytes });
    useServer<Record<string, unknown> | undefined, { auth?: Auth; unproven?: NodeJS.Timeout }>(
      {
        // A socket whose credentials fail is closed (4403) before any operation runs. One that carries
        // none (no key in connectionParams, no session cookie) is GraphiQL's: Yoga's GraphiQL sends an
        // empty connection_init and puts its Headers tab in each subscribe's `extensions.headers`, so
        // such a socket is accepted and each of its operations is authenticated by its own key.
        onConnect: async (ctx) => {
          const raw = keyOfParams(ctx.connectionParams);
          if (typeof raw !== 'string' && !hasSessionCookie(ctx.extra.request)) {
            // Held open only while it is used: one operation with a good key must come in time.
            ctx.extra.unproven = setTimeout(() => ctx.extra.socket.close(4403, 'Forbidden'), UNPROVEN_SOCKET_MS).unref();
            return true;
          }
          const auth = typeof raw === 'string' ? await authenticate(services.db, raw) : await sessionOfSameOrigin(services.db, ctx.extra.request);
          if (!auth) return false;
          ctx.extra.auth = auth;
          return true;
        },
        onSubscribe: async (ctx, id, params) => {
          const requestId = randomUUID();
          let auth = ctx.extra.auth;
          if (!auth) {
            const raw = param(params.extensions?.headers, 'authorization');
            if (typeof raw !== 'string') {
              // No credentials anywhere: refused as a socket without a key always was.
              await ctx.extra.socket.close(4403, 'Forbidden');
              return stampErrors({ errors: [new HookyardError('UNAUTHENTICATED', 'an API key is required')] }, requestId).errors!;
            }
            auth = (await authenticate(services.db, raw)) ?? undefined;
            if (auth) clearTimeout(ctx.extra.unproven);
            if (!auth) return stampErrors({ errors: [new HookyardError('UNAUTHENTICATED', 'that API key was not accepted')] }, requestId).errors!;
          }
          // Yoga's envelop, as its graphql-ws recipe does: the same parse (token and nesting limits),
          // validation rules (depth, aliases, cost), context and error codes as over HTTP.
          const { schema, execute, subscribe, contextFactory, parse, validate } = yoga.getEnveloped({
            requestId,
            auth,
          });
          let document;
          try {
            document = parse(params.query);
          } catch (err) {
            return stampErrors({ errors: [err as GraphQLError] }, requestId).errors!;
          }
          // The shared subscription groups write their results without errors straight to the socket
          // (sharedSubscriptions.ts): the payload's JSON is made once per group and each socket only
          // puts it in its own frame, exactly as graphql-ws's stringifyMessage writes a next message
          // (id, type, payload in that order). graphql-ws has no hook for that: its onNext can only
          // replace the payload object, which it then serializes again for every socket.
          const socket = ctx.extra.socket;
          // ws writes this connection's frames to the upgrade request's socket.
          const tcp = ctx.extra.request.socket;
          const framePrefix = Buffer.from(`{"id":${JSON.stringify(id)},"type":"next","payload":`);
          const frameSink: FrameSink = { next: nextFrameWriter(socket, tcp, framePrefix) };
          const args: ExecutionArgs = {
            schema,
            operationName: params.operationName,
            document,
            variableValues: params.variables,
            contextValue: Object.assign(await contextFactory(), { frameSink }),
            rootValue: { execute, subscribe },
          };
          const errors = validate(args.schema, args.document);
          if (errors.length) return stampErrors({ errors }, requestId).errors!;
          return args;
        },
        execute: (args) => (args.rootValue as { execute: typeof import('graphql').execute }).execute(args),
        subscribe: (args) => (args.rootValue as { subscribe: typeof import('graphql').subscribe }).subscribe(args),
        onClose: (ctx) => clearTimeout(ctx.extra.unproven),
      },
      wss,
    );
    return () => {
      for (const client of wss.clients) client.close(1001, 'server shutting down');
      wss.close();
    };
  }
  };
}
