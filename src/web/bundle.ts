import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

/** One file of the browser bundle, kept in memory with its gzip form. */
export interface Asset {
  readonly contentType: string;
  readonly body: Buffer;
  readonly gzip: Buffer;
  /** A short hash of the content, for an immutable URL and an ETag. */
  readonly hash: string;
}

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** The pages' entry points, in the browser source folder web/ (see docs/web.md). */
const ENTRIES = {
  query: join(ROOT, 'web', 'query', 'main.ts'),
  sky: join(ROOT, 'web', 'sky', 'main.ts'),
  products: join(ROOT, 'web', 'products', 'main.ts'),
  product: join(ROOT, 'web', 'product', 'main.ts'),
  login: join(ROOT, 'web', 'login', 'main.ts'),
};

/**
 * Aladin Lite's own build (npm package `aladin-lite`, GPL-3), served as it is beside the
 * bundles: the sky view imports it by URL (web/sky/aladin.ts). Its WebAssembly core is
 * inlined in this one file.
 */
const ALADIN_LITE = join(ROOT, 'node_modules', 'aladin-lite', 'dist', 'aladin.js');

let built: Promise<Map<string, Asset>> | undefined;

/**
 * The browser code bundled from the npm packages by esbuild, once per process and on first
 * use, in memory: nothing is fetched from a CDN (nodes may run without internet, issue 18),
 * no build step is needed after `npm ci`, and a source change shows at the next start.
 */
export function webAssets(): Promise<Map<string, Asset>> {
  built ??= buildAssets().catch((err) => {
    built = undefined; // a later request tries again (the error is logged by the caller)
    throw err;
  });
  return built;
}

async function buildAssets(): Promise<Map<string, Asset>> {
  // esbuild is imported here, not at the top: nodes that never serve a page never load it.
  const esbuild = await import('esbuild');
  const result = await esbuild.build({
    entryPoints: ENTRIES,
    bundle: true,
    format: 'esm',
    target: ['es2022'],
    minify: true,
    sourcemap: false,
    write: false,
    outdir: '/assets',
    logLevel: 'silent',
    legalComments: 'none',
  });
  const assets = new Map<string, Asset>();
  const files = [
    ...result.outputFiles.map((f) => ({
      name: f.path.slice('/assets/'.length),
      body: Buffer.from(f.contents),
    })),
    { name: 'aladin-lite.js', body: await readFile(ALADIN_LITE) },
  ];
  for (const { name, body } of files) {
    assets.set(name, {
      contentType: name.endsWith('.css') ? 'text/css; charset=utf-8' : 'text/javascript; charset=utf-8',
      body,
      gzip: gzipSync(body, { level: 9 }),
      hash: createHash('sha256').update(body).digest('hex').slice(0, 16),
    });
  }
  return assets;
}
