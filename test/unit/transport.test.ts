// ky over the transport (src/dispatcher/transport.ts) against a plain local server: the headers and
// body it sends beside ky's Request, and the Response it hands back.
import { createServer, type IncomingHttpHeaders, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import ky from 'ky';
import { Agent } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type TransportInit, transportText, undiciFetch } from '../../src/dispatcher/transport.js';

let server: Server;
let url: string;
let seen: { headers: IncomingHttpHeaders; body: string } | undefined;
let answer: (res: ServerResponse) => void = (res) => res.end();
const agent = new Agent();
const client = ky.create({ retry: 0, throwHttpErrors: false, timeout: 2000, fetch: undiciFetch(agent, 16) as typeof fetch });

beforeAll(async () => {
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      seen = { headers: req.headers, body: Buffer.concat(chunks).toString() };
      answer(res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/in?q=1`;
});
afterAll(async () => {
  await agent.close();
  await new Promise((resolve) => server.close(resolve));
});

describe('transport', () => {
  it('sends its own headers and body, and any header ky put on the Request under them', async () => {
    const init: Parameters<typeof client.post>[1] & TransportInit = {
      payload: '{"a":1}',
      requestHeaders: { 'content-type': 'application/json', 'x-both': 'ours' },
      headers: { 'x-ky': 'from ky', 'x-both': 'theirs' },
    };
    await client.post(url, init);
    expect(seen?.body).toBe('{"a":1}');
    expect(seen?.headers).toMatchObject({ 'content-type': 'application/json', 'x-ky': 'from ky', 'x-both': 'ours' });
  });

  it('answers with the status and every header, repeated ones appended; the capped body as transportText', async () => {
    answer = (res) => {
      res.writeHead(503, [['retry-after', '7'], ['x-twice', 'a'], ['x-twice', 'b']]);
      res.end('0123456789abcdefXYZ');
    };
    const init: Parameters<typeof client.post>[1] & TransportInit = { payload: '' };
    const res = await client.post(url, init);
    expect(res.status).toBe(503);
    expect(res.headers.get('retry-after')).toBe('7');
    expect(res.headers.get('x-twice')).toBe('a, b');
    expect(transportText(res)).toBe('0123456789abcdef');
  });
});
