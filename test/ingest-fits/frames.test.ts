import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { angularDistanceDeg } from '../../sky/index.js';
import {
  celestialPixelBox,
  fk4Frame,
  fk5Frame,
  frameToIcrs,
  GALACTIC,
  icrsToFrame,
  Wcs,
} from '../../sky/wcs/index.js';
import { FitsFile } from '../../src/fits/index.js';
import { describeFitsProduct } from '../../src/ingest/fits-product.js';
import { runPython } from '../fits/python.js';

// FITS-43: Galactic, FK4 B1950 and FK5 images are described, cut and tiled in ICRS. astropy is
// the reference; the brief's tolerance is 0.1″ (see sky/wcs/frames.ts for what each step ignores).
const TOL_ARCSEC = 0.1;
const dir = mkdtempSync(join(tmpdir(), 'vonode-frames-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const opts = {
  collection: 'frames',
  publisherDid: (obsId: string, file: string) => `ivo://test.org/f?${obsId}/${file}`,
  accessUrl: (_obsId: string, did: string) => `http://localhost/datalink/links?ID=${encodeURIComponent(did)}`,
};

/** Points spread over the sphere, including near the poles and the longitude wrap. */
const POINTS: [number, number][] = [
  [0, 0],
  [120, -30],
  [266.4, -28.9],
  [359.9, 89.5],
  [10, -89],
  [192.86, 27.13],
  [45.5, 60.25],
  [300.1, -75.3],
];

const separationArcsec = (a: readonly number[], b: readonly number[]) =>
  angularDistanceDeg(a[0], a[1], b[0], b[1]) * 3600;

describe('frame rotations to ICRS (FITS-43)', () => {
  it('agree with astropy for Galactic, FK4 B1950 (with and without epoch) and FK5 J1975', () => {
    const ref = runPython<Record<string, number[][]>>(
      `
import sys, json
from astropy.coordinates import SkyCoord
from astropy.time import Time
pts = json.load(sys.stdin)
lon = [p[0] for p in pts]; lat = [p[1] for p in pts]
def icrs(**kw):
    c = SkyCoord(lon, lat, unit='deg', **kw).icrs
    return [[float(a), float(d)] for a, d in zip(c.ra.deg, c.dec.deg)]
print(json.dumps({
  'gal': icrs(frame='galactic'),
  'fk4': icrs(frame='fk4', equinox='B1950'),
  'fk4_1990': icrs(frame='fk4', equinox='B1950', obstime=Time(1990.5, format='byear')),
  'fk5_1975': icrs(frame='fk5', equinox='J1975'),
}))
`,
      POINTS,
    );
    const cases = {
      gal: GALACTIC,
      fk4: fk4Frame(),
      fk4_1990: fk4Frame(1990.5),
      fk5_1975: fk5Frame(1975),
    };
    for (const [name, frame] of Object.entries(cases)) {
      POINTS.forEach(([lon, lat], i) => {
        const got = frameToIcrs(frame, lon, lat);
        expect(separationArcsec(got, ref[name][i]), `${name} ${lon},${lat}`).toBeLessThan(TOL_ARCSEC);
        // The inverse (used by cutouts and HiPS) returns the start point.
        const back = icrsToFrame(frame, got[0], got[1]);
        expect(separationArcsec(back, [lon, lat]), `${name} back`).toBeLessThan(1e-6);
      });
    }
    // The epoch term of FK4 is not negligible (≈0.18″ for 1990): it must be applied, not ignored.
    expect(
      separationArcsec(frameToIcrs(fk4Frame(1990.5), 120, -30), frameToIcrs(fk4Frame(), 120, -30)),
    ).toBeGreaterThan(0.1);
  });
});

/** astropy's ICRS view of an image: centre and pixel-edge corners through pixel_to_skycoord. */
const ASTROPY_ICRS = `
import sys, json, warnings
import numpy as np
from astropy.io import fits
from astropy.wcs import WCS
from astropy.wcs.utils import pixel_to_skycoord
warnings.simplefilter('ignore')
path = json.load(sys.stdin)
h = fits.getheader(path)
w = WCS(h).celestial
nx, ny = h['NAXIS1'], h['NAXIS2']
xs = np.array([(nx + 1) / 2, 0.5, nx + 0.5, nx + 0.5, 0.5])
ys = np.array([(ny + 1) / 2, 0.5, 0.5, ny + 0.5, ny + 0.5])
c = pixel_to_skycoord(xs - 1, ys - 1, w, origin=0)
if c.frame.name == 'fk4' and 'DATE-OBS' in h:
    # FK4 rotates, so the observation epoch matters (WCS Paper II §3.1); astropy.wcs leaves it
    # at B1950, so it is given here explicitly.
    from astropy.coordinates import SkyCoord
    from astropy.time import Time
    c = SkyCoord(c.ra, c.dec, frame='fk4', equinox='B1950', obstime=Time(h['DATE-OBS']))
c = c.icrs
print(json.dumps([[float(a), float(d)] for a, d in zip(c.ra.deg, c.dec.deg)]))
`;

/** Writes an image with astropy: CTYPEs, CRVAL, extra cards. */
function writeImage(name: string, ctype: [string, string], crval: [number, number], extra: object): string {
  const path = join(dir, name);
  runPython(
    `
import sys, json, numpy as np
from astropy.io import fits
a = json.load(sys.stdin)
h = fits.Header()
h['CTYPE1'], h['CTYPE2'] = a['ctype']
h['CRVAL1'], h['CRVAL2'] = a['crval']
h['CRPIX1'], h['CRPIX2'] = 60.5, 40.5
h['CDELT1'], h['CDELT2'] = -0.01, 0.01
h['PC1_1'], h['PC1_2'], h['PC2_1'], h['PC2_2'] = 0.96592583, -0.25881905, 0.25881905, 0.96592583
for k, v in a['extra'].items(): h[k] = v
y, x = np.mgrid[0:80, 0:120]
fits.PrimaryHDU((x + 1000 * y).astype('>f4'), header=h).writeto(a['path'], overwrite=True)
print('null')
`,
    { path, ctype, crval, extra },
  );
  return path;
}

const IMAGES: Array<{ name: string; ctype: [string, string]; crval: [number, number]; extra: object }> = [
  { name: 'galactic-plane.fits', ctype: ['GLON-CAR', 'GLAT-CAR'], crval: [10.5, 0], extra: {} },
  { name: 'galactic-tan.fits', ctype: ['GLON-TAN', 'GLAT-TAN'], crval: [305.2, -2.5], extra: {} },
  {
    name: 'fk4.fits',
    ctype: ['RA---SIN', 'DEC--SIN'],
    crval: [83.0, -5.4],
    extra: { RADESYS: 'FK4', EQUINOX: 1950.0, 'DATE-OBS': '1985-06-01' },
  },
  {
    name: 'fk4-default.fits',
    ctype: ['RA---TAN', 'DEC--TAN'],
    crval: [201.3, -43.0],
    extra: { EQUINOX: 1950.0 },
  },
  {
    name: 'fk5-1975.fits',
    ctype: ['RA---TAN', 'DEC--TAN'],
    crval: [10.0, 41.0],
    extra: { RADESYS: 'FK5', EQUINOX: 1975.0 },
  },
];

describe('ingest of Galactic, FK4 and FK5 images (FITS-43, OBS-60..64)', () => {
  for (const im of IMAGES) {
    it(`${im.name}: s_ra/s_dec and s_region are ICRS, as astropy has them`, async () => {
      const path = writeImage(im.name, im.ctype, im.crval, im.extra);
      const rec = await describeFitsProduct(path, opts);
      const [centre, ...corners] = runPython<number[][]>(ASTROPY_ICRS, path);
      expect(separationArcsec([rec.s_ra as number, rec.s_dec as number], centre)).toBeLessThan(TOL_ARCSEC);
      const region = rec.s_region as number[];
      expect(region).toHaveLength(8);
      const got = [0, 1, 2, 3].map((i) => [region[2 * i], region[2 * i + 1]]);
      for (const c of corners) {
        const best = Math.min(...got.map((g) => separationArcsec(g, c)));
        expect(best, `corner ${c}`).toBeLessThan(TOL_ARCSEC);
      }
    });
  }

  it('refuses frames it cannot rotate, naming the keyword', async () => {
    const fk4Other = writeImage('fk4-1900.fits', ['RA---TAN', 'DEC--TAN'], [10, 10], {
      RADESYS: 'FK4',
      EQUINOX: 1900.0,
    });
    await expect(describeFitsProduct(fk4Other, opts)).rejects.toThrow(/EQUINOX 1900 with RADESYS FK4/);
    const supergal = writeImage('sgal.fits', ['SLON-TAN', 'SLAT-TAN'], [10, 10], {});
    await expect(describeFitsProduct(supergal, opts)).rejects.toThrow(/CTYPE SLON\/SLAT/);
  });
});

describe('SODA pixel box of an ICRS region on a Galactic image (SODA-81, FITS-63)', () => {
  it('selects the pixels astropy maps the ICRS circle and polygon to', async () => {
    const path = writeImage('galactic-cut.fits', ['GLON-TAN', 'GLAT-TAN'], [305.2, -2.5], {});
    const file = await FitsFile.open(path);
    const wcs = Wcs.fromHeader(file.primary.header);
    const axes = file.primary.axes;
    await file.close();
    // A circle centred on an ICRS position inside the image, and a small ICRS polygon.
    const [ra, dec] = wcs.pixelToSky(45, 30);
    const circle = { type: 'circle' as const, ra, dec, radius: 0.12 };
    const poly = {
      type: 'polygon' as const,
      vertices: [
        [ra - 0.1, dec - 0.05],
        [ra + 0.1, dec - 0.05],
        [ra, dec + 0.1],
      ] as [number, number][],
    };
    const ref = runPython<{ circle: number[]; poly: number[]; centre: number[] }>(
      `
import sys, json, warnings
import numpy as np
from astropy.io import fits
from astropy.wcs import WCS
from astropy.coordinates import SkyCoord
import astropy.units as u
warnings.simplefilter('ignore')
a = json.load(sys.stdin)
w = WCS(fits.getheader(a['path'])).celestial
ra, dec, r = a['ra'], a['dec'], a['radius']
def box(c):
    x, y = w.world_to_pixel(c)
    x = x + 1; y = y + 1
    return [int(np.floor(x.min() + 0.5)), int(np.ceil(x.max() - 0.5)), int(np.floor(y.min() + 0.5)), int(np.ceil(y.max() - 0.5))]
centre = SkyCoord(ra * u.deg, dec * u.deg, frame='icrs')
ring = centre.directional_offset_by(np.linspace(0, 360, 3600) * u.deg, r * u.deg)
v = a['poly'] + [a['poly'][0]]
pts = []
for (a0, d0), (a1, d1) in zip(v[:-1], v[1:]):
    p = SkyCoord(a0 * u.deg, d0 * u.deg); q = SkyCoord(a1 * u.deg, d1 * u.deg)
    sep = p.separation(q); pa = p.position_angle(q)
    pts.append(p.directional_offset_by(pa, sep * np.linspace(0, 1, 400)))
poly = SkyCoord(np.concatenate([c.ra.deg for c in pts]) * u.deg, np.concatenate([c.dec.deg for c in pts]) * u.deg)
cx, cy = w.world_to_pixel(centre)
print(json.dumps({'circle': box(ring), 'poly': box(poly), 'centre': [float(cx) + 1, float(cy) + 1]}))
`,
      { path, ra, dec, radius: circle.radius, poly: poly.vertices },
    );
    // The ICRS centre lands on the pixel astropy finds (the frame conversion precedes the pixel map).
    const [cx, cy] = wcs.skyToPixel(ra, dec);
    expect(Math.hypot(cx - ref.centre[0], cy - ref.centre[1])).toBeLessThan(0.01);
    const c = celestialPixelBox(wcs, axes, circle);
    expect(c && [c.x.from, c.x.to, c.y.from, c.y.to]).toEqual(ref.circle);
    const p = celestialPixelBox(wcs, axes, poly);
    expect(p && [p.x.from, p.x.to, p.y.from, p.y.to]).toEqual(ref.poly);
  });
});
