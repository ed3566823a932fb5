import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Moc, nestedIndex } from '../../sky/index.js';
import { Wcs } from '../../sky/wcs/index.js';
import { FitsFile } from '../../src/fits/index.js';
import { renderTile, type Survey, TILE_WIDTH, tilePixelCentres } from '../../src/hips/index.js';
import { describeFitsProduct } from '../../src/ingest/fits-product.js';
import { runPython } from '../fits/python.js';

const dir = mkdtempSync(join(tmpdir(), 'vonode-hips-gal-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('HiPS tiles of a Galactic image (HIPS-05, HIPS-07, FITS-43)', () => {
  it('place each image pixel at the ICRS position astropy gives it', async () => {
    const path = join(dir, 'gal.fits');
    runPython(
      `
import sys, json, numpy as np
from astropy.io import fits
h = fits.Header()
h['CTYPE1'], h['CTYPE2'] = 'GLON-TAN', 'GLAT-TAN'
h['CRVAL1'], h['CRVAL2'] = 330.0, 1.5
h['CRPIX1'], h['CRPIX2'] = 100.5, 100.5
h['CDELT1'], h['CDELT2'] = -0.004, 0.004
y, x = np.mgrid[0:200, 0:200]
fits.PrimaryHDU((x + 1000 * y).astype('>f4'), header=h).writeto(json.load(sys.stdin))
print('null')
`,
      path,
    );
    const rec = await describeFitsProduct(path, {
      collection: 'c',
      publisherDid: () => 'ivo://t/gal',
      accessUrl: () => 'http://localhost/x',
    });
    const file = await FitsFile.open(path);
    const wcs = Wcs.fromHeader(file.primary.header);
    await file.close();
    const order = 6;
    const footprint = rec.s_region as number[];
    const v: [number, number][] = [];
    for (let i = 0; i < footprint.length; i += 2) v.push([footprint[i], footprint[i + 1]]);
    const moc = Moc.fromPolygon(v, order);
    const survey: Survey = {
      name: 'images',
      kind: 'image',
      emMin: Number.NaN,
      emMax: Number.NaN,
      images: [
        { did: 'ivo://t/gal', path, wcs, nx: 200, ny: 200, extraAxes: 0, pixelDeg: 0.004, footprint, moc },
      ],
      order,
      minOrder: 3,
      moc,
      cut: [0, 1],
      initial: { ra: rec.s_ra as number, dec: rec.s_dec as number, fov: 1 },
      releaseDate: new Date(0),
      key: 'k',
    };
    const index = Number(nestedIndex(order, rec.s_ra as number, rec.s_dec as number));
    const tile = await renderTile(survey, order, index);
    expect(tile).toBeDefined();
    // Sample the tile on a grid: the ICRS centre of each HiPS pixel, astropy's pixel of it in the
    // Galactic image, and the value that pixel holds (x + 1000 y by construction).
    const centres = tilePixelCentres(order, index, TILE_WIDTH);
    const samples: Array<{ i: number; ra: number; dec: number }> = [];
    for (let i = 0; i < TILE_WIDTH * TILE_WIDTH; i += 97) {
      if (!Number.isNaN((tile as Float32Array)[i]))
        samples.push({ i, ra: centres[2 * i], dec: centres[2 * i + 1] });
    }
    expect(samples.length).toBeGreaterThan(100);
    const expected = runPython<number[]>(
      `
import sys, json, warnings
import numpy as np
from astropy.io import fits
from astropy.wcs import WCS
from astropy.coordinates import SkyCoord
import astropy.units as u
warnings.simplefilter('ignore')
a = json.load(sys.stdin)
w = WCS(fits.getheader(a['path']))
c = SkyCoord([s['ra'] for s in a['samples']] * u.deg, [s['dec'] for s in a['samples']] * u.deg, frame='icrs')
x, y = w.world_to_pixel(c)
print(json.dumps([float(np.floor(px + 0.5) + 1000 * np.floor(py + 0.5)) for px, py in zip(x, y)]))
`,
      { path, samples },
    );
    let mismatched = 0;
    samples.forEach((s, k) => {
      if ((tile as Float32Array)[s.i] !== expected[k]) mismatched++;
    });
    // Nearest sampling: only a pixel centre exactly between two image pixels could differ.
    expect(mismatched).toBeLessThanOrEqual(Math.ceil(samples.length * 0.01));
  });
});
