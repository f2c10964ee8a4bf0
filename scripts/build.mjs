// `npm run build`: everything a deployment runs with plain node, into dist/: the compiled sources
// (src/generated included), the migrations beside them (src/db/migrate.ts finds
// ../../prisma/migrations from either layout), the dashboard and GraphiQL pages made ahead of
// time (dist/assets), so the built server needs neither tsx nor esbuild, and Prisma's query
// compiler as a .wasm file (dist/assets) rather than a base64 module.
import { execFileSync } from 'node:child_process';
import { cp, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
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
await compilerFromFile();
const { writeAssets, PREBUILT_DIR } = await import(pathToFileURL(join(dist, 'src', 'http', 'dashboard.js')).href);
await writeAssets(join(root, 'dashboard'));
// bin/hookyard.js compares the sources' times with this file's to decide whether dist is current.
await writeFile(join(dist, 'BUILD'), `${new Date().toISOString()}\n`);
console.log(`built ${relative(root, dist)}/ (assets in ${relative(root, PREBUILT_DIR)}/) in ${((performance.now() - started) / 1000).toFixed(1)} s`);

/**
 * Prisma's generated client imports its query compiler from a module that exports the wasm as one
 * base64 string (2.3 MB): that module stays loaded for the life of the process, so its source and
 * the string (4.5 MB of an idle API's heap and RSS) are held beside the compiled module. The build
 * writes the bytes to dist/assets and points the client's loader at that file instead (measured in
 * BENCHMARKS.md, issue 11 item 2). The generator has no option for it; when Prisma changes the
 * loader, the build fails here rather than quietly keeping the string.
 */
async function compilerFromFile() {
  const clientFile = join(dist, 'src', 'generated', 'prisma', 'internal', 'class.js');
  const client = await readFile(clientFile, 'utf8');
  const loader = /const \{ wasm \} = await import\("(@prisma\/client\/runtime\/([\w.-]+)\.wasm-base64\.mjs)"\);\s*return await decodeBase64AsWasm\(wasm\);/;
  const found = loader.exec(client);
  if (!found) throw new Error(`${relative(root, clientFile)}: Prisma's query compiler loader has changed; update compilerFromFile() in scripts/build.mjs`);
  const [, module, name] = found;
  const { wasm } = await import(module);
  await mkdir(join(dist, 'assets'), { recursive: true });
  await writeFile(join(dist, 'assets', `${name}.wasm`), Buffer.from(wasm, 'base64'));
  // dist/src/generated/prisma/internal/ → dist/assets/
  const fromFile = `const { readFile } = await import('node:fs/promises');
        return new WebAssembly.Module(await readFile(new URL('../../../../assets/${name}.wasm', import.meta.url)));`;
  await writeFile(clientFile, client.replace(loader, fromFile));
}
