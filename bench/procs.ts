// Child processes for benchmarks and the soak: the receiver and Hookyard instances.
import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('..', import.meta.url));

export interface Proc {
  proc: ChildProcess;
  lines: string[];
  kill(signal?: NodeJS.Signals): Promise<void>;
}

/** Spawns `node --import tsx <script> ...args` and resolves once a stdout line satisfies `ready`. */
export function spawnTs(
  script: string,
  args: string[],
  env: Record<string, string>,
  ready: (line: string) => boolean,
  nodeArgs: string[] = [],
): Promise<Proc & { readyLine: string }> {
  return spawnNode([...nodeArgs, '--import', 'tsx', script, ...args], env, ready);
}

/** Spawns `node ...argv` (plain node: built code needs no tsx) and resolves as spawnTs does. */
export function spawnNode(argv: string[], env: Record<string, string>, ready: (line: string) => boolean): Promise<Proc & { readyLine: string }> {
  const script = [...argv].reverse().find((a) => /\.(ts|js|mjs)$/.test(a) && !a.startsWith('-')) ?? argv.join(' ');
  const proc = spawn(process.execPath, argv, {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  const exited = new Promise<void>((resolve) => proc.on('exit', () => resolve()));
  return new Promise((resolve, reject) => {
    let buf = '';
    const timer = setTimeout(() => reject(new Error(`${script} did not start:\n${lines.slice(-20).join('\n')}`)), 60_000);
    const onData = (chunk: Buffer) => {
      buf += chunk.toString();
      const parts = buf.split('\n');
      buf = parts.pop() ?? '';
      for (const line of parts) {
        if (lines.length < 2000) lines.push(line);
        if (ready(line)) {
          clearTimeout(timer);
          resolve({
            proc,
            lines,
            readyLine: line,
            async kill(signal = 'SIGTERM') {
              if (proc.exitCode === null && proc.signalCode === null) proc.kill(signal);
              await exited;
            },
          });
        }
      }
    };
    proc.stdout!.on('data', onData);
    proc.stderr!.on('data', onData);
    proc.on('exit', (code) => reject(new Error(`${script} exited ${code}:\n${lines.slice(-20).join('\n')}`)));
  });
}

export async function startReceiverProc(env: Record<string, string> = {}) {
  const p = await spawnTs('bench/receiver.ts', [], env, (l) => l.startsWith('{"port"'));
  const port = (JSON.parse(p.readyLine) as { port: number }).port;
  const url = `http://127.0.0.1:${port}`;
  return {
    ...p,
    url,
    async stats() {
      return (await (await fetch(`${url}/__stats`)).json()) as { count: number; arrivals: [string, string, number, string][]; poisoned: [string, string][] };
    },
    async count() {
      return Number(await (await fetch(`${url}/__count`)).text());
    },
    async reset() {
      await fetch(`${url}/__reset`, { method: 'POST' });
    },
  };
}

/** Shared by every instance of one run, as a deployment's instances share theirs. */
const BENCH_ENCRYPTION_KEY = 'YmVuY2gta2V5LWZvci1ob29reWFyZC1iZW5jaGVzLTA=';

/**
 * A Hookyard server from the sources through tsx, or with `built` from dist/ (`npm run build`) with
 * plain node, as `npm run start:prod` runs it (no tsx compiler in memory: what memory figures need);
 * `distDir` is another build's output (`node scripts/build.mjs --out DIR`), for a long run that a
 * rebuild of dist/ must not change under it.
 */
export async function startHookyard(env: Record<string, string>, nodeArgs: string[] = [], options: { built?: boolean; distDir?: string } = {}) {
  const fullEnv = { PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'warn', HOOKYARD_ALLOW_PRIVATE_TARGETS: 'true', HOOKYARD_ENCRYPTION_KEY: BENCH_ENCRYPTION_KEY, ...env };
  const ready = (l: string) => l.includes('"hookyard started"');
  const p = options.built
    ? await spawnNode([...nodeArgs, `${options.distDir ?? 'dist'}/src/main.js`, 'serve'], fullEnv, ready)
    : await spawnTs('src/main.ts', ['serve'], fullEnv, ready, nodeArgs);
  return { ...p, url: (JSON.parse(p.readyLine) as { url: string }).url.replace(/\/graphql$/, '') };
}

/**
 * A fresh, migrated PostgreSQL database opened in this process (for seeding and checking), with
 * an API key for tenant `tenantName`. `drop()` closes and removes it.
 */
export async function createBenchDatabase(prefix: string, tenantName: string) {
  const { randomBytes } = await import('node:crypto');
  const pg = (await import('pg')).default;
  const { createApiKey } = await import('../src/auth/apiKeys.js');
  const { openDatabase } = await import('../src/db/client.js');
  const { migrate } = await import('../src/db/migrate.js');
  const { createLogger } = await import('../src/logger.js');
  const adminUrl = process.env.HOOKYARD_TEST_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
  const admin = async (sql: string) => {
    const c = new pg.Client({ connectionString: adminUrl });
    await c.connect();
    try {
      await c.query(sql);
    } finally {
      await c.end();
    }
  };
  const name = `${prefix}_${randomBytes(4).toString('hex')}`;
  await admin(`CREATE DATABASE ${name}`);
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  const logger = createLogger('warn');
  const database = await openDatabase({ databaseUrl: url.toString(), dataDir: '' }, logger);
  await migrate(database, logger);
  const { key, tenantId } = await createApiKey(database.prisma, tenantName);
  return {
    databaseUrl: url.toString(),
    prisma: database.prisma,
    key,
    tenantId,
    async drop() {
      await database.close();
      await admin(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`).catch(() => {});
    },
  };
}
