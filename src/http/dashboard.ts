// The static pages: the operator dashboard (dashboard/ bundled by esbuild) and the GraphiQL page
// (its assets inlined, so it loads nothing from outside). `npm run build` writes both into
// dist/assets (scripts/build.mjs calls the functions below), and the built server only reads
// them; from the sources (`npm start`) they are made on first request, so dev needs no build step.
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { graphiqlCsp } from './csp.js';

// From the sources only: the built server reads PREBUILT_DIR, and the build passes its own path.
const DASHBOARD_DIR = fileURLToPath(new URL('../../dashboard/', import.meta.url));
// dist/src/http/ → dist/assets/; from src/http/ this is ./assets, which nothing writes.
export const PREBUILT_DIR = fileURLToPath(new URL('../../assets/', import.meta.url));

export interface Asset {
  type: string;
  plain: Buffer;
  gzip: Buffer;
  /** The page's own Content-Security-Policy (GraphiQL: its inline script's hash), computed once. */
  csp?: string;
}

/** Served path → file name in PREBUILT_DIR and content type. */
const FILES = {
  '/': { file: 'index.html', type: 'text/html; charset=utf-8' },
  '/dashboard.js': { file: 'dashboard.js', type: 'text/javascript; charset=utf-8' },
  '/dashboard.css': { file: 'dashboard.css', type: 'text/css; charset=utf-8' },
  '/graphql': { file: 'graphiql.html', type: 'text/html; charset=utf-8' },
} as const;
export type AssetPath = keyof typeof FILES;

/** Makes every page from the sources; needs esbuild and @graphql-yoga/render-graphiql (dev tools). */
export async function renderAssets(dashboardDir = DASHBOARD_DIR): Promise<Record<AssetPath, Buffer>> {
  const [{ build: esbuild }, { renderGraphiQL }] = await Promise.all([import('esbuild'), import('@graphql-yoga/render-graphiql')]);
  const result = await esbuild({
    entryPoints: [join(dashboardDir, 'main.tsx')],
    outdir: 'dashboard-out', // only names the outputs (.js and .css): nothing is written
    bundle: true,
    jsx: 'automatic',
    jsxImportSource: 'preact',
    minify: true,
    format: 'iife',
    target: 'es2022',
    write: false,
    logLevel: 'silent',
  });
  const graphiql = renderGraphiQL({
    title: 'Hookyard GraphiQL',
    endpoint: '/graphql',
    subscriptionsProtocol: 'WS',
    headers: JSON.stringify({ Authorization: 'Bearer <your API key>' }, null, 2),
    defaultQuery: '# Set your API key in the Headers tab below, then:\nquery Endpoints {\n  endpoints(first: 10) {\n    edges { node { id url status } }\n  }\n}\n',
  });
  const output = (ext: string) => Buffer.from(result.outputFiles.find((f) => f.path.endsWith(ext))!.contents);
  return {
    '/': await readFile(join(dashboardDir, 'index.html')),
    '/dashboard.js': output('.js'),
    '/dashboard.css': output('.css'),
    '/graphql': Buffer.from(graphiql),
  };
}

/** Writes the pages for the built server (`npm run build`). */
export async function writeAssets(dashboardDir: string, dir = PREBUILT_DIR): Promise<void> {
  const pages = await renderAssets(dashboardDir);
  await mkdir(dir, { recursive: true });
  for (const [path, { file }] of Object.entries(FILES)) {
    const plain = pages[path as AssetPath];
    await writeFile(join(dir, file), plain);
    // Compressed here, once, rather than on each instance's first request (GraphiQL: ~9 MB).
    await writeFile(join(dir, `${file}.gz`), gzipSync(plain, { level: 9 }));
  }
}

let rendered: Promise<Record<AssetPath, Buffer>> | undefined;
const assets = new Map<string, Promise<Asset>>();

// Each page is read (or, from the sources, rendered) on its first request and then kept, gzipped
// once: the GraphiQL page is ~9 MB, so an instance nobody opens it on never holds it.
async function load(path: AssetPath): Promise<Asset> {
  const file = join(PREBUILT_DIR, FILES[path].file);
  const csp = (plain: Buffer) => (path === '/graphql' ? graphiqlCsp(plain.toString('utf8')) : undefined);
  let plain: Buffer;
  if (existsSync(file)) {
    plain = await readFile(file);
    const gzip = await readFile(`${file}.gz`).catch(() => gzipSync(plain));
    return { type: FILES[path].type, plain, gzip, csp: csp(plain) };
  } else {
    rendered ??= renderAssets().catch((err: unknown) => {
      rendered = undefined;
      throw err;
    });
    plain = (await rendered)[path];
  }
  return { type: FILES[path].type, plain, gzip: gzipSync(plain), csp: csp(plain) };
}

/** The page for `path` (`/`, `/dashboard.js`, `/dashboard.css`, `/graphql` for GraphiQL), or undefined. */
export async function dashboardAsset(path: string): Promise<Asset | undefined> {
  if (!Object.hasOwn(FILES, path)) return undefined;
  let asset = assets.get(path);
  if (!asset) {
    asset = load(path as AssetPath);
    assets.set(path, asset);
    asset.catch(() => assets.delete(path));
  }
  return asset;
}
