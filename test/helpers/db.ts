// A fresh, empty database per test file: a new PostgreSQL database on the machine's server, or a
// new PGlite directory. Dropped at the end.
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';

export const ADMIN_URL = process.env.HOOKYARD_TEST_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
export const REDIS_URL = process.env.HOOKYARD_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

/** Every test instance on PostgreSQL shares this key (HOOKYARD_ENCRYPTION_KEY), as a deployment's instances would. */
export const TEST_ENCRYPTION_KEY = 'dGVzdC1rZXktZm9yLWhvb2t5YXJkLXRlc3RzLTAxMjM=';

export type DbKind = 'pglite' | 'postgres';

export function testDbKind(): DbKind {
  const kind = process.env.HOOKYARD_TEST_DB ?? 'pglite';
  if (kind !== 'pglite' && kind !== 'postgres') throw new Error(`HOOKYARD_TEST_DB=${kind}`);
  return kind;
}

export interface TestDatabase {
  kind: DbKind;
  /** DATABASE_URL for postgres; unset for pglite. */
  databaseUrl?: string;
  dataDir: string;
  drop(): Promise<void>;
}

async function admin<T>(fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: ADMIN_URL });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

export async function createTestDatabase(kind: DbKind = testDbKind()): Promise<TestDatabase> {
  const dataDir = await mkdtemp(join(tmpdir(), 'hookyard-test-'));
  if (kind === 'pglite') {
    return { kind, dataDir, drop: () => rm(dataDir, { recursive: true, force: true }) };
  }
  const name = `hy_test_${randomBytes(6).toString('hex')}`;
  await admin((c) => c.query(`CREATE DATABASE ${name}`));
  const url = new URL(ADMIN_URL);
  url.pathname = `/${name}`;
  return {
    kind,
    databaseUrl: url.toString(),
    dataDir,
    async drop() {
      await admin((c) => c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}
