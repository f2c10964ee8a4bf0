// Process entry: `serve` (default), `migrate`, `keys create --tenant NAME [--name LABEL]`, and the
// client commands (src/cli/client.ts), which talk to a running server.
import { parseArgs } from 'node:util';
import { EXIT, runClientCommand, USAGE as CLIENT_USAGE } from './cli/client.js';
import { ConfigError, loadClientConfig, loadConfig, type Config } from './config.js';
import type { Database } from './db/client.js';
import { createLogger } from './logger.js';

// The server, database and Prisma modules load only for the commands that use them, so `--help`
// and the client commands start in a fraction of the time.
const server = () => import('./app.js');
const database = () => Promise.all([import('./db/client.js'), import('./db/migrate.js')]);

const USAGE = CLIENT_USAGE;
const CLIENT_COMMANDS = new Set(['endpoints', 'events', 'deliveries']);
// `keys create --tenant NAME` opens the database itself (a new tenant has no key to call with);
// every other `keys` command goes to the running server with a key.
const isLocalKeys = (argv: string[]) => argv[0] === 'keys' && argv[1] === 'create' && argv.some((a) => a === '--tenant' || a.startsWith('--tenant='));

async function serve(config: Config): Promise<void> {
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
  await app.start();
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

async function main(argv: string[]): Promise<number> {
  if (argv[0] === '--help' || argv[0] === 'help' || argv[0] === '-h') {
    console.log(USAGE);
    return 0;
  }
  if (CLIENT_COMMANDS.has(argv[0] ?? '') || (argv[0] === 'keys' && !isLocalKeys(argv))) {
    let lastProgress = '';
    return runClientCommand(argv, (flags) => loadClientConfig(flags), {
      out: (line) => console.log(line),
      err: (line) => console.error(line),
      progress: (line) => {
        // Rewrite one line on a terminal; plain lines otherwise (logs, pipes).
        if (process.stderr.isTTY) process.stderr.write(`\r\x1b[K${line}`);
        else if (line && line !== lastProgress) process.stderr.write(`${line}\n`);
        lastProgress = line;
      },
    });
  }
  let config: Config;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(err.message);
      return 78; // EX_CONFIG
    }
    throw err;
  }
  const [command = 'serve', ...rest] = argv;
  switch (command) {
    case 'serve':
      await serve(config);
      return -1; // keeps running
    case 'migrate': {
      const logger = createLogger(config.logLevel);
      const [{ openDatabase }, { migrate }] = await database();
      const db = await openDatabase(config, logger);
      try {
        const applied = await migrate(db, logger);
        console.log(applied.length ? `applied: ${applied.join(', ')}` : 'database is up to date');
      } finally {
        await db.close();
      }
      return 0;
    }
    case 'keys': {
      const { positionals, values } = parseArgs({
        args: rest,
        allowPositionals: true,
        options: { tenant: { type: 'string' }, name: { type: 'string' }, json: { type: 'boolean' } },
      });
      if (positionals[0] !== 'create' || !values.tenant) {
        console.error(USAGE);
        return EXIT.usage;
      }
      const tenant = values.tenant;
      const { createApiKey } = await import('./auth/apiKeys.js');
      const { DataDirectoryInUse } = await import('./db/client.js');
      try {
        await withDatabase(config, async (db) => {
          const { key, tenantId, id } = await createApiKey(db.prisma, tenant, values.name ?? 'cli');
          if (values.json) console.log(JSON.stringify({ key, tenantId, keyId: id, tenant }));
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
            `  hookyard keys create --name ${values.name ?? 'cli'} --server http://localhost:${config.port} --api-key <a key of that tenant>`,
            `(With DATABASE_URL set to PostgreSQL, keys create --tenant works while servers run.)`,
          ].join('\n'),
        );
        return EXIT.unavailable;
      }
      return 0;
    }
    default:
      console.error(USAGE);
      return EXIT.usage;
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code >= 0) process.exit(code);
  },
  (err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  },
);
