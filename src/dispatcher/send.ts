// One HTTP attempt: a signed POST with ky, no redirects followed, a timeout, the response body
// kept up to 16 KiB. ky sends through undici's request API (./transport.ts) on an agent whose DNS
// lookup refuses private addresses, so the address checked is the address connected to.
import { isIP } from 'node:net';
import ky, { TimeoutError } from 'ky';
import { LRUCache } from 'lru-cache';
import { Agent } from 'undici';
import { BlockedTargetError, guardedLookup, isBlockedAddress } from '../security/targets.js';
import { signatureHeader } from '../signing.js';
import { storableText } from './text.js';
import { type TransportInit, transportText, undiciFetch } from './transport.js';

export const MAX_RESPONSE_BODY = 16 * 1024;
/** An attempt's error text; it can quote the receiver (a redirect's Location, a parser message). */
export const MAX_ERROR_TEXT = 1024;

export interface Outgoing {
  deliveryId: string;
  eventId: string;
  eventType: string;
  attemptNumber: number;
  url: string;
  headers: Record<string, string>;
  secrets: string[];
  body: string;
}

export interface AttemptOutcome {
  startedAt: Date;
  durationMs: number;
  responseStatus: number | null;
  responseBody: string | null;
  error: string | null;
  /** From Retry-After on 429/503, in ms. */
  retryAfterMs: number | null;
  /** The receiver answered a failure with `webhook-retry: none`: it asks for no further attempts. */
  noRetry?: boolean;
  ok: boolean;
}

export interface Sender {
  send(out: Outgoing): Promise<AttemptOutcome>;
  /**
   * Ends every send under way at once, and any started after, as `aborted: dispatcher shutting
   * down` (shutdown, once its grace is spent; a threaded sender's sends that wait for a restarting
   * thread end once it has loaded). One call for all of them rather than a signal per
   * send: a signal joined to ky's in each request cost a tenth of a send's CPU.
   */
  abort(): void;
  /**
   * Resolves once sends can start at once (send threads loaded). The dispatcher claims nothing
   * before: a claim's lease runs from the claim, and time a send waits for its thread is lease spent.
   */
  ready?(): Promise<void>;
  close(): Promise<void>;
}

export function createSender(opts: { timeoutMs: number; allowPrivateTargets: boolean; userAgent?: string }): Sender {
  const agent = new Agent({
    connections: 256,
    keepAliveTimeout: 30_000,
    // ky's timeout bounds the whole attempt, body included (transport.ts reads the body inside it).
    // undici's own (300 s by default) are only a backstop: its coarse timers can fire early, which
    // would report a slow answer as a timeout before the configured time.
    headersTimeout: opts.timeoutMs + 1000,
    bodyTimeout: opts.timeoutMs + 1000,
    // Node's default, stated: a receiver sending thousands of headers gets an error, not our memory.
    maxHeaderSize: 16 * 1024,
    connect: opts.allowPrivateTargets ? {} : { lookup: guardedLookup as never },
  });
  const client = ky.create({ retry: 0, throwHttpErrors: false, timeout: opts.timeoutMs, fetch: undiciFetch(agent, MAX_RESPONSE_BODY) as typeof fetch });
  const userAgent = opts.userAgent ?? 'Hookyard/0.1 (+webhooks)';
  const literalIps = opts.allowPrivateTargets ? null : new LiteralIpGuard();
  // Set by abort(): destroying the agent fails every request on it, queued or under way.
  let destroyed: Promise<void> | null = null;

  return {
    async send(out) {
      const startedAt = new Date();
      const t0 = performance.now();
      if (destroyed) return failed(startedAt, t0, ABORTED);
      const blocked = literalIps?.blocked(out.url);
      if (blocked) return failed(startedAt, t0, new BlockedTargetError(blocked).message);
      const timestamp = Math.floor(startedAt.getTime() / 1000);
      let res: Response;
      let responseBody: string | null;
      try {
        const init: Parameters<typeof client.post>[1] & TransportInit = {
          payload: out.body,
          requestHeaders: {
            ...out.headers,
            'content-type': 'application/json',
            'user-agent': userAgent,
            'webhook-id': out.eventId,
            'webhook-timestamp': String(timestamp),
            'webhook-signature': signatureHeader(out.secrets, out.eventId, timestamp, out.body),
            'x-hookyard-delivery-id': out.deliveryId,
            'x-hookyard-event-type': out.eventType,
            'x-hookyard-attempt': String(out.attemptNumber),
          },
        };
        res = await client.post(out.url, init);
        // The transport's text is storable already (text.ts); any other Response's is made so here.
        responseBody = transportText(res) ?? storableText(await res.text(), MAX_RESPONSE_BODY);
      } catch (err) {
        return failed(startedAt, t0, destroyed && !(err instanceof TimeoutError) ? ABORTED : describeError(err, opts.timeoutMs));
      }
      const status = res.status;
      const ok = status >= 200 && status < 300;
      let error: string | null = null;
      if (status >= 300 && status < 400) {
        error = `redirect not followed (${status} to ${res.headers.get('location') ?? 'nowhere'})`;
      } else if (!ok) {
        error = `HTTP ${status}`;
      }
      const retryAfterMs = status === 429 || status === 503 ? parseRetryAfter(res.headers.get('retry-after')) : null;
      // Only a failure can stop the retries; on a 2xx there are none to stop.
      const noRetry = !ok && res.headers.get('webhook-retry')?.trim().toLowerCase() === 'none';
      if (noRetry) error = `${error}; the receiver asked for no retries (webhook-retry: none)`;
      return {
        startedAt,
        durationMs: Math.round(performance.now() - t0),
        ok,
        responseStatus: status,
        responseBody: responseBody || null,
        // It can quote the receiver (a Location): only storable text goes to a row.
        error: error === null ? null : storableText(error, MAX_ERROR_TEXT),
        retryAfterMs,
        noRetry,
      };
    },
    abort() {
      destroyed ??= agent.destroy().catch(() => {});
    },
    close: () => destroyed ?? agent.close(),
  };
}

