// Prisma's schema engine (wasm build) for development: it computes the SQL between the migrations
// folder and schema.prisma, replaying the migrations on an in-memory PGlite shadow database. The
// native engine behind `prisma migrate dev` cannot be downloaded here; this is the same engine.
import { readFile, readdir } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { bindMigrationAwareSqlAdapterFactory } from '@prisma/driver-adapter-utils';
import * as bg from '@prisma/schema-engine-wasm/schema_engine_bg';
import { PrismaPGlite } from 'pglite-prisma-adapter';

const require = createRequire(import.meta.url);

export const schemaPath = 'prisma/schema.prisma';
export const migrationsDir = 'prisma/migrations';

async function loadEngine(schema: string) {
  // Node 20 cannot import .wasm modules: instantiate by hand with the JS glue as its imports.
  const wasmPath = join(require.resolve('@prisma/schema-engine-wasm/schema_engine_bg').replace(/schema_engine_bg\.js$/, ''), 'schema_engine_bg.wasm');
  const { instance } = await WebAssembly.instantiate(await readFile(wasmPath), {
    './schema_engine_bg.js': bg as unknown as WebAssembly.ModuleImports,
  });
  bg.__wbg_set_wasm(instance.exports);
  (instance.exports.__wbindgen_start as () => void)();
  const pglite = new PGlite();
  const adapter = bindMigrationAwareSqlAdapterFactory(new PrismaPGlite(pglite));
  const engine = await bg.SchemaEngine.new({ datamodels: [[schemaPath, schema]] }, () => {}, adapter);
  return { engine, close: () => pglite.close() };
}

async function migrationList(root: string) {
  const baseDir = join(root, migrationsDir);
  const names = (await readdir(baseDir, { withFileTypes: true }).catch(() => []))
    .filter((d) => d.isDirectory())
    .map((d) => d.name)
    .sort();
  const lock = await readFile(join(baseDir, 'migration_lock.toml'), 'utf8').catch(() => null);
  return {
    baseDir,
    lockfile: { path: 'migration_lock.toml', content: lock },
    shadowDbInitScript: '',
    migrationDirectories: await Promise.all(
      names.map(async (path) => ({
        path,
        migrationFile: {
          path: 'migration.sql',
          content: { tag: 'ok' as const, value: await readFile(join(baseDir, path, 'migration.sql'), 'utf8') },
        },
      })),
    ),
  };
}

/** SQL that takes a database from the migrations folder's state to schema.prisma's ('' when none). */
export async function pendingMigrationSql(root: string): Promise<string> {
  const schema = await readFile(join(root, schemaPath), 'utf8');
  const { engine, close } = await loadEngine(schema);
  try {
    const result = await engine.diff({
      from: { tag: 'migrations', ...(await migrationList(root)) },
      to: { tag: 'schemaDatamodel', files: [{ path: schemaPath, content: schema }] },
      script: true,
      exitCode: null,
      filters: { externalTables: [], externalEnums: [] },
    });
    const sql = result.stdout ?? '';
    return /^\s*(-- This is an empty migration\.)?\s*$/.test(sql) ? '' : sql;
  } finally {
    engine.free();
    await close();
  }
}
