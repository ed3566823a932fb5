/**
 * SODA cutouts of one image stored three ways: plain FITS, gzipped (.fits.gz) and
 * tile-compressed (RICE_1, 100-row tiles, written by astropy). For a cutout near the start
 * and one near the end of the image, prints the bytes read (or decompressed) and the time,
 * each as a ratio to the plain file's in the same run.
 * Run: npx tsx bench/cutout-compressed.ts [side=4000]
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { type AxisRange, FitsFile, type FitsSink } from '../src/fits/index.js';
import { imageHdu, streamCutout } from '../src/soda/index.js';

const side = Number(process.argv[2] ?? 4000);
const dir = mkdtempSync(join(tmpdir(), 'bench-compressed-'));
const plain = join(dir, 'img.fits');
const tiled = join(dir, 'img-rice.fits');
const gz = join(dir, 'img.fits.gz');
const py = spawnSync(
  '/usr/bin/python3',
  [
    '-c',
    `import sys, numpy as np
from astropy.io import fits
n = int(sys.argv[1])
y, x = np.mgrid[0:n, 0:n]
d = ((x * 7 + y * 13) % 5000 + np.random.default_rng(1).integers(0, 50, size=(n, n))).astype('>i4')
h = fits.Header(); h['CTYPE1'], h['CTYPE2'] = 'GLON-CAR', 'GLAT-CAR'; h['CDELT1'], h['CDELT2'] = -0.001, 0.001
fits.PrimaryHDU(d, header=h).writeto(sys.argv[2])
fits.HDUList([fits.PrimaryHDU(), fits.CompImageHDU(d, header=h, compression_type='RICE_1', tile_size=(n, 100))]).writeto(sys.argv[3])`,
    String(side),
    plain,
    tiled,
  ],
  { encoding: 'utf8' },
);
if (py.status !== 0) throw new Error(py.stderr);
writeFileSync(gz, gzipSync(readFileSync(plain), { level: 6 }));

const sink: FitsSink = { write: async () => undefined };
async function cut(path: string, box: AxisRange[]): Promise<{ bytes: number; ms: number }> {
  const f = await FitsFile.open(path);
  try {
    const t0 = performance.now();
    const hdu = await imageHdu(f);
    const { read } = await streamCutout(f, hdu, box, sink);
    return { bytes: f.inflatedBytes ?? read, ms: performance.now() - t0 };
  } finally {
    await f.close();
  }
}

const w = 300;
const boxes: Record<string, AxisRange[]> = {
  start: [
    { from: 100, to: 100 + w - 1 },
    { from: 100, to: 100 + w - 1 },
  ],
  end: [
    { from: 100, to: 100 + w - 1 },
    { from: side - w - 99, to: side - 100 },
  ],
};
console.log(
  `image ${side}×${side} int32: plain ${statSync(plain).size} B, gzip ${statSync(gz).size} B, RICE_1 ${statSync(tiled).size} B`,
);
for (const [name, box] of Object.entries(boxes)) {
  await cut(plain, box); // warm the page cache
  const p = await cut(plain, box);
  const z = await cut(gz, box);
  const t = await cut(tiled, box);
  console.log(
    `${name} ${w}×${w}: plain ${p.bytes} B ${p.ms.toFixed(1)} ms | gzip ${(z.bytes / p.bytes).toFixed(1)}× bytes (decompressed), ${(z.ms / p.ms).toFixed(1)}× time | RICE_1 ${(t.bytes / p.bytes).toFixed(2)}× bytes, ${(t.ms / p.ms).toFixed(1)}× time`,
  );
}
rmSync(dir, { recursive: true, force: true });
