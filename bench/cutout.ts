/**
 * SODA cutout throughput on a demo cube: the planner (WCS → pixel box) plus the cutout writer
 * (one pread per row run), against reading the same number of bytes as one sequential read
 * of the same file, measured in the same run (both from the page cache after a warm-up).
 * Run: npx tsx bench/cutout.ts [scale=2] [iterations=200]
 */
import { open, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Wcs } from '../sky/wcs/index.js';
import type { Product } from '../src/datalink/index.js';
import { FitsFile, writeCutout } from '../src/fits/index.js';
import { demoPlan } from '../src/ingest/demo.js';
import { writeDemoCube } from '../src/ingest/demo-products.js';
import { planCutout, streamCutout } from '../src/soda/index.js';

const scale = Number(process.argv[2] ?? 2);
const iterations = Number(process.argv[3] ?? 200);
const spec = demoPlan(scale).find((s) => s.kind === 'cube');
if (!spec) throw new Error('the demo plan has no cube');
const path = join(tmpdir(), `bench-cutout-${process.pid}.fits`);
await writeDemoCube(path, spec, []);

const file = await FitsFile.open(path);
const hdu = file.primary;
const wcs = Wcs.fromHeader(hdu.header);
const spectral = wcs.spectral;
if (!spectral) throw new Error('the demo cube has no spectral axis');
const nchan = hdu.axes[spectral.axis];
const wl = (p: number) => wcs.wavelengthM(wcs.spectralValue(p)) as number;
const q = Math.max(1, Math.floor(nchan / 4));
const band: [number, number] = [
  Math.min(wl(q + 0.1), wl(3 * q - 0.1)),
  Math.max(wl(q + 0.1), wl(3 * q - 0.1)),
];
const [ra, dec] = wcs.pixelToSky((hdu.axes[0] + 1) / 2, (hdu.axes[1] + 1) / 2);
const radius = (hdu.axes[0] / 8) * Math.abs(Number(hdu.header.get('CDELT1')));
const product = { did: 'bench', polStates: ['I'] } as unknown as Product;
const filters = { region: { type: 'circle' as const, ra, dec, radius }, band };

const sink = {
  bytes: 0,
  async write(chunk: Uint8Array) {
    this.bytes += chunk.byteLength;
  },
};
async function cutoutOnce(): Promise<number> {
  const plan = planCutout(hdu, product, filters);
  if ('empty' in plan) throw new Error(plan.empty);
  sink.bytes = 0;
  await streamCutout(file, hdu, plan.box, sink, { history: plan.history });
  return sink.bytes;
}
/** The FITS module's writer: one pread per row run, one at a time. */
async function rowByRowOnce(): Promise<number> {
  const plan = planCutout(hdu, product, filters);
  if ('empty' in plan) throw new Error(plan.empty);
  sink.bytes = 0;
  await writeCutout(file, hdu, plan.box, sink, { history: plan.history });
  return sink.bytes;
}

const first = planCutout(hdu, product, filters);
if ('empty' in first) throw new Error(first.empty);
const outBytes = await cutoutOnce();
const handle = await open(path, 'r');
const buf = Buffer.allocUnsafe(outBytes);
async function sequentialOnce(): Promise<void> {
  let done = 0;
  while (done < outBytes) {
    const { bytesRead } = await handle.read(buf, done, outBytes - done, hdu.dataStart + done);
    if (bytesRead === 0) break;
    done += bytesRead;
  }
}

async function rate(fn: () => Promise<unknown>): Promise<number> {
  for (let i = 0; i < Math.min(10, iterations); i++) await fn();
  const t0 = performance.now();
  for (let i = 0; i < iterations; i++) await fn();
  return iterations / ((performance.now() - t0) / 1000);
}

const cutRate = await rate(cutoutOnce);
const rowRate = await rate(rowByRowOnce);
const seqRate = await rate(sequentialOnce);
const mb = outBytes / 1e6;
console.log(
  `cube ${hdu.axes.join('x')} (${(file.size / 1e6).toFixed(1)} MB), cutout box ${first.box.map((b) => b.to - b.from + 1).join('x')}, ${mb.toFixed(2)} MB out`,
);
console.log(
  `SODA cutout (plan + streamCutout):${cutRate.toFixed(1).padStart(8)} cutouts/s  ${(cutRate * mb).toFixed(0).padStart(6)} MB/s`,
);
console.log(
  `row-by-row (src/fits writeCutout): ${rowRate.toFixed(1).padStart(5)} cutouts/s  ${(rowRate * mb).toFixed(0).padStart(6)} MB/s`,
);
console.log(
  `same bytes, one sequential read: ${seqRate.toFixed(1).padStart(5)} reads/s    ${(seqRate * mb).toFixed(0).padStart(6)} MB/s`,
);
console.log(
  `ratio SODA cutout / sequential read: ${(cutRate / seqRate).toFixed(3)}; SODA / row-by-row: ${(cutRate / rowRate).toFixed(1)}`,
);
await handle.close();
await file.close();
await rm(path, { force: true });
