// One instance at a time: a maintenance pass runs under a session advisory lock on a connection of
// its own, released by ending the session (a pool connection could hand the lock to an unrelated
// query, or keep it after a crash). PGlite is one process and needs none.
import pg from 'pg';
import type { Database } from '../db/client.js';

export type Query = <T>(sql: string, params: unknown[]) => Promise<T[]>;

/** Runs `pass` holding the advisory lock `key`, or returns null when another instance holds it. */
export async function runExclusive<R>(database: Database, key: number, pass: (query: Query) => Promise<R>): Promise<R | null> {
  if (database.kind === 'pglite' || !database.connectionString) {
    return pass((sql, params) => database.prisma.$queryRawUnsafe(sql, ...params));
  }
  const client = new pg.Client({ connectionString: database.connectionString });
  await client.connect();
  try {
    const { rows } = await client.query<{ locked: boolean }>('SELECT pg_try_advisory_lock($1) AS locked', [key]);
    if (!rows[0]?.locked) return null;
    return await pass(async <T>(sql: string, params: unknown[]) => (await client.query(sql, params)).rows as T[]);
  } finally {
    await client.end().catch(() => {});
  }
}
