// Redis clients log their connection errors (without the URL's password) and their recovery,
// through a proxy to the machine's Redis that the test cuts and restores (the shared Redis itself
// is never restarted).
import { createServer, type Server, type Socket, connect } from 'node:net';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { Redis } from 'ioredis';
import pino from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { REDIS_URL } from '../helpers/db.js';
import { eventually } from '../helpers/testApp.js';
import { watchRedis } from '../../src/redisHealth.js';

const target = new URL(REDIS_URL);
const sockets = new Set<Socket>();
let proxy: Server | undefined;
let client: Redis | undefined;

async function listen(port = 0): Promise<number> {
  proxy = createServer((inbound) => {
    const outbound = connect(Number(target.port || 6379), target.hostname);
    for (const s of [inbound, outbound]) {
      sockets.add(s);
      s.on('error', () => {});
      s.on('close', () => sockets.delete(s));
    }
    inbound.pipe(outbound).pipe(inbound);
  });
  await new Promise<void>((r) => proxy!.listen(port, '127.0.0.1', r));
  return (proxy.address() as AddressInfo).port;
}

async function cut(): Promise<void> {
  const closed = new Promise((r) => proxy!.close(r));
  for (const s of sockets) s.destroy();
  await closed;
}

afterAll(async () => {
  client?.disconnect();
  if (proxy?.listening) await cut();
});

describe('Redis client health', () => {
  it('logs each connection error without the password, keeps reconnecting, and logs the recovery', async () => {
    const lines: Record<string, unknown>[] = [];
    const sink = new Writable({ write(chunk, _enc, done) { lines.push(JSON.parse(chunk.toString())); done(); } });
    const logger = pino({ level: 'info' }, sink);
    const port = await listen();
    client = watchRedis(new Redis(`redis://:s3cr3t-pass@127.0.0.1:${port}`, { maxRetriesPerRequest: 1, retryStrategy: () => 100 }), 'test', logger);
    // The machine's Redis has no password: AUTH fails softly (ioredis warns and goes on), PING works.
    await eventually(async () => (await client!.ping().catch(() => null)) === 'PONG', 10_000, 'the first PONG');

    await cut();
    await eventually(async () => lines.some((l) => l.msg === 'redis connection error; ioredis reconnects'), 10_000, 'an error logged');
    await listen(port);
    await eventually(async () => lines.some((l) => l.msg === 'redis connection restored'), 10_000, 'the recovery logged');
    expect(await client.ping()).toBe('PONG');
    expect(JSON.stringify(lines)).not.toContain('s3cr3t-pass');
    expect(lines.find((l) => l.msg === 'redis connection error; ioredis reconnects')).toMatchObject({ level: 40, redisClient: 'test' });
  });
});
