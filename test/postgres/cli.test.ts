// The real entry point: `hookyard migrate`, `hookyard keys create`, and a clean exit on SIGTERM.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, TEST_ENCRYPTION_KEY, type TestDatabase } from '../helpers/db.js';
import { startInstance } from '../helpers/instances.js';

const run = promisify(execFile);
const BIN = fileURLToPath(new URL('../../bin/hookyard.js', import.meta.url));
let database: TestDatabase;

beforeAll(async () => {
  database = await createTestDatabase('postgres');
});
afterAll(() => database?.drop());

const cli = (args: string[], env: Record<string, string> = {}) =>
  run(process.execPath, [BIN, ...args], { env: { PATH: process.env.PATH ?? '', DATABASE_URL: database.databaseUrl!, HOOKYARD_ENCRYPTION_KEY: TEST_ENCRYPTION_KEY, LOG_LEVEL: 'warn', ...env } });

describe('hookyard CLI', () => {
  it('migrates, then reports the database up to date', async () => {
    expect((await cli(['migrate'])).stdout).toMatch(/applied: \d+_init/);
    expect((await cli(['migrate'])).stdout).toContain('database is up to date');
  });

  it('mints a key for a named tenant that the API then accepts, scoped to that tenant', async () => {
    const { stdout } = await cli(['keys', 'create', '--tenant', 'acme', '--json']);
    const minted = JSON.parse(stdout) as { key: string; tenantId: string; tenant: string };
    expect(minted).toMatchObject({ tenant: 'acme', key: expect.stringMatching(/^hy_/), tenantId: expect.stringMatching(/^ten_/) });
    const server = await startInstance({ DATABASE_URL: database.databaseUrl!, HOOKYARD_ROLE: 'api' });
    try {
      const res = await fetch(`${server.url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${minted.key}` },
        body: JSON.stringify({ query: 'mutation { createEndpoint(input: { url: "https://hooks.example.com/a" }) { endpoint { id } } }' }),
      });
      expect(((await res.json()) as { errors?: unknown }).errors).toBeUndefined();
      expect(JSON.stringify(server.logs)).not.toContain(minted.key);
    } finally {
      expect(await server.kill('SIGTERM')).toBe(0);
    }
    const order = server.logs.map((l) => /"msg":"(stopping: \d\/5)/.exec(l)?.[1]).filter(Boolean);
    expect(order).toEqual(['stopping: 1/5', 'stopping: 2/5', 'stopping: 3/5', 'stopping: 4/5', 'stopping: 5/5']);
  }, 60_000);

  it('refuses bad usage and bad configuration with meaningful exit codes, listing every problem', async () => {
    await expect(cli(['keys', 'create'])).rejects.toMatchObject({ code: 64 });
    await expect(cli(['frobnicate'])).rejects.toMatchObject({ code: 64 });
    const bad = await cli(['migrate'], { PORT: 'x', HOOKYARD_ROLE: 'chief' }).catch((e: { code: number; stderr: string }) => e);
    expect(bad).toMatchObject({ code: 78 });
    expect((bad as { stderr: string }).stderr).toMatch(/HOOKYARD_ROLE/);
    expect((bad as { stderr: string }).stderr).toMatch(/PORT/);
  });
});

