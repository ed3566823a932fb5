import { describe, expect, it } from 'vitest';
import { celestialPixelBox, type SkyRegion, spectralPixelRange, Wcs } from '../../sky/wcs/index.js';
import { runPython } from '../fits/python.js';

const header = {
  NAXIS: 3,
  NAXIS1: 200,
  NAXIS2: 150,
  NAXIS3: 40,
  CTYPE1: 'RA---SIN',
  CTYPE2: 'DEC--SIN',
  CTYPE3: 'FREQ',
  CRPIX1: 100.5,
  CRPIX2: 75.5,
  CRPIX3: 1,
  CRVAL1: 0.3,
  CRVAL2: -35,
  CRVAL3: 1.42e9,
  CDELT1: -0.002,
  CDELT2: 0.002,
  CDELT3: -1e6,
  PC1_1: 0.984807753012208,
  PC1_2: -0.17364817766693033,
  PC2_1: 0.17364817766693033,
  PC2_2: 0.984807753012208,
};

const REGIONS: Record<string, SkyRegion> = {
  insideCircle: { type: 'circle', ra: 0.25, dec: -34.95, radius: 0.05 },
  edgeCircle: { type: 'circle', ra: 0.5, dec: -35.1, radius: 0.15 },
  hugeCircle: { type: 'circle', ra: 0.3, dec: -35, radius: 20 },
  farCircle: { type: 'circle', ra: 180, dec: 40, radius: 1 },
  // The field's antipode: behind the SIN hemisphere, it must not map onto the field itself.
  antipodeCircle: { type: 'circle', ra: 180.3, dec: 35, radius: 0.1 },
  polygon: {
    type: 'polygon',
    vertices: [
      [359.9, -35.05],
      [0.2, -35.08],
      [0.25, -34.9],
      [359.95, -34.95],
    ],
  },
  rangeAcrossZero: { type: 'range', raMin: 359.95, raMax: 0.1, decMin: -35.1, decMax: -35.0 },
};

/** Brute force with astropy: bounding box of pixel centres whose world position lies in the region. */
const BRUTE = `
import sys, json, numpy as np
from astropy.io import fits
from astropy.wcs import WCS
a = json.load(sys.stdin)
h = fits.Header()
for k, v in a['header'].items(): h[k] = v
w = WCS(h).celestial
ys, xs = np.mgrid[1:151, 1:201]
ra, dec = w.all_pix2world(xs.ravel(), ys.ravel(), 1)
out = {}
def sep(r0, d0):
    r0, d0 = np.radians(r0), np.radians(d0)
    r1, d1 = np.radians(ra), np.radians(dec)
    c = np.sin(d0) * np.sin(d1) + np.cos(d0) * np.cos(d1) * np.cos(r1 - r0)
    return np.degrees(np.arccos(np.clip(c, -1, 1)))
for name, g in a['regions'].items():
    if g['type'] == 'circle':
        inside = sep(g['ra'], g['dec']) <= g['radius']
    elif g['type'] == 'range':
        d = (ra - g['raMin']) % 360
        inside = (d <= (g['raMax'] - g['raMin']) % 360) & (dec >= g['decMin']) & (dec <= g['decMax'])
    else:
        v = np.array(g['vertices'])
        def vec(lon, lat):
            lon, lat = np.radians(lon), np.radians(lat)
            return np.stack([np.cos(lat) * np.cos(lon), np.cos(lat) * np.sin(lon), np.sin(lat)], axis=-1)
        p = vec(ra, dec)
        inside = np.ones(len(ra), dtype=bool)
        for i in range(len(v)):
            n = np.cross(vec(*v[i]), vec(*v[(i + 1) % len(v)]))
            inside &= p @ n >= 0
    if not inside.any():
        out[name] = None
    else:
        X, Y = xs.ravel()[inside], ys.ravel()[inside]
        out[name] = [int(X.min()), int(X.max()), int(Y.min()), int(Y.max())]
s = WCS(h).sub([3])
edges = s.all_pix2world(np.arange(0.5, 41, 1.0), 1)[0]
out['wl_edges'] = (299792458.0 / edges).tolist()
print(json.dumps(out))
`;

describe('pixel boxes for SODA regions (FITS-63)', () => {
  const ref = runPython<Record<string, number[] | null>>(BRUTE, { header, regions: REGIONS });
  const wcs = Wcs.fromHeader(header);

  for (const name of Object.keys(REGIONS)) {
    it(`${name}: covers every pixel astropy finds inside, with at most one pixel to spare`, () => {
      const box = celestialPixelBox(wcs, [200, 150, 40], REGIONS[name]);
      const expected = ref[name];
      if (expected === null) {
        expect(box).toBeNull();
        return;
      }
      expect(box).not.toBeNull();
      const [x0, x1, y0, y1] = expected;
      expect(box!.x.from).toBeLessThanOrEqual(x0);
      expect(box!.x.to).toBeGreaterThanOrEqual(x1);
      expect(box!.y.from).toBeLessThanOrEqual(y0);
      expect(box!.y.to).toBeGreaterThanOrEqual(y1);
      expect(x0 - box!.x.from).toBeLessThanOrEqual(1);
      expect(box!.x.to - x1).toBeLessThanOrEqual(1);
      expect(y0 - box!.y.from).toBeLessThanOrEqual(1);
      expect(box!.y.to - y1).toBeLessThanOrEqual(1);
    });
  }

  it('selects the channels overlapping a BAND interval in metres', () => {
    const edges = ref.wl_edges as number[];
    const lo = (edges[10] + edges[11]) / 2;
    const hi = (edges[20] + edges[21]) / 2;
    expect(spectralPixelRange(wcs, 40, Math.min(lo, hi), Math.max(lo, hi))).toEqual({ from: 11, to: 21 });
    expect(spectralPixelRange(wcs, 40, 10, 20)).toBeNull();
    expect(spectralPixelRange(wcs, 40, 0, 10)).toEqual({ from: 1, to: 40 });
    const vrad = Wcs.fromHeader({ ...header, CTYPE3: 'VRAD', CRVAL3: 0, CDELT3: 1000 });
    expect(() => spectralPixelRange(vrad, 40, 0.2, 0.22)).toThrow(/RESTFRQ/);
  });
});
