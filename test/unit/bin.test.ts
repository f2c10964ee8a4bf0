// bin/hookyard.js runs dist/ when it is current, and never a dist/ older than the sources.
import { execFile } from 'node:child_process';
import { cp, mkdir, mkdtemp, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
let root: string;

// A checkout in miniature, outside this repository (so no tsx resolves): the bin, a "built"
// main that says so, and sources.
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'hookyard-bin-'));
  await mkdir(join(root, 'bin'));
  await cp(fileURLToPath(new URL('../../bin/hookyard.js', import.meta.url)), join(root, 'bin', 'hookyard.js'));
  await writeFile(join(root, 'package.json'), '{ "type": "module" }');
  await mkdir(join(root, 'dist', 'src'), { recursive: true });
  await writeFile(join(root, 'dist', 'src', 'main.js'), "console.log('built code ran');\n");
  await mkdir(join(root, 'src', 'generated'), { recursive: true });
  await mkdir(join(root, 'prisma', 'migrations', '1_init'), { recursive: true });
  await writeFile(join(root, 'src', 'main.ts'), '');
  await writeFile(join(root, 'prisma', 'migrations', '1_init', 'migration.sql'), '');
  await writeFile(join(root, 'dist', 'BUILD'), '');
  const past = new Date(Date.now() - 60_000);
  for (const file of ['src/main.ts', 'prisma/migrations/1_init/migration.sql']) await utimes(join(root, file), past, past);
});
afterAll(() => rm(root, { recursive: true, force: true }));

const hookyard = () => run(process.execPath, [join(root, 'bin', 'hookyard.js'), '--help']).then((r) => r.stdout, (e: { stderr: string }) => e.stderr);

describe('bin/hookyard.js', () => {
  it('runs dist/ when no source is newer; regenerated code (src/generated) does not count', async () => {
    await writeFile(join(root, 'src', 'generated', 'client.ts'), ''); // written after the build
    expect(await hookyard()).toContain('built code ran');
  });

  it('does not run a dist/ older than a source or a migration', async () => {
    const future = new Date(Date.now() + 60_000);
    await utimes(join(root, 'prisma', 'migrations', '1_init', 'migration.sql'), future, future);
    expect(await hookyard()).toMatch(/no current build in dist\/ .*npm run build/);
  });
});
