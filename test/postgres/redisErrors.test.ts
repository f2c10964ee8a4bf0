// Redis clients log their connection errors (without the URL's password) and their recovery,
// through a proxy to the machine's Redis that the test cuts and restores (the shared Redis itself
// is never restarted).
import { Writable } from 'node:stream';
import { Redis } from 'ioredis';
import pino from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { type RedisProxy, startRedisProxy } from '../helpers/redisProxy.js';
import { eventually } from '../helpers/testApp.js';
import { watchRedis } from '../../src/redisHealth.js';

let proxy: RedisProxy | undefined;
let client: Redis | undefined;

afterAll(async () => {
  client?.disconnect();
  if (proxy?.listening()) await proxy.cut();
});

describe('Redis client health', () => {
  it('logs each connection error without the password, keeps reconnecting, and logs the recovery', async () => {
    const lines: Record<string, unknown>[] = [];
    const sink = new Writable({ write(chunk, _enc, done) { lines.push(JSON.parse(chunk.toString())); done(); } });
    const logger = pino({ level: 'info' }, sink);
    proxy = await startRedisProxy();
    const port = proxy.port;
    client = watchRedis(new Redis(`redis://:s3cr3t-pass@127.0.0.1:${port}`, { maxRetriesPerRequest: 1, retryStrategy: () => 100 }), 'test', logger);
    // The machine's Redis has no password: AUTH fails softly (ioredis warns and goes on), PING works.
    await eventually(async () => (await client!.ping().catch(() => null)) === 'PONG', 10_000, 'the first PONG');

    await proxy.cut();
    await eventually(async () => lines.some((l) => l.msg === 'redis connection error; ioredis reconnects'), 10_000, 'an error logged');
    await proxy.restore();
    await eventually(async () => lines.some((l) => l.msg === 'redis connection restored'), 10_000, 'the recovery logged');
    expect(await client.ping()).toBe('PONG');
    expect(JSON.stringify(lines)).not.toContain('s3cr3t-pass');
    expect(lines.find((l) => l.msg === 'redis connection error; ioredis reconnects')).toMatchObject({ level: 40, redisClient: 'test' });
  });
});
