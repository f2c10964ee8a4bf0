// The real entry point: `hookyard migrate`, `hookyard keys create`, and a clean exit on SIGTERM;
// per-command help and refusals, `hookyard listen` receiving real deliveries, `hookyard dev`.
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { graphqlClient } from '../../src/client/graphql.js';
import { CliListDeliveries } from '../../src/cli/operations.js';
import { createTestDatabase, TEST_ENCRYPTION_KEY, type TestDatabase } from '../helpers/db.js';
import { startInstance } from '../helpers/instances.js';
import { CreateEndpoint, ListEndpoints, SendEvent } from '../helpers/operations.js';

const run = promisify(execFile);
const BIN = fileURLToPath(new URL('../../bin/hookyard.js', import.meta.url));
let database: TestDatabase;

beforeAll(async () => {
  database = await createTestDatabase('postgres');
});
afterAll(() => database?.drop());

const baseEnv = () => ({ PATH: process.env.PATH ?? '', DATABASE_URL: database.databaseUrl!, HOOKYARD_ENCRYPTION_KEY: TEST_ENCRYPTION_KEY, LOG_LEVEL: 'warn' });
// The timeout kills a process that would keep running (a server started by mistake): the test then fails.
const cli = (args: string[], env: Record<string, string> = {}) => run(process.execPath, [BIN, ...args], { env: { ...baseEnv(), ...env }, timeout: 60_000 });
type Failed = { code: number; stdout: string; stderr: string };
const failure = (args: string[], env: Record<string, string> = {}) =>
  cli(args, env).then(
    (r) => {
      throw new Error(`expected hookyard ${args.join(' ')} to fail; it printed ${r.stdout}`);
    },
    (e: Failed) => e,
  );

