// Process entry: the command tree is src/cli/program.ts; this file holds the commands that run the
// server or open the database (`serve`, `dev`, `migrate`, `keys create --tenant NAME`).
import v8 from 'node:v8';
import { EXIT } from './cli/client.js';
import { KEEP_RUNNING, runCli } from './cli/program.js';
import { ConfigError, loadClientConfig, loadConfig, type Config } from './config.js';
import type { Database } from './db/client.js';
import { createLogger } from './logger.js';
import { holdYoungGeneration } from './startupHeap.js';

// The server, database and Prisma modules load only for the commands that use them, so `--help`
// and the client commands start in a fraction of the time.
const server = () => import('./app.js');
const database = () => Promise.all([import('./db/client.js'), import('./db/migrate.js')]);

/**
 * How far V8 lets the old generation grow past what the last full GC left alive, in percent, for a
 * process that dispatches. V8's default on a machine this size lets it grow to 4 × the live heap
 * before the next full GC; a dispatcher at saturation promotes short-lived per-delivery objects
 * steadily (each lives as long as its HTTP attempt), so its old space filled to ~175 MiB of which
 * ~40 MiB was live: that garbage was most of its peak RSS. Measured in BENCHMARKS.md (issue 11,
 * item 2, dispatcher): peak RSS and CPU per delivery with and without it.
 */
const DISPATCHER_HEAP_GROWING_PERCENT = 25;

/**
 * Set at run time, so it holds for `npm run start:prod`, `hookyard serve` and the container alike
 * (NODE_OPTIONS refuses this flag); V8 reads it each time it sets the next limit. An operator's
 * own `node --heap-growing-percent=N` wins.
 */
function tuneHeapForDispatch(config: Config): void {
  if (config.role === 'dispatcher' && !process.execArgv.some((a) => /^--heap[-_]growing[-_]percent/.test(a))) {
    v8.setFlagsFromString(`--heap-growing-percent=${DISPATCHER_HEAP_GROWING_PERCENT}`);
  }
}

async function serve(config: Config): Promise<{ url: string }> {
  tuneHeapForDispatch(config);
  // Start-up's long-lived objects must not grow V8's young generation (src/startupHeap.ts).
  const youngGeneration = holdYoungGeneration();
  const { buildApp } = await server();
  const app = buildApp(config);
  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) {
      app.logger.warn({ signal }, 'second signal: exiting at once');
      process.exit(1);
    }
    stopping = true;
    app.logger.info({ signal }, 'shutting down');
    app.stop().then(
      () => process.exit(0),
      (err: unknown) => {
        app.logger.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
  try {
    return await app.start();
  } finally {
    youngGeneration.release();
  }
}

async function withDatabase(config: Config, fn: (db: Database) => Promise<void>): Promise<void> {
  const logger = createLogger(config.logLevel === 'info' ? 'warn' : config.logLevel);
  const [{ openDatabase }, { migrate }] = await database();
  const db = await openDatabase(config, logger);
  try {
    await migrate(db, logger);
    await fn(db);
  } finally {
    await db.close();
  }
}

/** Config from the environment (or `env`); a bad one is reported with every problem and exit 78. */
function config(env: Record<string, string | undefined> = process.env): Config {
  try {
    return loadConfig(env);
  } catch (err) {
    if (err instanceof ConfigError) throw Object.assign(new Error(err.message), { exitCode: EXIT.config });
    throw err;
  }
}

async function migrateCommand(): Promise<number> {
  const cfg = config();
  const logger = createLogger(cfg.logLevel);
  const [{ openDatabase }, { migrate }] = await database();
  const db = await openDatabase(cfg, logger);
  try {
    const applied = await migrate(db, logger);
    console.log(applied.length ? `applied: ${applied.join(', ')}` : 'database is up to date');
  } finally {
    await db.close();
  }
  return EXIT.ok;
}

async function mintKey(tenant: string, name: string | undefined, json: boolean): Promise<number> {
  const cfg = config();
  const { createApiKey } = await import('./auth/apiKeys.js');
  const { DataDirectoryInUse } = await import('./db/client.js');
  try {
    await withDatabase(cfg, async (db) => {
      const { key, tenantId, id } = await createApiKey(db.prisma, tenant, name ?? 'cli');
      if (json) console.log(JSON.stringify({ key, tenantId, keyId: id, tenant }));
      else console.log(`API key for tenant ${tenant} (${tenantId}), shown once:\n${key}`);
    });
  } catch (err) {
    if (!(err instanceof DataDirectoryInUse)) throw err;
    // The embedded database admits one process: say what works instead of a lock error.
    console.error(
      [
        `The embedded database (${err.dataDir}) is open in a running Hookyard server (pid ${err.pid}); a second process cannot open it.`,
        `To mint the first key for tenant "${tenant}": stop that server (kill ${err.pid}), run this command again, then start the server.`,
        `For another key of a tenant you already hold a key for, ask the running server instead:`,
        `  hookyard keys create --name ${name ?? 'cli'} --server http://localhost:${cfg.port} --api-key <a key of that tenant>`,
        `(With DATABASE_URL set to PostgreSQL, keys create --tenant works while servers run.)`,
      ].join('\n'),
    );
    return EXIT.unavailable;
  }
  return EXIT.ok;
}

async function dev(): Promise<void> {
  const { devApiKey, devBanner, devEnv } = await import('./cli/dev.js');
  const env = devEnv(process.env);
  let cfg = config(env);
  let key: import('./cli/dev.js').DevKeySource = { from: 'env' };
  if (!cfg.bootstrapApiKey) {
    const stored = await devApiKey(cfg.dataDir);
    cfg = { ...cfg, bootstrapApiKey: stored.key };
    key = { from: 'file', file: stored.file, created: stored.created };
  }
  const { url } = await serve(cfg);
  console.log(
    devBanner({
      url,
      apiKey: cfg.bootstrapApiKey!,
      key,
      retrySchedule: env.HOOKYARD_RETRY_SCHEDULE!,
      allowPrivateTargets: cfg.allowPrivateTargets,
    }).join('\n'),
  );
}

let lastProgress = '';
runCli(process.argv.slice(2), {
  io: {
    out: (line) => console.log(line),
    err: (line) => console.error(line),
    progress: (line) => {
      // Rewrite one line on a terminal; plain lines otherwise (logs, pipes).
      if (process.stderr.isTTY) process.stderr.write(`\r\x1b[K${line}`);
      else if (line && line !== lastProgress) process.stderr.write(`${line}\n`);
      lastProgress = line;
    },
  },
  clientConfig: (flags) => loadClientConfig(flags),
  server: {
    serve: async () => {
      await serve(config());
    },
    dev,
    migrate: migrateCommand,
    mintKey,
  },
}).then(
  (code) => {
    if (code !== KEEP_RUNNING) process.exit(code);
  },
  (err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit((err as { exitCode?: number }).exitCode ?? 1);
  },
);
