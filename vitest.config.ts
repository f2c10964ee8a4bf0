import { defineConfig } from 'vitest/config';

// Three projects: unit tests (no database), the API and dispatcher suite run twice (embedded
// PGlite and the machine's PostgreSQL), and Postgres/Redis-only tests (many instances, crashes).
// Nothing skips: a missing Postgres or Redis fails the run.
export default defineConfig({
  resolve: {
    // Node resolves `graphql` to its CommonJS build for every dependency; Vite would pick the .mjs
    // one for our sources, and two copies of graphql refuse to mix.
    alias: [{ find: /^graphql$/, replacement: 'graphql/index.js' }],
  },
  test: {
    testTimeout: 30_000,
    hookTimeout: 60_000,
    projects: [
      { extends: true, test: { name: 'unit', include: ['test/unit/**/*.test.ts'] } },
      { extends: true, test: { name: 'pglite', include: ['test/api/**/*.test.ts'], env: { HOOKYARD_TEST_DB: 'pglite' } } },
      {
        extends: true,
        test: { name: 'postgres', include: ['test/api/**/*.test.ts', 'test/postgres/**/*.test.ts'], env: { HOOKYARD_TEST_DB: 'postgres' } },
      },
    ],
  },
});
