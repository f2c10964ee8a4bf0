// The production build end to end: `npm run build`'s script into a directory of its own (beside
// dist/, which other test files' CLI runs may be using), then the built code under plain node —
// migrate, serve, one event delivered to a real receiver, the prebuilt pages, SIGTERM → exit 0.
// A resolve hook makes any import of tsx, esbuild or the GraphiQL renderer fail, so the built
// server provably runs without the dev tools, and of Prisma's base64 query compiler module, so it
// provably loads the compiler from the .wasm file the build writes (the string stays out of memory).
import { execFile } from 'node:child_process';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { graphqlClient } from '../../src/client/graphql.js';
import { createTestDatabase, TEST_ENCRYPTION_KEY, type TestDatabase } from '../helpers/db.js';
import { startInstance } from '../helpers/instances.js';
import { CreateEndpoint, SendEvent } from '../helpers/operations.js';
import { startReceiver, type Receiver } from '../helpers/receiver.js';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const OUT = join(ROOT, 'test-artifacts', `build-${process.pid}`);
const KEY = 'hy_build_smoke_key_0123456789abcdef';
const DEV_ONLY = /^(tsx|esbuild|@graphql-yoga\/render-graphiql)(\/|$)/;
const BASE64_WASM = /\.wasm-base64\.m?js$/;

let database: TestDatabase;
let receiver: Receiver;
let buildSeconds = 0;

beforeAll(async () => {
  [database, receiver] = await Promise.all([createTestDatabase('postgres'), startReceiver()]);
  const pkg = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
  expect(pkg.scripts.build).toBe('node scripts/build.mjs');
  const started = performance.now();
  await run(process.execPath, ['scripts/build.mjs', '--out', OUT], { cwd: ROOT });
  buildSeconds = (performance.now() - started) / 1000;
  await writeFile(
    join(OUT, 'deny-dev.mjs'),
    `export async function resolve(specifier, context, next) {
       if (${DEV_ONLY}.test(specifier)) throw new Error('dev-only module ' + specifier + ' imported at run time');
       if (${BASE64_WASM}.test(specifier)) throw new Error('base64 wasm module ' + specifier + ' imported at run time');
       return next(specifier, context);
     }\n`,
  );
  await writeFile(join(OUT, 'register.mjs'), `import { register } from 'node:module';\nregister('./deny-dev.mjs', import.meta.url);\n`);
}, 180_000);

afterAll(async () => {
  await Promise.all([database?.drop(), receiver?.close(), rm(OUT, { recursive: true, force: true })]);
});

describe('the built server (npm run build, npm run start:prod)', () => {
  it('migrates, serves, delivers one event and stops cleanly with plain node', async () => {
    console.log(`build: ${buildSeconds.toFixed(1)} s`);
    const env = { DATABASE_URL: database.databaseUrl!, HOOKYARD_ENCRYPTION_KEY: TEST_ENCRYPTION_KEY, LOG_LEVEL: 'warn', PATH: process.env.PATH ?? '' };
    const entry = join(OUT, 'src', 'main.js');
    const migrated = await run(process.execPath, ['--import', join(OUT, 'register.mjs'), entry, 'migrate'], { cwd: ROOT, env });
    expect(migrated.stdout).toMatch(/applied: \d+_init/);

    // start:prod's own arguments, pointed at this build.
    const pkg = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
    expect(pkg.scripts['start:prod']).toBe('node dist/src/main.js serve');
    const server = await startInstance(
      // Two send threads: the compiled worker entry (dist/src/dispatcher/sendWorker.js) must load
      // under plain node too, with the dev tools forbidden in the threads as well.
      { DATABASE_URL: database.databaseUrl!, HOOKYARD_ENCRYPTION_KEY: TEST_ENCRYPTION_KEY, HOOKYARD_BOOTSTRAP_API_KEY: KEY, HOOKYARD_POLL_INTERVAL_MS: '100', HOOKYARD_DISPATCH_THREADS: '2' },
      ['--import', join(OUT, 'register.mjs'), entry, 'serve'],
    );
    let exit: number | null | undefined;
    try {
      const api = graphqlClient({ url: `${server.url}/graphql`, apiKey: KEY });
      const created = await api.request(CreateEndpoint, { input: { url: `${receiver.url}/hook` } });
      expect(created.createEndpoint.endpoint.id).toMatch(/^ep_/);
      const sent = await api.request(SendEvent, { input: { eventType: 'build.smoke', payload: { ok: true } } });
      expect(sent.sendEvent.deliveriesCreated).toBe(1);
      const [hit] = await receiver.waitFor(1, 30_000);
      expect(hit!.path).toBe('/hook');
      expect(JSON.parse(hit!.body)).toMatchObject({ type: 'build.smoke', data: { ok: true } });

      // The prebuilt pages, byte for byte: nothing was rendered at run time (the hook forbids it).
      const page = async (path: string, accept = '*/*') => Buffer.from(await (await fetch(`${server.url}${path}`, { headers: { accept } })).arrayBuffer());
      expect((await page('/dashboard.js')).equals(await readFile(join(OUT, 'assets', 'dashboard.js')))).toBe(true);
      expect((await page('/')).equals(await readFile(join(OUT, 'assets', 'index.html')))).toBe(true);
      expect((await page('/graphql', 'text/html')).equals(await readFile(join(OUT, 'assets', 'graphiql.html')))).toBe(true);
      // Compressed at build time; fetch() inflates it again.
      const gzipped = await fetch(`${server.url}/graphql`, { headers: { accept: 'text/html', 'accept-encoding': 'gzip' } });
      expect(gzipped.headers.get('content-encoding')).toBe('gzip');
      expect(Buffer.from(await gzipped.arrayBuffer()).equals(await readFile(join(OUT, 'assets', 'graphiql.html')))).toBe(true);
    } finally {
      exit = await server.kill('SIGTERM');
    }
    expect(exit).toBe(0);
    expect(server.logs.join('\n')).not.toMatch(/dev-only module|base64 wasm module/);
    expect((await readFile(join(OUT, 'assets', 'query_compiler_small_bg.postgresql.wasm'))).subarray(0, 4).toString('latin1')).toBe('\0asm');
  }, 90_000);
});
