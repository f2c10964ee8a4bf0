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
    entryPoints: [`${DIR}main.ts`],
    bundle: true,
    minify: true,
    format: 'iife',
    target: 'es2022',
    write: false,
    logLevel: 'silent',
  });
  const js = Buffer.from(result.outputFiles[0]!.contents);
  const html = await readFile(`${DIR}index.html`);
  const asset = (type: string, plain: Buffer): Asset => ({ type, plain, gzip: gzipSync(plain) });
  return new Map([
    ['/', asset('text/html; charset=utf-8', html)],
    ['/dashboard.js', asset('text/javascript; charset=utf-8', js)],
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
