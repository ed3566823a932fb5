import { execFile } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildSync } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testDatabaseUrl } from '../support/db.js';
import { tempDir } from './helpers.js';

// The child is bundled to plain JavaScript (esbuild comes with vitest and tsx) so its RSS is
// the encoder's, not a TypeScript loader's (tsx alone adds ~35 MB).
const dir = tempDir();
const CHILD = join(dir, 'memory-child.mjs');
beforeAll(() => {
  buildSync({
    entryPoints: [fileURLToPath(new URL('./memory-child.ts', import.meta.url))],
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    // node-postgres is CommonJS: its require() calls need a real require in an ESM bundle.
    banner: {
      js: "import { createRequire as vonodeRequire } from 'node:module'; const require = vonodeRequire(import.meta.url);",
    },
    outfile: CHILD,
  });
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function child(args: string[]): Promise<{ rows: number; bytes: number; rowsBack: number; maxRssMB: number }> {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      [CHILD, ...args],
      { timeout: 600_000, maxBuffer: 1 << 20 },
      (err, stdout, stderr) =>
        err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve(JSON.parse(stdout)),
    );
  });
}

/*
 * Peak RSS of a child streaming 400,000 ten-column rows (the 10,000,000-row run is in
 * bench/votable-stream.ts). A Node process at rest is ~50 MB; the bound is what matters,
 * not speed, so nothing here is timed.
 */
describe('memory stays flat', () => {
  for (const format of ['votable/binary2', 'votable/td', 'csv', 'json', 'parquet']) {
    it(`${format}: 400k rows encoded under 150 MB peak RSS`, async () => {
      const r = await child(['400000', format]);
      console.log(
        `${format}: ${r.rows} rows, ${(r.bytes / 1e6).toFixed(1)} MB out, peak RSS ${r.maxRssMB.toFixed(0)} MB`,
      );
      expect(r.bytes).toBeGreaterThan(400_000 * 20);
      expect(r.maxRssMB).toBeLessThan(150);
    }, 300_000);
  }

  // Parquet (VOParquet Note) from the same binary COPY, in row groups of the default 100,000 rows;
  // FITS through its disk spool, JSON from text COPY.
  for (const format of ['votable/binary2', 'votable/td', 'parquet', 'fits', 'json']) {
    it(`${format}: 400k rows from PostgreSQL through the node's COPY path under 150 MB peak RSS`, async () => {
      const r = await child(['400000', format, 'copy', testDatabaseUrl()]);
      console.log(
        `${format} from COPY: ${r.rows} rows, ${(r.bytes / 1e6).toFixed(1)} MB out, peak RSS ${r.maxRssMB.toFixed(0)} MB`,
      );
      expect(r.bytes).toBeGreaterThan(400_000 * 20);
      expect(r.maxRssMB).toBeLessThan(150);
    }, 300_000);
  }

  it('BINARY2 encoded and read back by the streaming reader: 200k rows under 150 MB', async () => {
    const r = await child(['200000', 'votable/binary2', 'read']);
    console.log(`binary2 round trip: ${r.rowsBack} rows, peak RSS ${r.maxRssMB.toFixed(0)} MB`);
    expect(r.rowsBack).toBe(200_000);
    expect(r.maxRssMB).toBeLessThan(150);
  }, 300_000);
});
