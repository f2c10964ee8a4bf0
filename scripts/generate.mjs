// Code generation run by `npm install` (postinstall) and `npm run generate`:
// the Prisma client and Pothos types, then typed GraphQL operations (codegen.ts) and the REST
// API's types (scripts/generate-openapi.ts) when the dev dependencies are installed. Prisma's CLI refuses to start without a native schema
// engine binary, which it cannot download here; `prisma generate` never runs it, so we point the
// check at node itself.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
execFileSync(process.execPath, ['node_modules/prisma/build/index.js', 'generate'], {
  cwd: root,
  stdio: 'inherit',
  env: {
    ...process.env,
    // The Pothos generator is found by its bin name.
    PATH: [join(root, 'node_modules', '.bin'), process.env.PATH].join(delimiter),
    PRISMA_SCHEMA_ENGINE_BINARY: process.env.PRISMA_SCHEMA_ENGINE_BINARY ?? process.execPath,
    PRISMA_HIDE_UPDATE_MESSAGE: '1',
  },
});

const codegen = join(root, 'node_modules', '@graphql-codegen', 'cli', 'cjs', 'bin.js');
if (existsSync(codegen)) {
  execFileSync(process.execPath, [codegen, '--config', 'codegen.ts', '--silent'], { cwd: root, stdio: 'inherit' });
  console.log('✔ Generated typed GraphQL operations to ./src/generated/gql');
}

// The REST API's types from its OpenAPI document (tests build their client from them).
if (existsSync(join(root, 'node_modules', 'openapi-typescript'))) {
  execFileSync(process.execPath, ['--import', 'tsx', 'scripts/generate-openapi.ts'], { cwd: root, stdio: 'inherit' });
  console.log('✔ Generated REST API types to ./src/generated/rest-api.ts');
}
