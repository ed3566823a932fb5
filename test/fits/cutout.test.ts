import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Wcs } from '../../sky/wcs/index.js';
import {
  type AxisRange,
  cutoutByteLength,
  cutoutCards,
  FileSink,
  FitsFile,
  writeCutout,
} from '../../src/fits/index.js';
import { type DemoImageSpec, writeDemoCube } from '../../src/ingest/demo-products.js';
import { runPython } from './python.js';

const dir = mkdtempSync(join(tmpdir(), 'vonode-cutout-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function cutoutTo(src: string, dst: string, box: AxisRange[], history: string[] = []): Promise<number> {
  const file = await FitsFile.open(src);
  const sink = await FileSink.create(dst);
  try {
    const n = await writeCutout(file, file.primary, box, sink, { history, maxReadBytes: 4096 });
    await sink.commit();
    expect(n).toBe(cutoutByteLength(file.primary, box, cutoutCards(file.primary, box, history)));
    return n;
  } finally {
    await file.close();
  }
}

describe('cutouts keep the WCS valid (FITS-60..FITS-67)', () => {
  for (const kind of ['float32', 'int16-scaled'] as const) {
    it(`matches astropy Cutout2D pixel for pixel (${kind})`, async () => {
      const src = join(dir, `src-${kind}.fits`);
      const dst = join(dir, `cut-${kind}.fits`);
      const prep = runPython<{ bbox: number[][] }>(
        `
import sys, json, numpy as np
from astropy.io import fits
from astropy.wcs import WCS
from astropy.nddata import Cutout2D
a = json.load(sys.stdin)
rng = np.random.default_rng(5)
h = fits.Header()
for k, v in [('CTYPE1', 'RA---TAN'), ('CTYPE2', 'DEC--TAN'), ('CRPIX1', 61.5), ('CRPIX2', 40.0),
             ('CRVAL1', 0.2), ('CRVAL2', -30.0), ('CD1_1', -1e-3), ('CD1_2', 2e-4), ('CD2_1', 3e-4), ('CD2_2', 1e-3),
             ('CTYPE1A', 'LINEAR'), ('CTYPE2A', 'LINEAR'), ('CRPIX1A', 1.0), ('CRPIX2A', 1.0),
             ('LTV1', 0.0), ('LTV2', 0.0), ('CHECKSUM', 'abc'), ('DATASUM', '0')]:
    h[k] = v
if a['kind'] == 'float32':
    d = rng.normal(size=(90, 120)).astype('>f4')
    d[5, 7] = np.nan
    fits.PrimaryHDU(d, header=h).writeto(a['src'])
else:
    raw = rng.integers(-30000, 30000, size=(90, 120))
    raw[10, 20] = -32768
    h['BLANK'] = -32768
    hdu = fits.PrimaryHDU(100 + 0.5 * raw.astype(float), header=h)
    hdu.scale('int16', bscale=0.5, bzero=100.0)
    hdu.writeto(a['src'])
data = fits.getdata(a['src'])
c = Cutout2D(data, position=(30.3, 52.8), size=(25, 41), wcs=WCS(h), mode='trim')
(y0, y1), (x0, x1) = c.bbox_original
print(json.dumps({'bbox': [[int(x0) + 1, int(x1) + 1], [int(y0) + 1, int(y1) + 1]]}))
`,
        { src, kind },
      );
      const box = prep.bbox.map(([from, to]) => ({ from, to }));
      const bytes = await cutoutTo(src, dst, box, ['SODA POS=CIRCLE 0.2 -30 0.01']);
      expect(statSync(dst).size).toBe(bytes);
      const check = runPython<Record<string, unknown>>(
        `
import sys, json, numpy as np, warnings
from astropy.io import fits
from astropy.wcs import WCS
from astropy.nddata import Cutout2D
warnings.simplefilter('ignore')
a = json.load(sys.stdin)
src_h = fits.getheader(a['src'])
data = fits.getdata(a['src'])
c = Cutout2D(data, position=(30.3, 52.8), size=(25, 41), wcs=WCS(src_h), mode='trim')
# Header read on its own: astropy drops BZERO/BSCALE from a header once it scales the data.
h = fits.getheader(a['dst'])
d = fits.getdata(a['dst'])
w = WCS(h)
ys, xs = np.mgrid[0:d.shape[0], 0:d.shape[1]]
p = np.column_stack([xs.ravel(), ys.ravel()]).astype(float)
world_ours = w.all_pix2world(p, 0)
world_ref = c.wcs.all_pix2world(p, 0)
print(json.dumps({
  'shape_equal': list(d.shape) == list(c.data.shape),
  'data_equal': bool(np.array_equal(d, c.data, equal_nan=True)),
  'crpix': list(w.wcs.crpix), 'crpix_ref': list(c.wcs.wcs.crpix),
  'max_world_diff': float(np.max(np.abs(((world_ours - world_ref) + 180) % 360 - 180))),
  'crpix_alt': [h['CRPIX1A'], h['CRPIX2A']], 'ltv': [h['LTV1'], h['LTV2']],
  'has_checksum': 'CHECKSUM' in h or 'DATASUM' in h, 'history': list(h['HISTORY']),
  'bitpix': h['BITPIX'], 'bzero': h.get('BZERO'), 'blank': h.get('BLANK'),
}))
`,
        { src, dst },
      );
      const [x0, y0] = [box[0].from, box[1].from];
      expect(check).toMatchObject({
        shape_equal: true,
        data_equal: true,
        crpix_alt: [1 - (x0 - 1), 1 - (y0 - 1)],
        ltv: [-(x0 - 1), -(y0 - 1)],
        has_checksum: false,
        history: ['SODA POS=CIRCLE 0.2 -30 0.01'],
        bitpix: kind === 'float32' ? -32 : 16,
        bzero: kind === 'float32' ? null : 100,
        blank: kind === 'float32' ? null : -32768,
      });
      expect(check.crpix).toEqual(check.crpix_ref);
      expect(check.max_world_diff).toBeLessThan(1e-12);
    });
  }

  it('a 4-D radio cube cutout has the same world coordinates at corresponding pixels (FITS-66)', async () => {
    const spec: DemoImageSpec = {
      fileName: 'cube4.fits',
      kind: 'cube',
      obsId: 'c',
      object: 'o',
      telescope: 'SKA-Low',
      instrument: 'i',
      raDeg: 120,
      decDeg: -60,
      nx: 40,
      ny: 36,
      pixelArcsec: 10,
      projection: 'SIN',
      nchan: 12,
      freqHz: 1.5e8,
      chanWidthHz: 2.5e5,
      specsys: 'LSRK',
      beamMajArcsec: 40,
      beamMinArcsec: 30,
      beamPaDeg: 0,
      noiseJy: 1,
      dateObs: '2026-01-01T00:00:00',
      durationS: 100,
      exposureS: 100,
      proposalId: 'p',
      seed: 1,
    };
    const src = join(dir, spec.fileName);
    await writeDemoCube(src, spec, []);
    const box = [
      { from: 7, to: 31 },
      { from: 3, to: 20 },
      { from: 4, to: 9 },
      { from: 1, to: 1 },
    ];
    const dst = join(dir, 'cube4-cut.fits');
    await cutoutTo(src, dst, box);
    const a = await FitsFile.open(src);
    const b = await FitsFile.open(dst);
    const wa = Wcs.fromHeader(a.primary.header);
    const wb = Wcs.fromHeader(b.primary.header);
    expect(b.primary.axes).toEqual([25, 18, 6, 1]);
    for (let k = 0; k < 50; k++) {
      const p = box.map((r, i) => r.from + ((k * (7 + i * 3)) % (r.to - r.from + 1)) + (i < 2 ? 0.37 : 0));
      const q = p.map((v, i) => v - box[i].from + 1);
      const ww = wa.pixelToWorld(p);
      const wc = wb.pixelToWorld(q);
      ww.forEach((v, i) => {
        expect(Math.abs(v - wc[i]) / Math.max(1, Math.abs(v))).toBeLessThan(1e-10);
      });
    }
    const whole = await a.readSubarray(a.primary, box);
    const cut = await b.readSubarray(
      b.primary,
      b.primary.axes.map((n) => ({ from: 1, to: n })),
    );
    expect(cut).toEqual(whole);
    await a.close();
    await b.close();
  });
});
