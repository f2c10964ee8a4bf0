// The operator dashboard: dashboard/ bundled by esbuild on first request and kept in memory, so
// `npm start` needs no build step and the page loads nothing from outside.
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

const DIR = fileURLToPath(new URL('../../dashboard/', import.meta.url));

export interface Asset {
  type: string;
  plain: Buffer;
  gzip: Buffer;
}

let assets: Promise<Map<string, Asset>> | undefined;

async function build(): Promise<Map<string, Asset>> {
  const { build: esbuild } = await import('esbuild');
  const result = await esbuild({
    entryPoints: [`${DIR}main.tsx`],
    outdir: 'dashboard-out', // only names the outputs: nothing is written
    bundle: true,
    jsx: 'automatic',
    jsxImportSource: 'preact',
    minify: true,
    format: 'iife',
    target: 'es2022',
    write: false,
    logLevel: 'silent',
  });
  const output = (ext: string) => Buffer.from(result.outputFiles.find((f) => f.path.endsWith(ext))!.contents);
  const html = await readFile(`${DIR}index.html`);
  const asset = (type: string, plain: Buffer): Asset => ({ type, plain, gzip: gzipSync(plain) });
  return new Map([
    ['/', asset('text/html; charset=utf-8', html)],
    ['/dashboard.js', asset('text/javascript; charset=utf-8', output('.js'))],
    ['/dashboard.css', asset('text/css; charset=utf-8', output('.css'))],
  ]);
}

/** The dashboard file for `path`, or undefined. */
export async function dashboardAsset(path: string): Promise<Asset | undefined> {
  assets ??= build().catch((err: unknown) => {
    assets = undefined;
    throw err;
  });
  return (await assets).get(path);
}