/** A long-running CLI process (listen, dev) whose output is awaited line by line. */
function spawnCli(args: string[], env: Record<string, string> = {}) {
  const proc: ChildProcess = spawn(process.execPath, [BIN, ...args], { env: { ...baseEnv(), ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const out = { stdout: '', stderr: '' };
  proc.stdout!.on('data', (c: Buffer) => (out.stdout += c.toString()));
  proc.stderr!.on('data', (c: Buffer) => (out.stderr += c.toString()));
  const exited = new Promise<number | null>((resolve) => proc.on('exit', (code) => resolve(code)));
  return {
    proc,
    out,
    exited,
    async waitFor(stream: 'stdout' | 'stderr', pattern: RegExp, timeoutMs = 45_000): Promise<RegExpExecArray> {
      return vi.waitFor(
        () => {
          const m = pattern.exec(out[stream]);
          if (!m) throw new Error(`no ${pattern} on ${stream} (exit code ${proc.exitCode}):\n${out.stdout}\n${out.stderr}`);
          return m;
        },
        { timeout: timeoutMs, interval: 50 },
      );
    },
    stop(signal: NodeJS.Signals = 'SIGINT') {
      if (proc.exitCode === null) proc.kill(signal);
      return exited;
    },
  };
}

async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
  const { port } = srv.address() as { port: number };
  await new Promise((r) => srv.close(r));
  return port;
}

const api = (url: string, key: string) => graphqlClient({ url: `${url}/graphql`, apiKey: key });

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
      const res = await api(server.url, minted.key).execute(CreateEndpoint, { input: { url: 'https://hooks.example.com/a' } });
      expect(res.errors).toBeUndefined();
      expect(JSON.stringify(server.logs)).not.toContain(minted.key);
    } finally {
      expect(await server.kill('SIGTERM')).toBe(0);
    }
    const order = server.logs.map((l) => /"msg":"(stopping: \d\/5)/.exec(l)?.[1]).filter(Boolean);
    expect(order).toEqual(['stopping: 1/5', 'stopping: 2/5', 'stopping: 3/5', 'stopping: 4/5', 'stopping: 5/5']);
  }, 60_000);

  it('gives every command its own help (exit 0) and never starts a server for it; a bare hookyard prints help', async () => {
    // A server would keep the process running (and bind PORT): each of these must exit by itself.
    const port = await freePort();
    const cases: [string[], RegExp][] = [
      [[], /^Usage: hookyard <command> \[options\][\s\S]*serve[\s\S]*listen[\s\S]*deliveries/],
      [['--help'], /^Usage: hookyard <command> \[options\]/],
      [['serve', '--help'], /^Usage: hookyard serve \[options\]/],
      [['dev', '--help'], /^Usage: hookyard dev \[options\]/],
      [['keys', '--help'], /^Usage: hookyard keys[\s\S]*list[\s\S]*create[\s\S]*revoke/],
      [['deliveries', 'replay', '--help'], /^Usage: hookyard deliveries replay \[options\] <id>[\s\S]*--api-key/],
      [['listen', '--help'], /^Usage: hookyard listen \[options\][\s\S]*--port[\s\S]*--secret[\s\S]*--status/],
      [['help', 'events'], /^Usage: hookyard events[\s\S]*send[\s\S]*trigger/],
    ];
    const results = await Promise.all(cases.map(([args]) => cli(args, { PORT: String(port), HOST: '127.0.0.1' })));
    results.forEach((r, i) => {
      expect(r.stdout, cases[i]![0].join(' ')).toMatch(cases[i]![1]);
      expect(r.stdout + r.stderr).not.toContain('hookyard started');
    });
    // The port is still free: nothing listened on it.
    await new Promise<void>((resolve, reject) => {
      const srv = createServer().once('error', reject);
      srv.listen(port, '127.0.0.1', () => srv.close(() => resolve()));
    });
  }, 120_000);

  it('refuses unknown commands and flags with exit 64 and a hint, as JSON with a code under --json', async () => {
    const [typo, flag, json, group, status] = await Promise.all([
      failure(['kyes', 'list']),
      failure(['endpoints', 'list', '--stauts', 'ACTIVE']),
      failure(['deliveries', 'list', '--bogus', '--json']),
      failure(['keys']),
      failure(['listen', '--status', '42']),
    ]);
    expect(status).toMatchObject({ code: 64 });
    expect(status.stderr).toContain('--status is a whole number from 200 to 599');
    expect(typo).toMatchObject({ code: 64 });
    expect(typo.stderr).toContain("unknown command 'kyes'");
    expect(typo.stderr).toContain('(Did you mean keys?)');
    expect(flag).toMatchObject({ code: 64 });
    expect(flag.stderr).toContain("unknown option '--stauts'");
    expect(flag.stderr).toContain('(Did you mean --status?)');
    expect(json).toMatchObject({ code: 64 });
    expect(JSON.parse(json.stdout)).toEqual({ error: { code: 'USAGE', message: expect.stringContaining("unknown option '--bogus'") } });
    expect(group).toMatchObject({ code: 64 }); // a group without its subcommand: its help, as a usage error
    expect(group.stderr).toMatch(/Usage: hookyard keys/);
  }, 120_000);

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

      // failed[0] has a newer replay (superseded), so four of the five still count.
      const dry = await ok(['deliveries', 'bulk-replay', '--endpoint', down.endpoint.id, '--dry-run', '--until', cutoff]);
      expect(dry).toMatchObject({ dryRun: true, enqueued: 3, capped: true, totalMatching: 4 });
      const all = await cli(['deliveries', 'bulk-replay', '--endpoint', down.endpoint.id, '--all', '--until', cutoff], env);
      expect(all.stdout).toMatch(/replayed 4 of 4 matching deliveries in 2 call/);
      expect(all.stderr).toMatch(/replayed 3\/4 \(75%\)[\s\S]*replayed 4\/4 \(100%\)/);

      const refused = await failure(['endpoints', 'list'], { ...env, HOOKYARD_API_KEY: 'hy_wrong_wrong_wrong_wrong_wrong' });
      expect(refused).toMatchObject({ code: 77 });
      expect(refused.stderr).toContain('that API key was not accepted');
      expect(await code(['deliveries', 'replay', 'dlv_00000000000000000000000000'])).toBe(66);
      expect(await code(['deliveries', 'replay', 'not-an-id'])).toBe(65);
      expect(await code(['events', 'send'])).toBe(64);
      expect(await code(['events', 'send', '--type', 'x', '--data', '{oops'])).toBe(64);
      const unreachable = await failure(['endpoints', 'list', '--json'], { ...env, HOOKYARD_URL: 'http://127.0.0.1:1234' });
      expect(unreachable).toMatchObject({ code: 69 });
      expect(JSON.parse(unreachable.stdout).error).toMatchObject({ code: 'SERVER_UNREACHABLE', message: expect.stringContaining('cannot reach http://127.0.0.1:1234') });
      // The start log names the pages and warns that private targets are allowed.
      expect(server.logs.join('\n')).toMatch(/"dashboard":"http:\/\/127\.0\.0\.1:\d+\/","graphiql":"http:\/\/127\.0\.0\.1:\d+\/graphql"/);
      expect(server.logs.join('\n')).toContain('HOOKYARD_ALLOW_PRIVATE_TARGETS is on');
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

