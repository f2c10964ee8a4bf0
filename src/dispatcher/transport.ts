// The `fetch` ky sends through. Node's WHATWG fetch costs about as much CPU per delivery as the
// rest of the dispatcher put together (body streams, a Request clone, Response streams); undici's
// `request` on the same agent does the same HTTP for a fraction of it. ky keeps what it is for:
// the options, the timeout and its error types.
//
// The body travels as ky's unknown option `payload` (handed to fetch untouched), so ky builds and
// clones a body-less Request. Redirects are never followed (undici's request does not follow
// them). The response body is read here, capped at `maxBodyBytes`: a longer one is cut and its
// connection closed rather than drained. Reading it inside this `fetch` puts the body under ky's
// timeout too, so a receiver trickling its body cannot hold an attempt past the delivery timeout.
import type { Dispatcher } from 'undici';
import { storableText } from './text.js';

export interface TransportInit {
  /** The request body; ky passes unknown options through to fetch as they are. */
  payload?: string;
  /**
   * Aborts the request besides ky's own timeout. Not given to ky as `signal`: ky would join the
   * two with AbortSignal.any, and on Node 20 a joined signal that the Request constructor put a
   * listener on stays reachable after the request is done (a heap snapshot showed thousands of
   * them after a few minutes of dispatching).
   */
  abortSignal?: AbortSignal;
}

// Statuses a Response may not carry a body with.
const NULL_BODY = new Set([101, 103, 204, 205, 304]);

export function undiciFetch(dispatcher: Dispatcher, maxBodyBytes: number) {
  return async (req: Request, init?: TransportInit): Promise<Response> => {
    const url = new URL(req.url);
    const headers: Record<string, string> = {};
    req.headers.forEach((value, name) => {
      headers[name] = value;
    });
    const abort = new AbortController();
    const onAbort = () => abort.abort();
    const sources = init?.abortSignal ? [req.signal, init.abortSignal] : [req.signal];
    for (const s of sources) {
      if (s.aborted) abort.abort();
      else s.addEventListener('abort', onAbort, { once: true });
    }
    let res: Dispatcher.ResponseData;
    let body: string;
    try {
      res = await dispatcher.request({
        origin: url.origin,
        path: url.pathname + url.search,
        method: req.method as Dispatcher.HttpMethod,
        headers,
        body: init?.payload,
        signal: abort.signal,
      });
      body = await readCapped(res.body, maxBodyBytes);
    } finally {
      for (const s of sources) s.removeEventListener('abort', onAbort);
    }
    const responseHeaders = new Headers();
    for (const [name, value] of Object.entries(res.headers)) {
      if (Array.isArray(value)) for (const v of value) responseHeaders.append(name, v);
      else if (value !== undefined) responseHeaders.append(name, value);
    }
    // A Response can only hold 200–599; anything else is not an answer a webhook can give.
    if (res.statusCode < 200 || res.statusCode > 599) {
      throw Object.assign(new Error(`invalid HTTP status ${res.statusCode}`), { code: 'HOOKYARD_BAD_STATUS' });
    }
    return new Response(NULL_BODY.has(res.statusCode) ? null : body, { status: res.statusCode, headers: responseHeaders });
  };
}

async function readCapped(body: Dispatcher.ResponseData['body'], max: number): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    chunks.push(chunk as Buffer);
    size += (chunk as Buffer).byteLength;
    if (size > max) {
      // Destroying an unfinished body closes its connection: the rest is never downloaded.
      body.destroy();
      break;
    }
  }
  // Whatever the bytes are (NUL, invalid UTF-8, a character cut at the cap), what leaves here can be stored.
  return storableText(Buffer.concat(chunks, size), max);
}
