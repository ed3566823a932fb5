/**
 * Time to write the 10 demo FITS products (8 images 2048², 2 cubes 512²×128) with sources from a
 * 1,000,000-row synthetic catalogue, against a reference measured in the same run: writing the same
 * number of bytes of zeros through the same FITS writer (pure I/O + byte swapping).
 *
 *   npx tsx bench/fits-demo.ts [outDir]
 */
import { mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeFitsFile } from '../src/fits/index.js';
import {
  DemoRandom,
  type DemoSource,
  demoHeaderCards,
  demoProductPlan,
  writeDemoCube,
  writeDemoImage,
} from '../src/ingest/demo-products.js';

const keep = process.argv[2];
const dir = keep ?? mkdtempSync(join(tmpdir(), 'vonode-bench-'));
mkdirSync(dir, { recursive: true });

const rng = new DemoRandom(42);
const sources: DemoSource[] = [];
const t0 = performance.now();
for (let i = 0; i < 1_000_000; i++) {
  // Uniform on the sphere for Dec -90..+30 so every field gets sources.
  const sinDec = -1 + rng.uniform() * 1.5;
  sources.push({
    ra: rng.uniform() * 360,
    dec: (Math.asin(sinDec) * 180) / Math.PI,
    fluxJy: 1e-4 * (1 - rng.uniform()) ** -1.5,
    majorArcsec: rng.uniform() < 0.2 ? 5 + rng.uniform() * 20 : 0,
    minorArcsec: 3,
    paDeg: rng.uniform() * 180,
  });
}
const tCat = performance.now() - t0;

const plan = demoProductPlan(1);
let bytes = 0;
const tStart = performance.now();
for (const spec of plan) {
  const t = performance.now();
  const path = join(dir, spec.fileName);
  if (spec.kind === 'cube') await writeDemoCube(path, spec, sources);
  else await writeDemoImage(path, spec, sources);
  const size = statSync(path).size;
  bytes += size;
  console.log(
    `${spec.fileName.padEnd(22)} ${(size / 1e6).toFixed(1).padStart(7)} MB ${((performance.now() - t) / 1000).toFixed(2).padStart(6)} s`,
  );
}
const tDemo = (performance.now() - tStart) / 1000;

// Reference: the same files' worth of zero pixels through the same writer.
const tRef0 = performance.now();
for (const spec of plan) {
  const path = join(dir, `ref-${spec.fileName}`);
  const cards = demoHeaderCards(spec);
  const row = new Float32Array(spec.nx * 128);
  await writeFitsFile(path, cards, async (hdu) => {
    const total = spec.nx * spec.ny * spec.nchan;
    for (let done = 0; done < total; done += row.length) {
      await hdu.write(row.subarray(0, Math.min(row.length, total - done)));
    }
  });
  rmSync(path);
}
const tRef = (performance.now() - tRef0) / 1000;

console.log(`catalogue generation (1e6 sources): ${(tCat / 1000).toFixed(2)} s`);
console.log(`demo products: ${plan.length} files, ${(bytes / 1e6).toFixed(0)} MB in ${tDemo.toFixed(2)} s`);
console.log(`reference (zeros through the writer): ${tRef.toFixed(2)} s`);
console.log(`ratio demo/reference: ${(tDemo / tRef).toFixed(2)}`);
if (!keep) rmSync(dir, { recursive: true, force: true });