/** The error of a send that abort() ended (or refused): the executor hands such a delivery back. */
export const ABORTED = 'aborted: dispatcher shutting down';

function failed(startedAt: Date, t0: number, error: string): AttemptOutcome {
  return {
    startedAt, durationMs: Math.round(performance.now() - t0), ok: false, responseStatus: null, responseBody: null, retryAfterMs: null,
    // It can quote the receiver (a parser's message): only storable text goes to a row.
    error: storableText(error, MAX_ERROR_TEXT),
  };
}

/**
 * Refuses a URL whose host is a literal private address before any request (the agent's lookup
 * guards names at connect time, but a literal address is never looked up). Remembered per URL:
 * a dispatcher sends to the same few endpoint URLs over and over.
 */
class LiteralIpGuard {
  // The refused address, or '' for none (an LRUCache holds no null).
  private readonly byUrl = new LRUCache<string, string>({ max: 1024 });

  /** The refused address, or null. */
  blocked(url: string): string | null {
    let host = this.byUrl.get(url);
    if (host === undefined) {
      const name = new URL(url).hostname.replace(/^\[|\]$/g, '');
      this.byUrl.set(url, (host = isIP(name) && isBlockedAddress(name) ? name : ''));
    }
    return host || null;
  }
}

export function parseRetryAfter(value: string | null, now = Date.now()): number | null {
  if (!value) return null;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  const date = Date.parse(trimmed);
  return Number.isNaN(date) ? null : Math.max(0, date - now);
}

function describeError(err: unknown, timeoutMs: number): string {
  if (err instanceof TimeoutError) return `timeout after ${timeoutMs} ms`;
  let cause: unknown = err;
  for (let i = 0; i < 4 && cause; i++) {
    if (cause instanceof BlockedTargetError) return cause.message;
    const code = (cause as { code?: string }).code;
    switch (code) {
      case 'ECONNREFUSED':
        return 'connection refused';
      case 'ECONNRESET':
      case 'UND_ERR_SOCKET':
        return 'connection reset';
      case 'ENOTFOUND':
      case 'EAI_AGAIN':
        return `DNS lookup failed (${code})`;
      case 'EHOSTUNREACH':
      case 'ENETUNREACH':
        return 'host unreachable';
      case 'UND_ERR_HEADERS_OVERFLOW':
        return 'response headers too large';
      case 'UND_ERR_HEADERS_TIMEOUT':
      case 'UND_ERR_BODY_TIMEOUT':
      case 'UND_ERR_CONNECT_TIMEOUT':
        return `timeout after ${timeoutMs} ms`;
      case 'CERT_HAS_EXPIRED':
      case 'DEPTH_ZERO_SELF_SIGNED_CERT':
      case 'UNABLE_TO_VERIFY_LEAF_SIGNATURE':
      case 'ERR_TLS_CERT_ALTNAME_INVALID':
        return `TLS error (${code})`;
    }
    cause = (cause as { cause?: unknown }).cause;
  }
  const message = err instanceof Error ? err.message : String(err);
  return `request failed: ${message}`;
}
