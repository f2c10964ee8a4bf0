// Request bodies: limited as they stream, client mistakes answered with a typed 4xx, and nothing a
// client sent (body, variables, header values) reaching the log or echoed in the response.
import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/testApp.js';

const SECRET = 'Bearer sk_live_DO_NOT_LOG_0123456789';
const logLines: string[] = [];
let t: TestApp;
let limit: number;
beforeAll(async () => {
  t = await startTestApp({ env: { HOOKYARD_ROLE: 'api' }, logLines });
  limit = t.app.services.config.maxPayloadBytes * 6 + 64 * 1024;
});
afterAll(() => t?.stop());

const levelOf = (line: string) => (JSON.parse(line) as { level: number }).level;

/** Streams `total` bytes as a chunked body until the server answers; returns the answer and what was sent. */
function chunkedPost(total: number, chunk: Buffer): Promise<{ status: number; headers: Record<string, unknown>; body: string; sent: number }> {
  return new Promise((resolve, reject) => {
    let sent = 0;
    let answered = false;
    const req = request(t.graphqlUrl, { method: 'POST', headers: { 'content-type': 'application/json', 'transfer-encoding': 'chunked' } }, (res) => {
      answered = true;
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body, sent }));
      res.on('error', reject);
    });
    // The server may close the connection while we still write: that is the point.
    req.on('error', (err) => (answered ? undefined : reject(err)));
    const pump = () => {
      while (!answered && sent < total) {
        sent += chunk.length;
        if (!req.write(chunk)) return void req.once('drain', pump);
      }
      if (!answered) req.end();
    };
    pump();
  });
}

describe('request body limit', () => {
  it('refuses a 20 MB chunked body with 413 once past the limit, without reading the rest', async () => {
    const res = await chunkedPost(20 * 1024 * 1024, Buffer.alloc(64 * 1024, 'x'));
    expect(res.status).toBe(413);
    expect(res.headers.connection).toBe('close');
    expect(JSON.parse(res.body)).toMatchObject({ errors: [{ extensions: { code: 'PAYLOAD_TOO_LARGE', limitBytes: limit } }] });
    expect(res.sent).toBeLessThan(20 * 1024 * 1024);
  });

  it('reads a chunked body within the limit', async () => {
    const body = Buffer.from(JSON.stringify({ query: '{ __typename }' }));
    const res = await chunkedPost(body.length, body);
    expect(res.status).toBe(200);
    expect(JSON.parse(res.body)).toEqual({ data: { __typename: 'Query' } });
  });

  it('refuses a declared Content-Length over the limit without reading it', async () => {
    const res = await fetch(t.graphqlUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body: 'x'.repeat(limit + 1) });
    expect(res.status).toBe(413);
    expect(((await res.json()) as { errors: { extensions: { code: string } }[] }).errors[0]!.extensions.code).toBe('PAYLOAD_TOO_LARGE');
  });

  it('takes a payload at its byte limit even when the client escapes every non-ASCII character', async () => {
    const max = t.app.services.config.maxPayloadBytes;
    // {"s":"éé…"}: 8 bytes of JSON around 2-byte characters, written by the client as \u00e9 (6 bytes each).
    const payload = { s: 'é'.repeat((max - 8) / 2) };
    expect(Buffer.byteLength(JSON.stringify(payload))).toBe(max);
    const body = JSON.stringify({
      query: 'mutation($p: JSON!) { sendEvent(input: { eventType: "big", payload: $p }) { deliveriesCreated } }',
      variables: { p: payload },
    }).replace(/é/g, '\\u00e9');
    const res = await fetch(t.graphqlUrl, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${t.key}` }, body });
    expect(await res.json()).toEqual({ data: { sendEvent: { deliveriesCreated: 0 } } });
  });
});

describe('client mistakes', () => {
  const bad: [string, Record<string, string>, string, number][] = [
    ['a body that is not JSON', { 'content-type': 'application/json' }, `{"query": "{ __typename }", "variables": {"headers": {"authorization": "${SECRET}"} `, 400],
    ['variables that are not an object', { 'content-type': 'application/json' }, JSON.stringify({ query: '{ __typename }', variables: SECRET }), 400],
    ['a wrong content type', { 'content-type': 'text/plain' }, `${SECRET} is not a GraphQL request`, 415],
  ];

  it.each(bad)('answers %s with a typed 4xx, echoing and logging nothing of it', async (_what, headers, body, status) => {
    for (const key of [null, t.key]) {
      const before = logLines.length;
      const res = await fetch(t.graphqlUrl, { method: 'POST', headers: { ...headers, ...(key ? { authorization: `Bearer ${key}` } : {}) }, body });
      const text = await res.text();
      expect(res.status).toBeGreaterThanOrEqual(400);
      expect(res.status).toBeLessThan(500);
      expect(res.status).toBe(status);
      const json = JSON.parse(text) as { errors: { extensions: { code?: string } }[] };
      expect(json.errors[0]!.extensions.code).toMatch(/^[A-Z_]+$/);
      expect(json.errors[0]!.extensions.code).not.toBe('INTERNAL_SERVER_ERROR');
      expect(text).not.toContain('sk_live');
      const logged = logLines.slice(before);
      expect(logged.join('\n')).not.toContain('sk_live');
      expect(logged.filter((l) => levelOf(l) >= 50)).toEqual([]);
    }
  });

  it('does not echo a refused variable\'s value', async () => {
    const value = `${'x'.repeat(200_000)}${SECRET}`;
    const res = await fetch(t.graphqlUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${t.key}` },
      body: JSON.stringify({ query: 'query($n: Int) { endpoints(first: $n) { edges { node { id } } } }', variables: { n: value } }),
    });
    const text = await res.text();
    expect(JSON.parse(text)).toMatchObject({ errors: [{ extensions: { code: 'VALIDATION_FAILED', param: 'n' } }] });
    expect(text).not.toContain('sk_live');
    expect(text.length).toBeLessThan(2000);
  });

  it('never logs a secret from variables or headers (redaction)', async () => {
    const before = logLines.length;
    t.app.services.logger.error({ body: SECRET, variables: { a: SECRET }, req: { headers: { 'x-api-key': SECRET }, body: SECRET }, headers: { authorization: SECRET }, payload: { s: SECRET } }, 'test line');
    expect(logLines.slice(before).join('\n')).not.toContain('sk_live');
  });
});
