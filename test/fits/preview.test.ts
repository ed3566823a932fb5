import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, describe, expect, it } from 'vitest';
import { FitsFile, renderPreview, stretchValue, writeFitsFile, zscale } from '../../src/fits/index.js';
import { DemoRandom } from '../../src/ingest/demo-products.js';
import { runPython } from './python.js';

const dir = mkdtempSync(join(tmpdir(), 'vonode-preview-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function noisy(n: number, seed: number, outliers: number): number[] {
  const rng = new DemoRandom(seed);
  const out = Array.from({ length: n }, () => 10 + 2 * rng.gaussian());
  for (let i = 0; i < outliers; i++) out[Math.floor(rng.uniform() * n)] = 1000 * rng.uniform();
  return out;
}

describe('preview (FITS-80..FITS-87)', () => {
  it('zscale matches astropy ZScaleInterval', () => {
    const sets = [noisy(5000, 1, 50), noisy(999, 2, 0), noisy(20, 3, 2), [1, 2, 3], noisy(100000, 4, 3000)];
    const ref = runPython<number[][]>(
      `
import sys, json, numpy as np
from astropy.visualization import ZScaleInterval
print(json.dumps([list(map(float, ZScaleInterval().get_limits(np.array(s)))) for s in json.load(sys.stdin)]))
`,
      sets,
    );
    sets.forEach((s, i) => {
      const [lo, hi] = zscale(s);
      expect(lo).toBeCloseTo(ref[i][0], 9);
      expect(hi).toBeCloseTo(ref[i][1], 9);
    });
  });

  it('stretches match astropy', () => {
    const us = [0, 0.001, 0.05, 0.3, 0.77, 1];
    const ref = runPython<Record<string, number[]>>(
      `
import sys, json, numpy as np
from astropy.visualization import AsinhStretch, LogStretch, SqrtStretch, LinearStretch
u = np.array(json.load(sys.stdin))
print(json.dumps({'asinh': AsinhStretch()(u).tolist(), 'log': LogStretch()(u).tolist(), 'sqrt': SqrtStretch()(u).tolist(), 'linear': LinearStretch()(u).tolist()}))
`,
      us,
    );
    for (const s of ['asinh', 'log', 'sqrt', 'linear'] as const) {
      us.forEach((u, i) => {
        expect(stretchValue(u, s)).toBeCloseTo(ref[s][i], 12);
      });
    }
  });

  it('renders a block-averaged, zscaled, bottom-up PNG with NaN transparent', async () => {
    const nx = 300;
    const ny = 200;
    const rng = new DemoRandom(9);
    const data = new Float32Array(nx * ny);
    for (let y = 0; y < ny; y++) {
      for (let x = 0; x < nx; x++) {
        data[y * nx + x] = x < 30 && y > 170 ? Number.NaN : 0.01 * y + rng.gaussian();
      }
    }
    const path = join(dir, 'img.fits');
    await writeFitsFile(
      path,
      [
        { keyword: 'SIMPLE', value: true },
        { keyword: 'BITPIX', value: -32 },
        { keyword: 'NAXIS', value: 3 },
        { keyword: 'NAXIS1', value: nx },
        { keyword: 'NAXIS2', value: ny },
        { keyword: 'NAXIS3', value: 1 },
      ],
      (hdu) => hdu.write(data),
    );
    const file = await FitsFile.open(path);
    const preview = await renderPreview(file, file.primary, { maxSize: 100 });
    await file.close();
    expect([preview.width, preview.height]).toEqual([100, 67]);
    const { data: raw, info } = await sharp(preview.png).raw().toBuffer({ resolveWithObject: true });
    // Colour type 4 (grey + alpha) in IHDR; sharp decodes it to RGBA.
    expect(preview.png[25]).toBe(4);
    expect([info.width, info.height, info.channels]).toEqual([100, 67, 4]);
    const ref = runPython<{ grey: number[][]; nan: boolean[][] }>(
      `
import sys, json, numpy as np, warnings
from astropy.io import fits
from astropy.visualization import ZScaleInterval, AsinhStretch
warnings.simplefilter('ignore')
d = fits.getdata(json.load(sys.stdin))[0].astype(float)
f = 3
ny, nx = d.shape
H, W = -(-ny // f), -(-nx // f)
p = np.full((H * f, W * f), np.nan)
p[:ny, :nx] = d
small = np.nanmean(p.reshape(H, f, W, f), axis=(1, 3))
lo, hi = ZScaleInterval().get_limits(small[np.isfinite(small)])
u = np.clip((small - lo) / (hi - lo), 0, 1)
g = np.round(255 * AsinhStretch()(u))
g = np.where(np.isfinite(small), g, 0)[::-1]
print(json.dumps({'grey': g.astype(int).tolist(), 'nan': (~np.isfinite(small))[::-1].tolist()}))
`,
      path,
    );
    let compared = 0;
    for (let y = 0; y < 67; y++) {
      for (let x = 0; x < 100; x++) {
        const o = (y * 100 + x) * 4;
        if (ref.nan[y][x]) {
          expect(raw[o + 3]).toBe(0);
        } else {
          expect(raw[o + 3]).toBe(255);
          expect(Math.abs(raw[o] - ref.grey[y][x])).toBeLessThanOrEqual(1);
          compared++;
        }
      }
    }
    expect(compared).toBeGreaterThan(6000);
    // Top-left of the PNG is the top (last) FITS rows, where the NaN block sits.
    expect(raw[3]).toBe(0);
  });
});
