import { defineConfig } from 'prisma/config';

// Only the CLI (prisma generate/validate/format) reads this; the server never does.
// Prisma's CLI insists on a native schema engine binary it cannot download offline; generate does
// not use it, so any executable satisfies the check (see scripts/generate.mjs).
export default defineConfig({
  schema: 'prisma/schema.prisma',
  migrations: { path: 'prisma/migrations' },
});
