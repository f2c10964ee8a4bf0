#!/usr/bin/env node
// Runs the built code (dist/, `npm run build`) with plain node when it is there and no source file
// (src/, prisma/migrations/, dashboard/) is newer than it; otherwise the TypeScript sources through
// tsx, so `hookyard` also works straight from a checkout (slower: tsx compiles on every call).
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const stamp = join(root, 'dist', 'BUILD');

// src/generated is left out: `npm install` rewrites it (postinstall) without changing anything.
function newestSource(dir) {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    const path = join(entry.parentPath, entry.name);
    if (entry.isFile() && !path.includes(`${sep}generated${sep}`)) newest = Math.max(newest, statSync(path).mtimeMs);
  }
  return newest;
}

// What the build copies or compiles; a deployment without the sources just runs dist/.
const inputs = ['src', 'prisma/migrations', 'dashboard'].map((dir) => join(root, dir)).filter((dir) => existsSync(dir));
const built = existsSync(stamp) && inputs.every((dir) => newestSource(dir) <= statSync(stamp).mtimeMs);
if (built) {
  await import('../dist/src/main.js');
} else {
  let register;
  try {
    ({ register } = await import('tsx/esm/api'));
  } catch {
    console.error('hookyard: no current build in dist/ and no tsx to run the sources: run `npm run build` (or `npm install` for the dev tools)');
    process.exit(1);
  }
  register();
  await import('../src/main.ts');
}