describe('hookyard listen and hookyard dev', () => {
  it('listen receives real signed deliveries: verified with the endpoint secret, NOT verified with another, answering --status', async () => {
    const key = 'hy_cli_listen_key_0123456789abcdef';
    const server = await startInstance({
      DATABASE_URL: database.databaseUrl!,
      HOOKYARD_BOOTSTRAP_API_KEY: key,
      HOOKYARD_RETRY_SCHEDULE: '0s',
      HOOKYARD_POLL_INTERVAL_MS: '100',
    });
    const [goodPort, badPort] = [await freePort(), await freePort()];
    const create = (port: number) =>
      api(server.url, key).request(CreateEndpoint, { input: { url: `http://127.0.0.1:${port}/hooks`, eventTypes: ['listen.*'] } });
    const good = (await create(goodPort)).createEndpoint;
    const bad = (await create(badPort)).createEndpoint;
    const otherSecret = `whsec_${Buffer.alloc(24, 7).toString('base64')}`;
    const verified = spawnCli(['listen', '--port', String(goodPort), '--secret', good.secret, '--json']);
    const refused = spawnCli(['listen', '--port', String(badPort), '--secret', otherSecret, '--status', '503']);
    try {
      await verified.waitFor('stderr', /receiving webhooks on http:\/\/127\.0\.0\.1:\d+/);
      await refused.waitFor('stderr', /answering 503/);
      const sent = await api(server.url, key).request(SendEvent, { input: { eventType: 'listen.ping', payload: { hello: 'world' } } });
      const eventId = sent.sendEvent.event.id;

      const line = (await verified.waitFor('stdout', /^\{.*\}$/m))[0];
      const received = JSON.parse(line);
      expect(received).toMatchObject({
        eventType: 'listen.ping',
        webhookId: eventId,
        deliveryId: expect.stringMatching(/^dlv_/),
        attempt: 1,
        verified: true,
        path: '/hooks',
        payload: { id: eventId, type: 'listen.ping', data: { hello: 'world' } },
      });

      const human = await refused.waitFor('stdout', /listen\.ping[\s\S]*signature NOT verified/);
      expect(human[0]).toContain(`webhook-id ${eventId}`);
      expect(human[0]).toMatch(/delivery dlv_\w+ {2}attempt 1/);
      // The delivery saw the status listen answered with.
      const { eventually } = await import('../helpers/testApp.js');
      await eventually(async () => {
        const d = await api(server.url, key).request(CliListDeliveries, { filter: { endpointId: bad.endpoint.id } });
        const node = d.deliveries.edges[0]?.node;
        return node?.status === 'FAILED' && node.lastResponseStatus === 503;
      }, 30_000);

      // Stops cleanly on SIGINT and SIGTERM.
      expect(await verified.stop('SIGINT')).toBe(0);
      expect(await refused.stop('SIGTERM')).toBe(0);
    } finally {
      await verified.stop('SIGKILL');
      await refused.stop('SIGKILL');
      await server.kill('SIGTERM');
    }
  }, 120_000);

  it('dev starts with private targets allowed and prints a working key, the dashboard and GraphiQL URLs and a hint; a restart reuses the key', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'hookyard-dev-'));
    // HOST set by the user wins over the dev default (127.0.0.1): the start log then warns about a public bind with a key.
    const env = { PORT: '0', HOST: '0.0.0.0', HOOKYARD_DATA_DIR: dataDir };
    const dev = spawnCli(['dev'], env);
    try {
      const [, url] = await dev.waitFor('stdout', /Hookyard dev server on (http:\/\/\S+)/);
      const [, key] = await dev.waitFor('stdout', /API key\s+(hy_\S+)/);
      const base = url!.replace('localhost', '127.0.0.1');
      expect(dev.out.stdout).toContain(`dashboard   ${url}/`);
      expect(dev.out.stdout).toContain(`GraphiQL    ${url}/graphql`);
      expect(dev.out.stdout).toContain('hookyard listen --port 3000');
      expect(dev.out.stdout).toContain(`HOOKYARD_API_KEY=${key} hookyard endpoints create --url http://127.0.0.1:3000`);
      const keyFile = join(dataDir, 'dev-api-key');
      expect(dev.out.stdout).toContain(`new, kept in ${keyFile} (mode 0600) for the next start; delete that file for a new one`);
      expect(statSync(keyFile).mode & 0o777).toBe(0o600);
      // The printed key works, and a loopback endpoint is accepted (private targets allowed).
      const created = await api(base, key!).request(CreateEndpoint, { input: { url: 'http://127.0.0.1:3000/' } });
      expect(created.createEndpoint.endpoint.url).toBe('http://127.0.0.1:3000/');
      expect((await fetch(`${base}/`)).status).toBe(200);
      const logs = dev.out.stdout + dev.out.stderr;
      expect(logs).toContain('HOOKYARD_ALLOW_PRIVATE_TARGETS is on');
      expect(logs).toContain('listening on every interface with HOOKYARD_BOOTSTRAP_API_KEY set');
      expect(await dev.stop('SIGTERM')).toBe(0);

      // Restarted on the same data directory: the same key, still working, and said to be kept.
      const again = spawnCli(['dev'], env);
      try {
        const [, url2] = await again.waitFor('stdout', /Hookyard dev server on (http:\/\/\S+)/);
        const [, key2] = await again.waitFor('stdout', /API key\s+(hy_\S+)/);
        expect(key2).toBe(key);
        expect(again.out.stdout).toContain(`(tenant "default"; kept in ${keyFile} (mode 0600)`);
        // The database is this file's shared one: other tests' endpoints of tenant "default" are there too.
        const listed = await api(url2!.replace('localhost', '127.0.0.1').replace(/\/$/, ''), key2!).request(ListEndpoints, { first: 100 });
        expect(listed.endpoints.edges.map((e) => e.node.id)).toContain(created.createEndpoint.endpoint.id);
        expect(await again.stop('SIGTERM')).toBe(0);
      } finally {
        await again.stop('SIGKILL');
      }
    } finally {
      await dev.stop('SIGKILL');
      rmSync(dataDir, { recursive: true, force: true });
    }
  }, 120_000);
});
