// `npm run build`: everything a deployment runs with plain node, into dist/: the compiled sources
// (src/generated included), the migrations beside them (src/db/migrate.ts finds
// ../../prisma/migrations from either layout), and the dashboard and GraphiQL pages made ahead of
// time (dist/assets), so the built server needs neither tsx nor esbuild.
import { execFileSync } from 'node:child_process';
import { cp, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join, relative, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
// `--out DIR` (inside the checkout, so node_modules resolves): the smoke test builds beside dist/.
const outFlag = process.argv.indexOf('--out');
const dist = outFlag > 0 ? resolve(root, process.argv[outFlag + 1]) : join(root, 'dist');
const started = performance.now();

// A clean tree: a module deleted from src must not linger in dist.
await rm(dist, { recursive: true, force: true });
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
execFileSync(process.execPath, [tsc, '-p', 'tsconfig.build.json', '--outDir', dist], { cwd: root, stdio: 'inherit' });
await cp(join(root, 'prisma', 'migrations'), join(dist, 'prisma', 'migrations'), { recursive: true });
const { writeAssets, PREBUILT_DIR } = await import(pathToFileURL(join(dist, 'src', 'http', 'dashboard.js')).href);
await writeAssets(join(root, 'dashboard'));
// bin/hookyard.js compares the sources' times with this file's to decide whether dist is current.
await writeFile(join(dist, 'BUILD'), `${new Date().toISOString()}\n`);
console.log(`built ${relative(root, dist)}/ (assets in ${relative(root, PREBUILT_DIR)}/) in ${((performance.now() - started) / 1000).toFixed(1)} s`);