describe('hookyard client commands against a running server', () => {
  it('creates endpoints, sends and test-fires events, lists and replays deliveries, with meaningful exit codes', async () => {
    const { startReceiver } = await import('../helpers/receiver.js');
    const rx = await startReceiver((req) => ({ status: req.path === '/down' ? 500 : 200 }));
    const server = await startInstance({
      DATABASE_URL: database.databaseUrl!,
      HOOKYARD_BOOTSTRAP_API_KEY: 'hy_cli_test_key_0123456789abcdef',
      HOOKYARD_RETRY_SCHEDULE: '0s',
      HOOKYARD_POLL_INTERVAL_MS: '100',
      HOOKYARD_BULK_REPLAY_CAP: '3',
    });
    const env = { HOOKYARD_URL: server.url, HOOKYARD_API_KEY: 'hy_cli_test_key_0123456789abcdef' };
    const ok = async (args: string[]) => JSON.parse((await cli([...args, '--json'], env)).stdout);
    const code = (args: string[], extra: Record<string, string> = {}) =>
      cli(args, { ...env, ...extra }).then(() => 0, (e: { code: number }) => e.code);
    try {
      const up = await ok(['endpoints', 'create', '--url', `${rx.url}/up`, '--event-type', 'order.*', '--description', 'orders']);
      expect(up).toMatchObject({ secret: expect.stringMatching(/^whsec_/), endpoint: { id: expect.stringMatching(/^ep_/), eventTypes: ['order.*'] } });
      const down = await ok(['endpoints', 'create', '--url', `${rx.url}/down`, '--event-type', 'order.*']);
      const human = (await cli(['endpoints', 'list'], env)).stdout;
      expect(human).toMatch(/^ID\s+STATUS\s+FAILURE RATE \(24H\)\s+URL/);
      expect(human).toContain(up.endpoint.id);

      for (let i = 0; i < 5; i++) {
        const sent = await ok(['events', 'send', '--type', 'order.paid', '--data', JSON.stringify({ i }), '--idempotency-key', `o-${i}`]);
        expect(sent).toMatchObject({ deliveriesCreated: 2, duplicate: false });
      }
      expect(await ok(['events', 'send', '--type', 'order.paid', '--idempotency-key', 'o-0'])).toMatchObject({ duplicate: true, deliveriesCreated: 0 });
      const fired = await ok(['events', 'trigger', '--endpoint', up.endpoint.id, '--event', 'order.test']);
      expect(fired.id).toMatch(/^dlv_/);

      const { eventually } = await import('../helpers/testApp.js');
      const failed = await eventually(async () => {
        const rows = (await ok(['deliveries', 'list', '--endpoint', down.endpoint.id, '--status', 'FAILED'])) as { id: string }[];
        return rows.length === 5 ? rows : null;
      });
      const cutoff = new Date().toISOString(); // replays made from here on do not count below
      const replay = await ok(['deliveries', 'replay', failed[0]!.id]);
      expect(replay.replayOf.id).toBe(failed[0]!.id);

      const dry = await ok(['deliveries', 'bulk-replay', '--endpoint', down.endpoint.id, '--dry-run', '--until', cutoff]);
      expect(dry).toMatchObject({ dryRun: true, enqueued: 3, capped: true, totalMatching: 5 });
      const all = await cli(['deliveries', 'bulk-replay', '--endpoint', down.endpoint.id, '--all', '--until', cutoff], env);
      expect(all.stdout).toMatch(/replayed 5 of 5 matching deliveries in 2 call/);
      expect(all.stderr).toMatch(/replayed 3\/5 \(60%\)[\s\S]*replayed 5\/5 \(100%\)/);

      expect(await code(['endpoints', 'list'], { HOOKYARD_API_KEY: 'hy_wrong_wrong_wrong_wrong_wrong' })).toBe(77);
      expect(await code(['deliveries', 'replay', 'dlv_00000000000000000000000000'])).toBe(66);
      expect(await code(['deliveries', 'replay', 'not-an-id'])).toBe(65);
      expect(await code(['events', 'send'])).toBe(64);
      expect(await code(['events', 'send', '--type', 'x', '--data', '{oops'])).toBe(64);
      expect(await code(['endpoints', 'list'], { HOOKYARD_URL: 'http://127.0.0.1:1234' })).toBe(69);
      const error = JSON.parse((await cli(['deliveries', 'replay', 'dlv_00000000000000000000000000', '--json'], env).catch((e: { stdout: string }) => e)).stdout);
      expect(error.error).toMatchObject({ code: 'NOT_FOUND' });
    } finally {
      await server.kill('SIGTERM');
      await rx.close();
    }
  }, 90_000);

  it('lists, creates and revokes API keys through the server; a revoked key is refused', async () => {
    const server = await startInstance({ DATABASE_URL: database.databaseUrl!, HOOKYARD_BOOTSTRAP_API_KEY: 'hy_cli_keys_key_0123456789abcdef', HOOKYARD_ROLE: 'api' });
    const env = { HOOKYARD_URL: server.url, HOOKYARD_API_KEY: 'hy_cli_keys_key_0123456789abcdef' };
    const ok = async (args: string[], extra: Record<string, string> = {}) => JSON.parse((await cli([...args, '--json'], { ...env, ...extra })).stdout);
    try {
      const created = await ok(['keys', 'create', '--name', 'ci runner']);
      expect(created).toMatchObject({ key: expect.stringMatching(/^hy_/), apiKey: { id: expect.stringMatching(/^key_/), name: 'ci runner' } });
      const human = (await cli(['keys', 'list'], env)).stdout;
      expect(human).toMatch(/^ID\s+NAME\s+PREFIX\s+CREATED\s+LAST USED\s+REVOKED/);
      expect(human).toContain(created.apiKey.id);
      expect(human).not.toContain(created.key);
      // The new key works, then is revoked and refused on its very next call (exit 77).
      expect(await ok(['keys', 'list'], { HOOKYARD_API_KEY: created.key })).toEqual(expect.arrayContaining([expect.objectContaining({ id: created.apiKey.id, revokedAt: null })]));
      const revoked = await ok(['keys', 'revoke', created.apiKey.id]);
      expect(revoked).toMatchObject({ id: created.apiKey.id, revokedAt: expect.any(String) });
      await expect(cli(['keys', 'list'], { ...env, HOOKYARD_API_KEY: created.key })).rejects.toMatchObject({ code: 77 });
      await expect(cli(['keys', 'revoke'], env)).rejects.toMatchObject({ code: 64 });
      await expect(cli(['keys', 'revoke', 'key_00000000000000000000000000'], env)).rejects.toMatchObject({ code: 66 });
    } finally {
      expect(await server.kill('SIGTERM')).toBe(0);
    }
  }, 60_000);

  it('says what to do when keys create --tenant meets the embedded database held by a running server', async () => {
    const { mkdtemp, rm } = await import('node:fs/promises');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const dataDir = await mkdtemp(join(tmpdir(), 'hookyard-cli-lock-'));
    const server = await startInstance({ HOOKYARD_DATA_DIR: dataDir, HOOKYARD_ROLE: 'api' });
    try {
      const env = { DATABASE_URL: '', HOOKYARD_DATA_DIR: dataDir };
      const failed = await run(process.execPath, [BIN, 'keys', 'create', '--tenant', 'acme'], { env: { PATH: process.env.PATH ?? '', LOG_LEVEL: 'warn', ...env } }).catch(
        (e: { code: number; stderr: string }) => e,
      );
      expect(failed).toMatchObject({ code: 69 });
      const stderr = (failed as { stderr: string }).stderr;
      expect(stderr).toContain(`pid ${server.proc.pid}`);
      expect(stderr).toMatch(/stop that server \(kill \d+\), run this command again/);
      expect(stderr).toMatch(/hookyard keys create --name cli --server http:\/\/localhost:\d+ --api-key/);
      expect(stderr).not.toMatch(/^\s+at /m); // no stack trace
    } finally {
      expect(await server.kill('SIGTERM')).toBe(0);
      await rm(dataDir, { recursive: true, force: true });
    }
  }, 60_000);
});
