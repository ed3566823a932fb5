/**
 * The demo pipeline "cutout-stats", run by the broker as a separate process:
 *   cutout-stats <input.fits> <output-folder> [size]
 * Takes the first image HDU, a size×size box centred on the first two axes (clipped to the
 * image; start = floor((n − size) / 2) + 1, 1-based) and plane ceil(n / 2) of every further
 * axis, and writes stats.json: min, max, mean and rms (√mean(x²)) of the finite pixels.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type AxisRange, FitsFile } from '../fits/index.js';

async function main(argv: string[]): Promise<void> {
  const [input, output, sizeArg] = argv;
  if (!input || !output) throw new Error('usage: cutout-stats <input.fits> <output-folder> [size]');
  const size = sizeArg === undefined || sizeArg === '' ? 64 : Number(sizeArg);
  if (!Number.isInteger(size) || size < 1 || size > 8192)
    throw new Error(`size ${sizeArg}: expected an integer 1..8192`);
  const file = await FitsFile.open(input);
  try {
    const hdus = await file.hdus();
    const hdu = hdus.find((h) => (h.kind === 'PRIMARY' || h.kind === 'IMAGE') && h.axes.length >= 2);
    if (!hdu) throw new Error(`${input} has no image HDU with two or more axes`);
    const box: AxisRange[] = hdu.axes.map((n, i) => {
      if (i >= 2) return { from: Math.ceil(n / 2), to: Math.ceil(n / 2) };
      const w = Math.min(size, n);
      const from = Math.floor((n - w) / 2) + 1;
      return { from, to: from + w - 1 };
    });
    const px = await file.readSubarray(hdu, box);
    let n = 0;
    let min = Number.POSITIVE_INFINITY;
    let max = Number.NEGATIVE_INFINITY;
    let sum = 0;
    let sum2 = 0;
    for (const v of px) {
      if (!Number.isFinite(v)) continue;
      n++;
      if (v < min) min = v;
      if (v > max) max = v;
      sum += v;
      sum2 += v * v;
    }
    const stats = {
      input,
      hdu: hdu.index,
      axes: hdu.axes,
      box: box.map((r) => [r.from, r.to]),
      pixels: px.length,
      finite: n,
      min: n ? min : null,
      max: n ? max : null,
      mean: n ? sum / n : null,
      rms: n ? Math.sqrt(sum2 / n) : null,
    };
    await mkdir(output, { recursive: true });
    await writeFile(join(output, 'stats.json'), `${JSON.stringify(stats, null, 2)}\n`);
    process.stdout.write(`cutout-stats: ${n} finite pixels of ${px.length}\n`);
  } finally {
    await file.close();
  }
}

main(process.argv.slice(2)).catch((err: unknown) => {
  process.stderr.write(`cutout-stats: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
