import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  type DemoImageSpec,
  DemoRandom,
  type DemoSource,
  demoFieldRadiusDeg,
  demoProductPlan,
  demoReferenceFrequencyHz,
  writeDemoCube,
  writeDemoImage,
} from '../../src/ingest/demo-products.js';
import { runPython } from '../fits/python.js';

const dir = mkdtempSync(join(tmpdir(), 'vonode-demo-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const smallImage: DemoImageSpec = {
  fileName: 'small.fits',
  kind: 'image',
  obsId: 'test-obs-1',
  object: 'Test field',
  telescope: 'SKA-Mid',
  instrument: 'SKA-Mid Band 2',
  raDeg: 0.05,
  decDeg: -30,
  nx: 256,
  ny: 200,
  pixelArcsec: 2,
  projection: 'SIN',
  nchan: 1,
  freqHz: 1.4e9,
  chanWidthHz: 3e8,
  specsys: 'TOPOCENT',
  beamMajArcsec: 10,
  beamMinArcsec: 6,
  beamPaDeg: 30,
  noiseJy: 1e-6,
  dateObs: '2025-03-01T12:00:00',
  durationS: 7200,
  exposureS: 6000,
  proposalId: 'TEST-1',
  seed: 7,
};

const sources: DemoSource[] = [
  { ra: 0.05, dec: -30, fluxJy: 0.5, spectralIndex: 0 },
  // Across RA 0: the field straddles the 0/360 boundary.
  { ra: 359.99, dec: -29.98, fluxJy: 0.2, spectralIndex: 0 },
  { ra: 0.07, dec: -30.03, fluxJy: 0.3, majorArcsec: 8, minorArcsec: 8, spectralIndex: 0 },
  // Far away: must not appear.
  { ra: 180, dec: 10, fluxJy: 100 },
];

const PEAKS = `
import sys, json, numpy as np
from astropy.io import fits
from astropy.wcs import WCS
a = json.load(sys.stdin)
with fits.open(a['path']) as h:
    hdr = h[0].header
    d = h[0].data
    w = WCS(hdr)
    out = {'shape': list(d.shape), 'std': float(np.std(d[0, :, :40, :40])), 'peaks': [],
           'keys': {k: hdr.get(k) for k in a['keys']}}
    for s in a['sources']:
        x, y = w.celestial.all_world2pix([[s[0], s[1]]], 0)[0]
        i, j = int(round(y)), int(round(x))
        out['peaks'].append([d[0, c, i-3:i+4, j-3:j+4].max().item() for c in range(d.shape[1])])
print(json.dumps(out))
`;

describe('demo products', () => {
  it('renders catalogue sources where astropy.wcs puts them, with beam-convolved peaks', async () => {
    const path = join(dir, smallImage.fileName);
    await writeDemoImage(path, smallImage, sources);
    const keys = [
      'OBJECT',
      'TELESCOP',
      'INSTRUME',
      'DATE-OBS',
      'MJD-OBS',
      'DATE-END',
      'EXPTIME',
      'BUNIT',
      'BMAJ',
      'RADESYS',
      'OBS_ID',
    ];
    const ref = runPython<{ shape: number[]; std: number; peaks: number[][]; keys: Record<string, unknown> }>(
      PEAKS,
      {
        path,
        keys,
        sources: sources.slice(0, 3).map((s) => [s.ra, s.dec]),
      },
    );
    expect(ref.shape).toEqual([1, 1, 200, 256]);
    expect(ref.std).toBeGreaterThan(0.8e-6);
    expect(ref.std).toBeLessThan(1.2e-6);
    expect(ref.keys).toEqual({
      OBJECT: 'Test field',
      TELESCOP: 'SKA-Mid',
      INSTRUME: 'SKA-Mid Band 2',
      'DATE-OBS': '2025-03-01T12:00:00',
      'MJD-OBS': 60735.5,
      'DATE-END': '2025-03-01T14:00:00',
      EXPTIME: 6000,
      BUNIT: 'Jy/beam',
      BMAJ: 10 / 3600,
      RADESYS: 'ICRS',
      OBS_ID: 'test-obs-1',
    });
    // Point sources peak at their flux (Jy/beam) to within noise + pixel sampling of the beam.
    expect(ref.peaks[0][0]).toBeGreaterThan(0.5 * 0.93);
    expect(ref.peaks[0][0]).toBeLessThan(0.5 * 1.001);
    expect(ref.peaks[1][0]).toBeGreaterThan(0.2 * 0.93);
    expect(ref.peaks[1][0]).toBeLessThan(0.2 * 1.001);
    // An 8" source in a 10"×6" beam: peak = S·(bmaj·bmin)/(cmaj·cmin) in Jy/beam.
    const expected = (0.3 * (10 * 6)) / Math.sqrt((10 ** 2 + 8 ** 2) * (6 ** 2 + 8 ** 2));
    expect(ref.peaks[2][0]).toBeGreaterThan(expected * 0.93);
    expect(ref.peaks[2][0]).toBeLessThan(expected * 1.02);
  });

  it('is deterministic: the same spec and sources give identical bytes', async () => {
    const a = join(dir, 'a.fits');
    const b = join(dir, 'b.fits');
    await writeDemoImage(a, smallImage, sources);
    await writeDemoImage(b, smallImage, sources);
    const hash = (p: string) => createHash('sha256').update(readFileSync(p)).digest('hex');
    expect(hash(a)).toBe(hash(b));
    await writeDemoImage(b, { ...smallImage, seed: 8 }, sources);
    expect(hash(a)).not.toBe(hash(b));
  });

  it('writes cubes whose channel peaks follow the spectral index', async () => {
    const spec: DemoImageSpec = {
      ...smallImage,
      fileName: 'cube.fits',
      kind: 'cube',
      nx: 64,
      ny: 64,
      nchan: 6,
      freqHz: 0.7e9,
      chanWidthHz: 0.2e9,
      restFreqHz: 1.420405752e9,
      specsys: 'LSRK',
    };
    const path = join(dir, spec.fileName);
    const src: DemoSource = { ra: 0.05, dec: -30, fluxJy: 1, spectralIndex: -0.7 };
    await writeDemoCube(path, spec, [src]);
    const ref = runPython<{ shape: number[]; peaks: number[][] }>(PEAKS, {
      path,
      keys: [],
      sources: [[src.ra, src.dec]],
    });
    expect(ref.shape).toEqual([1, 6, 64, 64]);
    // Catalogue fluxes apply at the band centre (channel 3.5 of 6 here) unless sourceRefFreqHz is set.
    expect(demoReferenceFrequencyHz(spec)).toBe(1.2e9);
    ref.peaks[0].forEach((peak, c) => {
      const nu = spec.freqHz + c * spec.chanWidthHz;
      const expected = (nu / 1.2e9) ** -0.7;
      expect(peak).toBeGreaterThan(expected * 0.93);
      expect(peak).toBeLessThan(expected * 1.001);
    });
    const at14 = join(dir, 'cube14.fits');
    await writeDemoCube(at14, { ...spec, sourceRefFreqHz: 1.4e9 }, [src]);
    const ref14 = runPython<{ peaks: number[][] }>(PEAKS, {
      path: at14,
      keys: [],
      sources: [[src.ra, src.dec]],
    });
    const last = spec.freqHz + 5 * spec.chanWidthHz;
    expect(ref14.peaks[0][5]).toBeGreaterThan((last / 1.4e9) ** -0.7 * 0.93);
    expect(ref14.peaks[0][5]).toBeLessThan((last / 1.4e9) ** -0.7 * 1.001);
  });

  it('refuses bad specs and leaves no file', async () => {
    const path = join(dir, 'bad.fits');
    await expect(writeDemoImage(path, { ...smallImage, nx: 0 }, [])).rejects.toThrow(/nx must be/);
    await expect(writeDemoImage(path, { ...smallImage, kind: 'cube' }, [])).rejects.toThrow(/writeDemoImage/);
    await expect(writeDemoCube(path, smallImage, [])).rejects.toThrow(/writeDemoCube/);
    await expect(writeDemoImage(path, { ...smallImage, dateObs: 'yesterday' }, [])).rejects.toThrow(
      /DATE-OBS/,
    );
    expect(() => readFileSync(path)).toThrow();
  });

  it('the plan has 8 images and 2 cubes spread as documented', () => {
    const plan = demoProductPlan(1);
    expect(plan.filter((p) => p.kind === 'image').map((p) => [p.nx, p.ny, p.nchan])).toEqual(
      Array(8).fill([2048, 2048, 1]),
    );
    expect(plan.filter((p) => p.kind === 'cube').map((p) => [p.nx, p.ny, p.nchan])).toEqual(
      Array(2).fill([512, 512, 128]),
    );
    for (const p of plan) {
      expect(p.decDeg).toBeGreaterThanOrEqual(-80);
      expect(p.decDeg).toBeLessThanOrEqual(10);
      expect(p.dateObs >= '2025-01-01' && p.dateObs < '2027-01-01').toBe(true);
      // Channel edges: the first channel is centred on freqHz.
      const lo = p.freqHz - p.chanWidthHz / 2;
      const hi = p.freqHz + (p.nchan - 0.5) * p.chanWidthHz;
      if (p.telescope === 'SKA-Low') expect(lo >= 50e6 && hi <= 350e6).toBe(true);
      else expect(lo >= 0.95e9 && hi <= 1.76e9).toBe(true);
    }
    const straddles = plan.filter((p) => {
      const r = demoFieldRadiusDeg(p) / Math.cos((p.decDeg * Math.PI) / 180);
      return p.raDeg - r < 0 || p.raDeg + r > 360;
    });
    expect(straddles.length).toBeGreaterThanOrEqual(1);
    expect(new Set(plan.map((p) => p.obsId)).size).toBe(10);
    expect(new Set(plan.map((p) => p.fileName)).size).toBe(10);
    expect(demoProductPlan(1)).toEqual(plan);
    expect(demoProductPlan(2).map((p) => p.seed)).not.toEqual(plan.map((p) => p.seed));
  });

  it('the noise generator is N(0,1) to within sampling error', () => {
    const rng = new DemoRandom(123);
    const buf = new Float32Array(200_000);
    rng.fillGaussian(buf, 1);
    let sum = 0;
    let sq = 0;
    for (const v of buf) {
      sum += v;
      sq += v * v;
    }
    const mean = sum / buf.length;
    expect(Math.abs(mean)).toBeLessThan(0.01);
    expect(Math.abs(sq / buf.length - 1)).toBeLessThan(0.02);
    // Kolmogorov-Smirnov distance to the normal CDF, computed by numpy; 1.95/√n is the 0.1 % critical value.
    const ks = runPython<{ d: number; n: number }>(
      `
import sys, json, math
import numpy as np
d = np.sort(np.array(json.load(sys.stdin)))
n = len(d)
cdf = np.array([0.5 * (1 + math.erf(v / math.sqrt(2))) for v in d])
D = max(np.max(np.arange(1, n + 1) / n - cdf), np.max(cdf - np.arange(0, n) / n))
print(json.dumps({'d': float(D), 'n': n}))
`,
      Array.from(buf.subarray(0, 5000)),
    );
    expect(ks.d).toBeLessThan(1.95 / Math.sqrt(ks.n));
  });
});
