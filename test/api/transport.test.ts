// The same document sent over HTTP and over a real graphql-ws client meets the same limits and
// gets the same error codes: graphql-ws operations go through Yoga's envelop (parse, validate).
import type { Client } from 'graphql-ws';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LIMITS } from '../../src/graphql/yoga.js';
import { UNPROVEN_SOCKET_MS } from '../../src/http/api.js';
import { startTestApp, type TestApp } from '../helpers/testApp.js';
import { wsClient } from '../helpers/ws.js';

let t: TestApp;
let ws: Client;
beforeAll(async () => {
  t = await startTestApp({ env: { HOOKYARD_ROLE: 'api' } });
  ws = wsClient(t.wsUrl, t.key);
});
afterAll(async () => {
  await ws?.dispose();
  await t?.stop();
});

interface Err {
  message: string;
  extensions?: { code?: string; param?: string };
}

/** The first result (or the operation's error) of one operation over graphql-ws. */
function overWs(query: string, variables?: Record<string, unknown>, client = ws): Promise<{ data?: unknown; errors?: Err[] }> {
  return new Promise((resolve, reject) => {
    let done = false;
    client.subscribe<unknown>(
      { query, variables },
      {
        next: (value) => {
          done = true;
          resolve(value as { data?: unknown; errors?: Err[] });
        },
        // graphql-ws reports errors of parse and validation as the operation's error (an array).
        error: (err) => (Array.isArray(err) ? resolve({ errors: err as Err[] }) : reject(err instanceof Error ? err : new Error(JSON.stringify(err)))),
        complete: () => (done ? undefined : reject(new Error('completed without a result'))),
      },
    );
  });
}

async function overHttp(query: string, variables?: Record<string, unknown>) {
  const res = await t.gql(query, variables);
  return { status: res.status, data: res.data, errors: res.errors as Err[] | undefined };
}

const repeat = (n: number, s: string) => Array.from({ length: n }, () => s).join(' ');
// A depth-11 selection whose every level asks for scalars: within depth, alias and token limits,
// but far over the cost limit.
const costly = `{ ${Array.from({ length: 12 }, (_, i) => `a${i}: deliveries(first: 100) { edges { node { id eventType status event { id eventType payload deliveries(first: 100) { edges { node { id status endpoint { id url headers deliveries(first: 100) { edges { node { id status } } } } } } } } } } }`).join(' ')} }`;

const cases: [string, string, Record<string, unknown> | undefined, string][] = [
  ['too many tokens', `{ ${repeat(LIMITS.tokens + 1, '__typename')} }`, undefined, 'QUERY_TOO_COMPLEX'],
  // 29,000 directives (~520 KB): refused after counting 3,000 tokens, not parsed whole.
  ['a directive flood', `{ __typename ${repeat(29_000, '@a')} }`, undefined, 'QUERY_TOO_COMPLEX'],
  ['an argument list nested 3,000 deep', `{ endpoints(first: ${'['.repeat(3000)}${']'.repeat(3000)}) { edges { node { id } } } }`, undefined, 'QUERY_TOO_COMPLEX'],
  ['an unclosed list nested 2,000 deep', `{ endpoints(first: ${'['.repeat(2000)}`, undefined, 'QUERY_TOO_COMPLEX'],
  [
    'too deep',
    '{ deliveries { edges { node { endpoint { deliveries { edges { node { event { deliveries { edges { node { endpoint { deliveries { edges { node { id } } } } } } } } } } } } } } } }',
    undefined,
    'QUERY_TOO_COMPLEX',
  ],
  ['too many aliases', `{ ${Array.from({ length: LIMITS.aliases + 5 }, (_, i) => `a${i}: endpoints(first: 1) { edges { node { id } } }`).join(' ')} }`, undefined, 'QUERY_TOO_COMPLEX'],
  ['too costly', costly, undefined, 'QUERY_TOO_COMPLEX'],
  ['a syntax error', '{ endpoints( }', undefined, 'GRAPHQL_PARSE_FAILED'],
  ['an unknown field', '{ nope }', undefined, 'GRAPHQL_VALIDATION_FAILED'],
  ['a variable of the wrong type', 'query($n: Int) { endpoints(first: $n) { edges { node { id } } } }', { n: 'ten' }, 'VALIDATION_FAILED'],
  ['a resolver refusal', '{ endpoint(id: "ep_nope") { id } }', undefined, 'VALIDATION_FAILED'],
];

