// Opens a database: PostgreSQL when DATABASE_URL is set, otherwise an embedded PGlite database in
// the data directory. No module state: the caller hands the Database (or its client) to whatever
// needs it, so several apps can run in one process on separate databases.
import { mkdir, open, readFile, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { PrismaPg } from '@prisma/adapter-pg';
import pg from 'pg';
import type { Config } from '../config.js';
import { PrismaClient } from '../generated/prisma/client.js';
import type { Logger } from '../logger.js';

export type { PrismaClient };

/** Runs migration scripts: several statements in one string, inside one transaction. */
export interface ScriptRunner {
  script(sql: string): Promise<void>;
  /** Serialises migrators across processes sharing the database. */
  withMigrationLock<T>(fn: () => Promise<T>): Promise<T>;
}

/**
 * One raw SQL statement with positional parameters ($1…); json/jsonb columns come back parsed.
 * A `name` makes it a prepared statement on PostgreSQL (parsed and planned once per connection,
 * then a generic plan if the server finds it no dearer): only for a fixed text whose generic plan
 * is known to stay good. Elsewhere the name is ignored.
 */
export type RawQuery = <T>(sql: string, params: unknown[], name?: string) => Promise<T[]>;

/** A RawQuery through Prisma's raw path (PGlite, or a Prisma transaction). */
export function prismaQuery(prisma: Pick<PrismaClient, '$queryRawUnsafe'>): RawQuery {
  return <T>(sql: string, params: unknown[]) => prisma.$queryRawUnsafe<T[]>(sql, ...params);
}

export interface Database {
  kind: 'postgres' | 'pglite';
  prisma: PrismaClient;
  /**
   * Raw statements on the hot paths (sendEvent's insert, the dispatcher's claims and outcomes),
   * each reaching its rows by key. On PostgreSQL they go straight to a `pg` pool of their own
   * (sequential scans off, see openPostgres): Prisma's raw-query path (argument serialisation, its
   * query interpreter, result decoding) cost ~11 % of the API's busy time for that one statement
   * (BENCHMARKS.md, issue 12). PGlite has no pool: there it is Prisma's $queryRawUnsafe.
   */
  query: RawQuery;
  scripts: ScriptRunner;
  /** Postgres only: a dedicated connection factory for LISTEN. */
  connectionString?: string;
  close(): Promise<void>;
}

export async function openDatabase(config: Pick<Config, 'databaseUrl' | 'dataDir'>, logger: Logger): Promise<Database> {
  return config.databaseUrl ? openPostgres(config.databaseUrl, logger) : await openPglite(resolve(config.dataDir), logger);
}

/** The hot pool's connection options (openPostgres says why). */
export const HOT_CONNECTION_OPTIONS = '-c enable_seqscan=off';

function openPostgres(connectionString: string, logger: Logger): Database {
  const pool = new pg.Pool({ connectionString, max: 20 });
  // The hot statements (`query`) have connections of their own, which refuse sequential scans.
  // They are prepared, and a prepared statement settles on a generic plan made with the table
  // sizes of that moment, kept until the next ANALYZE: made while "Delivery" was nearly empty, the
  // outcome statement's plan scanned the whole table, 2.9 ms a call after a minute at 1,000
  // deliveries/s (BENCHMARKS.md). Every row these statements read is reached through a key or a
  // partial index, so with sequential scans priced out the plan is the same at any size. Prisma's
  // queries (lists, stats, maintenance) keep the default planner on the other pool.
  const hot = new pg.Pool({ connectionString, max: 10, options: HOT_CONNECTION_OPTIONS });
  // An idle connection the server ended (restart, shutdown) is dropped by the pool and replaced on
  // demand; unheard, the event would end the process. Prisma listens only while connected.
  pool.on('error', (err) => logger.warn({ err }, 'idle database connection lost'));
  hot.on('error', (err) => logger.warn({ err }, 'idle database connection lost'));
  const prisma = new PrismaClient({ adapter: new PrismaPg(pool) });
  return {
    kind: 'postgres',
    prisma,
    query: async <T>(sql: string, params: unknown[], name?: string) =>
      (await (name ? hot.query({ name, text: sql, values: params }) : hot.query(sql, params))).rows as T[],
    connectionString,
    scripts: {
      async script(sql) {
        const client = new pg.Client({ connectionString });
        await client.connect();
        try {
          // One simple-protocol query: Postgres runs the statements as one implicit transaction.
          await client.query(sql);
        } finally {
          await client.end();
        }
      },
      async withMigrationLock(fn) {
        const client = new pg.Client({ connectionString });
        await client.connect();
        try {
          await client.query('SELECT pg_advisory_lock(72707370)');
          return await fn();
        } finally {
          await client.end(); // ends the session, releasing the lock
        }
      },
    },
    async close() {
      await prisma.$disconnect();
      await Promise.all([pool.end(), hot.end()]); // external pools: Prisma's adapter leaves them open
    },
  };
}

async function openPglite(dataDir: string, logger: Logger): Promise<Database> {
  await mkdir(dataDir, { recursive: true });
  const releaseLock = await lockDataDir(dataDir);
  try {
    // Imported only when used: loading PGlite costs ~40 MB of RSS that a PostgreSQL instance never needs.
    const [{ PGlite }, { PrismaPGlite }] = await Promise.all([import('@electric-sql/pglite'), import('pglite-prisma-adapter')]);
    const pglite = await PGlite.create(join(dataDir, 'pgdata'));
    const prisma = new PrismaClient({ adapter: new PrismaPGlite(pglite) });
    logger.info({ dataDir }, 'embedded database open');
    return {
      kind: 'pglite',
      prisma,
      query: prismaQuery(prisma),
      scripts: {
        script: async (sql) => {
          await pglite.transaction((tx) => tx.exec(sql));
        },
        withMigrationLock: (fn) => fn(), // the data-dir lock already excludes other processes
      },
      async close() {
        await prisma.$disconnect();
        await pglite.close();
        await releaseLock();
      },
    };
  } catch (err) {
    await releaseLock();
    throw err;
  }
}

/** The embedded database's directory is held by another live process (a running server). */
export class DataDirectoryInUse extends Error {
  constructor(readonly dataDir: string, readonly pid: number) {
    super(`data directory ${dataDir} is in use by process ${pid}`);
  }
}

// PGlite is single-process: a second process opening the same directory would corrupt it.
async function lockDataDir(dataDir: string): Promise<() => Promise<void>> {
  const lockPath = join(dataDir, 'hookyard.lock');
  for (let tries = 0; tries < 2; tries++) {
    try {
      const handle = await open(lockPath, 'wx');
      await handle.writeFile(String(process.pid));
      await handle.close();
      return () => rm(lockPath, { force: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const pid = Number(await readFile(lockPath, 'utf8').catch(() => ''));
      if (pid && pid !== process.pid && isAlive(pid)) {
        throw new DataDirectoryInUse(dataDir, pid);
      }
      await rm(lockPath, { force: true }); // left behind by a process that died
    }
  }
  throw new Error(`could not lock data directory ${dataDir}`);
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
