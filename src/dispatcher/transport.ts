// The `fetch` ky sends through. Node's WHATWG fetch costs about as much CPU per delivery as the
// rest of the dispatcher put together (body streams, a Request clone, Response streams); undici's
// `request` on the same agent does the same HTTP for a fraction of it. ky keeps what it is for:
// the options, the timeout and its error types.
//
// The body and the headers travel as ky's unknown options `payload` and `requestHeaders` (handed
// to fetch untouched), so ky builds and clones a Request without either: ky would otherwise copy
// the header object four times per request (its merge, its Request, the Request's clone, and the
// copy here back into an object for undici). Redirects are never followed (undici's request does
// not follow them). The response body is read here, capped at `maxBodyBytes`: a longer one is
// cut and its connection closed rather than drained. Reading it inside this `fetch` puts the body
// under ky's timeout too, so a receiver trickling its body cannot hold an attempt past the
// delivery timeout.
//
// The Response handed back carries the status and headers but no body stream: the body is
// already in hand as storable text, and wrapping it in a stream for the caller to read back cost
// about a tenth of the dispatcher's CPU. `transportText(res)` gives that text. ky itself never
// reads a body here (no hooks, no parseJson, no throwHttpErrors).
import { LRUCache } from 'lru-cache';
import type { Dispatcher } from 'undici';
import { storableText } from './text.js';

export interface TransportInit {
  /** The request body; ky passes unknown options through to fetch as they are. */
  payload?: string;
  /** Request headers, sent as given (with any ky put on its Request under them). */
  requestHeaders?: Record<string, string>;
}

// Statuses a Response may not carry a body with.
const NULL_BODY = new Set([101, 103, 204, 205, 304]);

const texts = new WeakMap<Response, string>();
/** The body this transport read for `res` (valid UTF-8 without NUL, capped); undefined for any other Response. */
export function transportText(res: Response): string | undefined {
  return texts.get(res);
}

export function undiciFetch(dispatcher: Dispatcher, maxBodyBytes: number) {
  // Request URL → undici's origin and path: a dispatcher sends to the same few endpoint URLs over and over.
  const targets = new LRUCache<string, { origin: string; path: string }>({ max: 1024 });
  const target = (url: string) => {
    let t = targets.get(url);
    if (t === undefined) {
      const u = new URL(url);
      targets.set(url, (t = { origin: u.origin, path: u.pathname + u.search }));
    }
    return t;
  };
  return async (req: Request, init?: TransportInit): Promise<Response> => {
    const { origin, path } = target(req.url);
    let headers = init?.requestHeaders ?? {};
    // ky puts none of its own on a plain post; a hook or a caller's `headers` option might.
    let copied = false;
    for (const [name, value] of req.headers) {
      if (!copied) {
        headers = { ...headers };
        copied = true;
      }
      headers[name] ??= value;
    }
    // ky's timeout aborts req.signal. Nothing else joins it: a shutdown ends every send at once by
    // destroying the agent (send.ts), not with a second signal per request, whose joining controller
    // and listeners were a tenth of a send's CPU (BENCHMARKS.md, the transport's abort signal).
    const res = await dispatcher.request({ origin, path, method: req.method as Dispatcher.HttpMethod, headers, body: init?.payload, signal: req.signal });
    const body = await readCapped(res.body, maxBodyBytes);
    // A Response can only hold 200–599; anything else is not an answer a webhook can give.
    if (res.statusCode < 200 || res.statusCode > 599) {
      throw Object.assign(new Error(`invalid HTTP status ${res.statusCode}`), { code: 'HOOKYARD_BAD_STATUS' });
    }
    const response = new Response(null, { status: res.statusCode, headers: responseHeaders(res.headers) });
    texts.set(response, NULL_BODY.has(res.statusCode) ? '' : body);
    return response;
  };
}

/** undici's header object as a HeadersInit: as it is (a record) unless a name repeats (then pairs, each value appended). */
function responseHeaders(h: Dispatcher.ResponseData['headers']): HeadersInit {
  let pairs: [string, string][] | undefined;
  for (const name in h) {
    if (Array.isArray(h[name])) {
      pairs = [];
      break;
    }
  }
  if (!pairs) return h as Record<string, string>;
  for (const [name, value] of Object.entries(h)) {
    if (Array.isArray(value)) for (const v of value) pairs.push([name, v]);
    else if (value !== undefined) pairs.push([name, value]);
  }
  return pairs;
}

/** The body, at most `max` bytes of it, as storable text (whatever the bytes: NUL, invalid UTF-8, a character cut at the cap). */
function readCapped(body: Dispatcher.ResponseData['body'], max: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    body.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      size += chunk.byteLength;
      if (size > max) {
        // Destroying an unfinished body closes its connection: the rest is never downloaded.
        body.destroy();
        resolve(joined(chunks, size, max));
      }
    });
    body.on('end', () => resolve(joined(chunks, size, max)));
    body.on('error', reject);
  });
}

function joined(chunks: Buffer[], size: number, max: number): string {
  return size === 0 ? '' : storableText(Buffer.concat(chunks, size), max);
}
