// A real HTTP receiver on 127.0.0.1: records every request and answers as the test says.
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Received {
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
  at: number;
}

export interface Reply {
  status?: number;
  headers?: Record<string, string>;
  body?: string | Buffer;
  /** Wait this long before answering. */
  delayMs?: number;
  /** Destroy the socket without answering. */
  reset?: boolean;
}

export type Responder = (req: Received, index: number) => Reply | Promise<Reply>;

export interface Receiver {
  url: string;
  port: number;
  received: Received[];
  respond(fn: Responder): void;
  /** The most requests to `path` the receiver held at once, from arrival to answer (delayMs included). */
  maxHeld(path: string): number;
  /** Resolves once `n` requests have arrived (rejects after `timeoutMs`). */
  waitFor(n: number, timeoutMs?: number): Promise<Received[]>;
  close(): Promise<void>;
}

export async function startReceiver(responder: Responder = () => ({ status: 200 })): Promise<Receiver> {
  let respond = responder;
  const received: Received[] = [];
  const waiters: { n: number; resolve: () => void }[] = [];
  // Per path: requests held now, and the most held at once (a FIFO line must never exceed one).
  const held = new Map<string, number>();
  const peaks = new Map<string, number>();
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', async () => {
      const entry: Received = { path: req.url ?? '/', headers: req.headers, body: Buffer.concat(chunks).toString('utf8'), at: Date.now() };
      const index = received.push(entry) - 1;
      for (const w of [...waiters]) if (received.length >= w.n) w.resolve();
      const now = (held.get(entry.path) ?? 0) + 1;
      held.set(entry.path, now);
      peaks.set(entry.path, Math.max(peaks.get(entry.path) ?? 0, now));
      try {
        const reply = await respond(entry, index);
        if (reply.delayMs) await new Promise((r) => setTimeout(r, reply.delayMs));
        if (reply.reset) {
          req.socket.destroy();
          return;
        }
        if (res.destroyed) return;
        res.writeHead(reply.status ?? 200, reply.headers ?? {});
        res.end(reply.body ?? '');
      } finally {
        held.set(entry.path, held.get(entry.path)! - 1);
      }
    });
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    received,
    respond(fn) {
      respond = fn;
    },
    maxHeld: (path) => peaks.get(path) ?? 0,
    waitFor(n, timeoutMs = 15_000) {
      if (received.length >= n) return Promise.resolve(received.slice());
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`receiver got ${received.length} of ${n} requests in ${timeoutMs} ms`)), timeoutMs);
        waiters.push({
          n,
          resolve: () => {
            clearTimeout(timer);
            resolve(received.slice());
          },
        });
      });
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
