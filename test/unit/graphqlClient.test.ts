// The shared GraphQL client (src/client/graphql.ts): what it sends, the typed errors it throws, and
// that it still bundles for the browser (the dashboard imports it).
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GraphQLClientError, graphqlClient } from '../../src/client/graphql.js';
import { GetEndpoint, ListEndpoints } from '../helpers/operations.js';

let server: Server;
let url: string;
const seen: { authorization?: string; cookie?: string; body: { query: string; variables?: unknown } }[] = [];
let answer: (res: ServerResponse) => void = (res) => res.end();

beforeAll(async () => {
  server = createServer((req: IncomingMessage, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      seen.push({ authorization: req.headers.authorization, cookie: req.headers.cookie, body: JSON.parse(body) as { query: string } });
      answer(res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/graphql`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

const json = (status: number, body: unknown) => (res: ServerResponse) => res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));

describe('graphqlClient', () => {
  it('posts the operation text and variables with the key, and returns the typed data', async () => {
    answer = json(200, { data: { endpoint: { id: 'ep_1' } } });
    const client = graphqlClient({ url, apiKey: 'hy_key' });
    const data = await client.request(GetEndpoint, { id: 'ep_1' });
    expect(data.endpoint?.id).toBe('ep_1');
    expect(seen.at(-1)).toEqual({ authorization: 'Bearer hy_key', cookie: undefined, body: { query: GetEndpoint.toString(), variables: { id: 'ep_1' } } });
    // Per request: another key, or none (and extra headers, e.g. a session cookie).
    await client.execute(ListEndpoints, {}, { apiKey: null, headers: { cookie: 'hookyard_session=x' } });
    expect(seen.at(-1)).toMatchObject({ authorization: undefined, cookie: 'hookyard_session=x' });
  });

  it('throws the first error as a GraphQLClientError with its code and extensions; execute returns them all', async () => {
    const errors = [
      { message: 'endpoint "ep_x" was not found', extensions: { code: 'NOT_FOUND', param: 'id' } },
      { message: 'second', extensions: { code: 'VALIDATION_FAILED' } },
    ];
    answer = json(200, { data: null, errors });
    const seenErrors: GraphQLClientError[] = [];
    const client = graphqlClient({ url, onError: (e) => seenErrors.push(e) });
    const err = await client.request(GetEndpoint, { id: 'ep_x' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(GraphQLClientError);
    expect(err).toMatchObject({ code: 'NOT_FOUND', message: 'endpoint "ep_x" was not found', extensions: { param: 'id' }, errors, status: 200 });
    expect(seenErrors).toEqual([err]);
    expect(await client.execute(GetEndpoint, { id: 'ep_x' })).toMatchObject({ status: 200, data: null, errors });
  });

  it('says NETWORK when nothing answers and BAD_RESPONSE when the answer is not GraphQL', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const down = await graphqlClient({ url: `http://127.0.0.1:${port}/graphql` }).request(ListEndpoints).catch((e: unknown) => e);
    expect(down).toMatchObject({ code: 'NETWORK', status: undefined });
    expect((down as Error).message).toMatch(/ECONNREFUSED/);

    answer = (res) => res.writeHead(502, { 'content-type': 'text/html' }).end('<h1>bad gateway</h1>');
    expect(await graphqlClient({ url }).execute(ListEndpoints).catch((e: unknown) => e)).toMatchObject({ code: 'BAD_RESPONSE', status: 502 });
    answer = json(200, { unexpected: true });
    expect(await graphqlClient({ url }).request(ListEndpoints).catch((e: unknown) => e)).toMatchObject({ code: 'BAD_RESPONSE', status: 200 });
  });

  it('bundles for the browser: no Node-only imports (the dashboard uses it)', async () => {
    const result = await build({
      entryPoints: [fileURLToPath(new URL('../../src/client/graphql.ts', import.meta.url))],
      bundle: true,
      platform: 'browser',
      format: 'esm',
      write: false,
      logLevel: 'silent',
    });
    expect(result.errors).toEqual([]);
    expect(result.outputFiles[0]!.text).not.toMatch(/from\s*["']node:|require\(["']node:/);
  }, 30_000);
});
