import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { angularDistanceDeg } from '../../sky/index.js';
import { FitsFile, type FitsSink } from '../../src/fits/index.js';
import { describeFitsProduct } from '../../src/ingest/fits-product.js';
import { imageHdu, streamCutout } from '../../src/soda/index.js';
import { runPython } from './python.js';

// FITS 4.0 §10 (FITS-33): tile-compressed images written by astropy (CompImageHDU) are read as
// the images they hold; every value is compared with astropy's own decompression.
const dir = mkdtempSync(join(tmpdir(), 'vonode-tiled-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface Case {
  name: string;
  dtype: string;
  compression: string;
  tile: [number, number];
  quantize?: number;
  method?: number;
}
const CASES: Case[] = [
  { name: 'int16-rice-rows', dtype: '>i2', compression: 'RICE_1', tile: [120, 1] },
  { name: 'uint8-rice', dtype: 'u1', compression: 'RICE_1', tile: [32, 16] },
  { name: 'int32-rice-blocks', dtype: '>i4', compression: 'RICE_1', tile: [50, 40] },
  { name: 'int32-gzip1', dtype: '>i4', compression: 'GZIP_1', tile: [64, 64] },
  { name: 'int16-gzip2', dtype: '>i2', compression: 'GZIP_2', tile: [120, 10] },
  {
    name: 'float-rice-dither1',
    dtype: '>f4',
    compression: 'RICE_1',
    tile: [50, 40],
    quantize: 16,
    method: 1,
  },
  { name: 'float-rice-dither2', dtype: '>f4', compression: 'RICE_1', tile: [120, 1], quantize: 8, method: 2 },
  {
    name: 'float-gzip-nodither',
    dtype: '>f4',
    compression: 'GZIP_1',
    tile: [30, 30],
    quantize: 4,
    method: -1,
  },
  { name: 'float-gzip2-lossless', dtype: '>f4', compression: 'GZIP_2', tile: [120, 5], quantize: 0 },
];

const WRITE = `
import sys, json, warnings
import numpy as np
from astropy.io import fits
warnings.simplefilter('ignore')
a = json.load(sys.stdin)
out = {}
rng = np.random.default_rng(7)
for c in a['cases']:
    y, x = np.mgrid[0:90, 0:120]
    if c['dtype'].endswith('f4'):
        d = (np.sin(x / 7.0) * 30 + y * 0.25 + rng.normal(size=x.shape)).astype(c['dtype'])
        d[5, 7] = np.nan; d[60, 100] = np.nan
        if c['name'].endswith('dither2'): d[10, 10:20] = 0.0
    elif c['dtype'] == 'u1':
        d = ((x * 3 + y * 5) % 256).astype('u1')
    else:
        d = (x * 37 - y * 1001 + rng.integers(-500, 500, size=x.shape)).astype(c['dtype'])
    h = fits.Header()
    h['CTYPE1'], h['CTYPE2'] = 'GLON-TAN', 'GLAT-TAN'
    h['CRVAL1'], h['CRVAL2'] = 340.0, -0.5
    h['CRPIX1'], h['CRPIX2'] = 60.5, 45.5
    h['CDELT1'], h['CDELT2'] = -0.002, 0.002
    h['BUNIT'] = 'Jy/beam'
    kw = dict(compression_type=c['compression'], tile_size=c['tile'])
    if 'quantize' in c: kw['quantize_level'] = c['quantize']
    if 'method' in c: kw['quantize_method'] = c['method']
    path = a['dir'] + '/' + c['name'] + '.fits'
    fits.HDUList([fits.PrimaryHDU(), fits.CompImageHDU(d, header=h, **kw)]).writeto(path, overwrite=True)
    back = fits.open(path)[1].data.astype('f8')
    out[c['name']] = [None if np.isnan(v) else float(v) for v in back.ravel()]
print(json.dumps(out))
`;

let expected: Record<string, Array<number | null>>;
beforeAll(() => {
  expected = runPython(WRITE, { dir, cases: CASES });
}, 120_000);

class MemorySink implements FitsSink {
  parts: Buffer[] = [];
  async write(chunk: Uint8Array): Promise<void> {
    this.parts.push(Buffer.from(chunk));
  }
}

describe('tile-compressed images (ZIMAGE, FITS 4.0 §10)', () => {
  for (const c of CASES) {
    it(`${c.name}: every pixel as astropy decompresses it, and a box from the intersecting tiles`, async () => {
      const f = await FitsFile.open(join(dir, `${c.name}.fits`));
      try {
        const hdu = await imageHdu(f);
        expect(hdu.tiled?.compression).toBe(c.compression);
        expect(hdu.axes).toEqual([120, 90]);
        const all = await f.readSubarray(hdu, [
          { from: 1, to: 120 },
          { from: 1, to: 90 },
        ]);
        const want = expected[c.name];
        let bad = 0;
        for (let i = 0; i < want.length; i++) {
          const w = want[i];
          // Integers exactly; floats to float32 precision of the image's values (~30).
          const ok =
            w === null ? Number.isNaN(all[i]) : Math.abs(all[i] - w) <= 1e-5 * Math.max(1, Math.abs(w));
          if (!ok) bad++;
        }
        expect(bad).toBe(0);
        // A box straddling tile edges.
        const box = await f.readSubarray(hdu, [
          { from: 25, to: 71 },
          { from: 33, to: 58 },
        ]);
        for (let y = 33; y <= 58; y++)
          for (let x = 25; x <= 71; x++) {
            const got = box[(y - 33) * 47 + (x - 25)];
            const w = want[(y - 1) * 120 + (x - 1)];
            if (w === null) expect(Number.isNaN(got)).toBe(true);
            else expect(got).toBeCloseTo(w, 4);
          }
      } finally {
        await f.close();
      }
    });
  }

  it('a SODA cutout reads only the tiles it touches (I/O proportional to the cutout)', async () => {
    const path = join(dir, 'big.fits');
    const sizes = runPython<{ tiles: number[] }>(
      `
import sys, json, numpy as np
from astropy.io import fits
path = json.load(sys.stdin)
rng = np.random.default_rng(3)
d = rng.integers(-30000, 30000, size=(1000, 1000)).astype('>i4')
h = fits.Header(); h['CTYPE1'], h['CTYPE2'] = 'RA---TAN', 'DEC--TAN'
h['CRVAL1'], h['CRVAL2'] = 10.0, -30.0; h['CRPIX1'], h['CRPIX2'] = 500, 500
h['CDELT1'], h['CDELT2'] = -0.001, 0.001
fits.HDUList([fits.PrimaryHDU(), fits.CompImageHDU(d, header=h, compression_type='RICE_1', tile_size=(100, 100))]).writeto(path)
t = fits.open(path, disable_image_compression=True)[1].data
print(json.dumps({'tiles': [int(len(r)) for r in t['COMPRESSED_DATA']]}))
`,
      path,
    );
    const f = await FitsFile.open(path);
    try {
      const hdu = await imageHdu(f);
      const sink = new MemorySink();
      const box = [
        { from: 150, to: 250 },
        { from: 150, to: 250 },
      ];
      const { read } = await streamCutout(f, hdu, box, sink);
      // Tiles (1,1), (2,1), (1,2), (2,2) in 0-based tile coordinates: rows 11, 12, 21, 22.
      const touched = [11, 12, 21, 22].reduce((n, i) => n + sizes.tiles[i] + (hdu.tiled?.rowBytes ?? 0), 0);
      expect(read).toBe(touched);
      expect(read).toBeLessThan(statSync(path).size / 20);
      const out = Buffer.concat(sink.parts);
      const check = runPython<{ equal: boolean; shape: number[] }>(
        `
import sys, json, io, numpy as np
from astropy.io import fits
a = json.load(sys.stdin)
cut = fits.open(io.BytesIO(bytes.fromhex(a['hex'])))[0]
full = fits.open(a['path'])[1].data
print(json.dumps({'equal': bool((cut.data == full[149:250, 149:250]).all()), 'shape': list(cut.data.shape)}))
`,
        { hex: out.toString('hex'), path },
      );
      expect(check).toEqual({ equal: true, shape: [101, 101] });
    } finally {
      await f.close();
    }
  });

  it('ingest reads the WCS of the compressed image (Z keywords map to the image header)', async () => {
    const path = join(dir, 'int16-rice-rows.fits');
    const rec = await describeFitsProduct(path, {
      collection: 'c',
      publisherDid: () => 'ivo://t/tiled',
      accessUrl: () => 'http://localhost/x',
    });
    const ref = runPython<number[]>(
      `
import sys, json
from astropy.io import fits
from astropy.wcs import WCS
from astropy.wcs.utils import pixel_to_skycoord
h = fits.open(json.load(sys.stdin))[1].header
c = pixel_to_skycoord(59.5, 44.5, WCS(h)).icrs
print(json.dumps([float(c.ra.deg), float(c.dec.deg)]))
`,
      path,
    );
    expect(rec.s_xel1).toBe(120);
    expect(rec.s_xel2).toBe(90);
    expect(rec.o_unit).toBe('Jy/beam');
    expect(angularDistanceDeg(rec.s_ra as number, rec.s_dec as number, ref[0], ref[1]) * 3600).toBeLessThan(
      0.1,
    );
  });

  it('refuses compressions it does not decode, naming ZCMPTYPE', async () => {
    const path = join(dir, 'hcomp.fits');
    runPython(
      `
import sys, json, numpy as np
from astropy.io import fits
d = np.arange(64 * 64, dtype='>i2').reshape(64, 64)
fits.HDUList([fits.PrimaryHDU(), fits.CompImageHDU(d, compression_type='HCOMPRESS_1')]).writeto(json.load(sys.stdin))
print('null')
`,
      path,
    );
    await expect(FitsFile.open(path).then((f) => f.hdus())).rejects.toThrow(
      /ZCMPTYPE HCOMPRESS_1 is not supported/,
    );
  });
});
