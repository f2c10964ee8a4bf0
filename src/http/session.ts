// POST /session trades an API key for the session cookie; GET /session says whether the cookie is
// still good; DELETE /session revokes it. The dashboard's only use of the key.
import type { PrismaClient } from '../db/client.js';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { authenticate } from '../auth/apiKeys.js';
import { authenticateSession, createSession, revokeSession, SESSION_COOKIE, SESSION_TTL_MS, sessionToken } from '../auth/sessions.js';

const MAX_BODY = 1024;

function send(res: ServerResponse, status: number, body?: unknown, cookie?: string): void {
  const text = body === undefined ? '' : JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'cache-control': 'no-store',
    'content-length': Buffer.byteLength(text),
    ...(cookie ? { 'set-cookie': cookie } : {}),
  });
  res.end(text);
}

/** Secure when the browser reached us over https (directly or through a proxy that says so). */
function cookie(req: IncomingMessage, value: string, maxAgeSeconds: number): string {
  const https = (req.socket as { encrypted?: boolean }).encrypted === true || req.headers['x-forwarded-proto'] === 'https';
  return `${SESSION_COOKIE}=${value}; Path=/; HttpOnly; SameSite=Strict; Max-Age=${maxAgeSeconds}${https ? '; Secure' : ''}`;
}

async function readBody(req: IncomingMessage): Promise<string | null> {
  let size = 0;
  const chunks: Buffer[] = [];
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY) return null;
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

const refused = { error: { code: 'UNAUTHENTICATED', message: 'that API key was not accepted' } };

export async function handleSession(db: PrismaClient, req: IncomingMessage, res: ServerResponse): Promise<void> {
  if (req.method === 'GET') {
    const auth = await authenticateSession(db, req.headers.cookie);
    return auth ? send(res, 200, { tenantId: auth.tenantId }) : send(res, 401, { error: { code: 'UNAUTHENTICATED', message: 'not signed in' } });
  }
  if (req.method === 'DELETE') {
    const token = sessionToken(req.headers.cookie);
    if (token) await revokeSession(db, token);
    return send(res, 204, undefined, cookie(req, '', 0));
  }
  if (req.method !== 'POST') return send(res, 405, { error: { code: 'METHOD_NOT_ALLOWED', message: 'GET, POST or DELETE' } });
  // JSON only: a cross-site HTML form cannot send it without a preflight this server never grants.
  if (!String(req.headers['content-type'] ?? '').startsWith('application/json')) {
    return send(res, 415, { error: { code: 'VALIDATION_FAILED', param: 'content-type', message: 'send {"key": "hy_…"} as application/json' } });
  }
  const text = await readBody(req);
  let key: unknown;
  try {
    key = text === null ? undefined : (JSON.parse(text) as { key?: unknown }).key;
  } catch {
    key = undefined;
  }
  if (typeof key !== 'string') return send(res, 400, { error: { code: 'VALIDATION_FAILED', param: 'key', message: 'send {"key": "hy_…"}' } });
  const auth = await authenticate(db, key);
  if (!auth) return send(res, 401, refused);
  const session = await createSession(db, auth);
  send(res, 204, undefined, cookie(req, session.token, SESSION_TTL_MS / 1000));
}
