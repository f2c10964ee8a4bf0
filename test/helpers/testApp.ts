// Starts a real Hookyard (listening on port 0) on a fresh database, with two tenants' keys.
import { buildApp, type App } from '../../src/app.js';
import { graphqlClient, subscriptionUrl, type VariablesArgs } from '../../src/client/graphql.js';
import { createApiKey } from '../../src/auth/apiKeys.js';
import { loadConfig } from '../../src/config.js';
import type { PrismaClient } from '../../src/db/client.js';
import type { Sender } from '../../src/dispatcher/send.js';
import { createLogger } from '../../src/logger.js';
import type { TypedDocumentString } from '../../src/generated/gql/graphql.js';
import { afterAll, beforeAll } from 'vitest';
import { createTestDatabase, TEST_ENCRYPTION_KEY, type TestDatabase } from './db.js';
import { type Receiver, startReceiver } from './receiver.js';

export const BOOTSTRAP_KEY = 'hy_test_bootstrap_key_0123456789';

export interface GqlError {
  message: string;
  path?: (string | number)[];
  extensions: { code: string; param?: string; requestId: string; [k: string]: unknown };
}

export interface GqlResponse<R> {
  status: number;
  headers: Headers;
  data?: R | null;
  errors?: GqlError[];
}

export interface TestApp {
  app: App;
  db: TestDatabase;
  /** This app's own database client (tests read and seed the database of the app they started). */
  prisma: PrismaClient;
  url: string;
  graphqlUrl: string;
  wsUrl: string;
  /** Tenant `default`'s key (the bootstrap key). */
  key: string;
  /** A key of another tenant, `intruder`. */
  otherKey: string;
  gql<R, V>(doc: TypedDocumentString<R, V> | string, variables?: V, key?: string | null): Promise<GqlResponse<R>>;
  /** Like gql, but returns the data; throws a GraphQLClientError (with the first error's code) on errors. */
  ok<R, V>(doc: TypedDocumentString<R, V>, variables?: V, key?: string | null): Promise<R>;
  stop(): Promise<void>;
}

export interface TestAppOptions {
  env?: Record<string, string>;
  /** Reuse a database (restarts, several instances); it is then not dropped by stop(). */
  db?: TestDatabase;
  /** The dispatcher's HTTP sender, instead of the real one. */
  sender?: Sender;
  /** Log lines (JSON) go here instead of being dropped; LOG_LEVEL is then `debug` unless env sets it. */
  logLines?: string[];
}

export async function startTestApp(options: TestAppOptions = {}): Promise<TestApp> {
  const ownDb = !options.db;
  const db = options.db ?? (await createTestDatabase());
  const config = loadConfig({
    PORT: '0',
    HOST: '127.0.0.1',
    HOOKYARD_DATA_DIR: db.dataDir,
    DATABASE_URL: db.databaseUrl,
    // PGlite runs on the key it generates in its data directory, as `npm start` does.
    HOOKYARD_ENCRYPTION_KEY: db.databaseUrl ? TEST_ENCRYPTION_KEY : undefined,
    HOOKYARD_BOOTSTRAP_API_KEY: BOOTSTRAP_KEY,
    HOOKYARD_ALLOW_PRIVATE_TARGETS: 'true',
    HOOKYARD_POLL_INTERVAL_MS: '100',
    HOOKYARD_DELIVERY_TIMEOUT_MS: '2000',
    HOOKYARD_LEASE_MS: '5000',
    HOOKYARD_SHUTDOWN_GRACE_MS: '2000',
    LOG_LEVEL: process.env.HOOKYARD_TEST_LOG_LEVEL ?? (options.logLines ? 'debug' : 'silent'),
    ...options.env,
  });
  const lines = options.logLines;
  const logger = lines ? createLogger(config.logLevel, { write: (line: string) => void lines.push(line) }) : undefined;
  const app = buildApp(config, { logger, sender: options.sender });
  const { url } = await app.start();
  const other = await createApiKey(app.database.prisma, 'intruder');
  const graphqlUrl = `${url}/graphql`;

  const client = graphqlClient({ url: graphqlUrl, apiKey: BOOTSTRAP_KEY });
  // Hookyard's errors always carry extensions.code and requestId, so the tests may read them as such.
  const gql = async <R, V>(doc: TypedDocumentString<R, V> | string, variables?: V, key: string | null = BOOTSTRAP_KEY) =>
    (await client.execute(doc, variables, { apiKey: key })) as GqlResponse<R>;

  return {
    app,
    db,
    prisma: app.database.prisma,
    url,
    graphqlUrl,
    wsUrl: subscriptionUrl(graphqlUrl),
    key: BOOTSTRAP_KEY,
    otherKey: other.key,
    gql,
    ok: <R, V>(doc: TypedDocumentString<R, V>, variables?: V, key?: string | null) => client.request(doc, ...([variables, { apiKey: key }] as VariablesArgs<V>)),
    async stop() {
      await app.stop();
      if (ownDb) await db.drop();
    },
  };
}

/** Polls `fn` until it returns a truthy value (or throws after `timeoutMs`). */
export async function eventually<T>(fn: () => Promise<T | undefined | null | false>, timeoutMs = 10_000, what = 'condition'): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await fn();
      if (value) return value;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/**
 * One database and one webhook receiver for a test file whose tests start their own apps on that
 * database (restarts, key rotation): made before the file's tests, closed and dropped after them.
 */
export function sharedDatabaseAndReceiver(): { readonly database: TestDatabase; readonly rx: Receiver } {
  let database: TestDatabase | undefined;
  let rx: Receiver | undefined;
  beforeAll(async () => {
    database = await createTestDatabase();
    rx = await startReceiver();
  });
  afterAll(async () => {
    await rx?.close();
    await database?.drop();
  });
  const ready = <T>(value: T | undefined, what: string): T => {
    if (value === undefined) throw new Error(`the shared ${what} is made in beforeAll: use it inside a test or hook`);
    return value;
  };
  return {
    get database() {
      return ready(database, 'database');
    },
    get rx() {
      return ready(rx, 'receiver');
    },
  };
}

/**
 * One app at a time on a shared database, for tests that start (and restart) their own: `start`
 * stops nothing, so a test stops before it starts again; `stop` is safe to call twice (afterEach).
 */
export function appsOn(shared: { readonly database: TestDatabase }) {
  let running: TestApp | undefined;
  return {
    async start(env: Record<string, string> = {}, options: Omit<TestAppOptions, 'db' | 'env'> = {}): Promise<TestApp> {
      running = await startTestApp({ ...options, db: shared.database, env });
      return running;
    },
    async stop(): Promise<void> {
      const app = running;
      running = undefined;
      await app?.stop();
    },
  };
}