describe('HTTP and graphql-ws agree', () => {
  it.each(cases)('%s', async (_what, query, variables, code) => {
    const [http, socket] = await Promise.all([overHttp(query, variables), overWs(query, variables)]);
    expect(http.errors?.[0]?.extensions?.code).toBe(code);
    expect(socket.errors?.[0]?.extensions?.code).toBe(code);
    expect(socket.errors?.[0]?.extensions?.param).toBe(http.errors?.[0]?.extensions?.param);
    expect(http.status).toBeLessThan(500);
  });

  it('answers an ordinary query the same way', async () => {
    const query = '{ endpoints(first: 1) { edges { node { id } } } }';
    const [http, socket] = await Promise.all([overHttp(query), overWs(query)]);
    expect(http.errors).toBeUndefined();
    expect(socket).toEqual({ data: http.data });
  });
});

describe('graphql-ws connection', () => {
  it('limits a message to the HTTP body limit', async () => {
    const limit = t.app.services.config.maxPayloadBytes * 6 + 64 * 1024;
    const code = await new Promise<number>((resolve) => {
      const socket = new WebSocket(t.wsUrl, 'graphql-transport-ws');
      socket.on('open', () => socket.send('x'.repeat(limit + 1)));
      socket.on('close', (c) => resolve(c));
    });
    expect(code).toBe(1009);
    // One byte under the limit is read (and refused for what it is, not for its size).
    const under = await new Promise<number>((resolve) => {
      const socket = new WebSocket(t.wsUrl, 'graphql-transport-ws');
      socket.on('open', () => socket.send(`"${'x'.repeat(limit - 2)}"`));
      socket.on('close', (c) => resolve(c));
    });
    expect(under).toBe(4400);
  });

  it('accepts the key from connectionParams, any case, also nested in headers', async () => {
    for (const params of [
      { Authorization: `Bearer ${t.key}` },
      { AUTHORIZATION: `Bearer ${t.key}` },
      { authorization: `Bearer ${t.key}` },
      { headers: { Authorization: `Bearer ${t.key}` } },
    ]) {
      const client = wsClient(t.wsUrl, null, { connectionParams: params });
      const result = await overWs('{ endpoints(first: 1) { edges { node { id } } } }', undefined, client);
      expect(result.errors).toBeUndefined();
      await client.dispose();
    }
  });

  // Yoga's GraphiQL: an empty connection_init, then its Headers tab in each subscribe's extensions.
  it('accepts the key from an operation\'s extensions.headers on a socket without credentials, any case', async () => {
    const query = '{ endpoints(first: 1) { edges { node { id } } } }';
    const run = (client: Client, headers: Record<string, string>) =>
      new Promise<{ data?: unknown; errors?: Err[] }>((resolve, reject) => {
        client.subscribe(
          { query, extensions: { headers } },
          // A refusal before execution arrives as the operation's error (an array of them).
          { next: resolve as never, error: (err) => (Array.isArray(err) ? resolve({ errors: err as Err[] }) : reject(err)), complete: () => {} },
        );
      });
    const client = wsClient(t.wsUrl, null);
    for (const name of ['Authorization', 'authorization', 'AUTHORIZATION']) {
      expect((await run(client, { [name]: `Bearer ${t.key}` })).errors).toBeUndefined();
    }
    // A wrong key is refused for that operation; the socket stays, and the next good one runs.
    const wrong = await run(client, { authorization: 'Bearer hy_wrong_key_wrong_key_wrong_key' });
    expect(wrong.errors?.[0]).toMatchObject({ message: 'that API key was not accepted', extensions: { code: 'UNAUTHENTICATED' } });
    expect((await run(client, { authorization: `Bearer ${t.otherKey}` })).errors).toBeUndefined();

    // Such a socket that proves no key in time is closed; the one above, which did, is not.
    const idle = new WebSocket(t.wsUrl, 'graphql-transport-ws');
    const opened = Date.now();
    idle.on('open', () => idle.send(JSON.stringify({ type: 'connection_init', payload: {} })));
    const code = await new Promise<number>((resolve) => idle.on('close', (c) => resolve(c)));
    expect(code).toBe(4403);
    expect(Date.now() - opened).toBeGreaterThanOrEqual(UNPROVEN_SOCKET_MS - 50);
    expect((await run(client, { authorization: `Bearer ${t.key}` })).errors).toBeUndefined();
    await client.dispose();
  }, 30_000);
});
