import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FitsFile, type FitsSink } from '../../src/fits/index.js';
import { describeFitsProduct } from '../../src/ingest/fits-product.js';
import { imageHdu, streamCutout } from '../../src/soda/index.js';
import { runPython } from './python.js';

// FITS-33: a gzipped file is read through a forward gunzip stream; these tests compare every read
// with the same file uncompressed, and check that a cutout near the start decompresses only up to
// its last byte (I/O proportional to where the cutout ends, memory bounded).
const dir = mkdtempSync(join(tmpdir(), 'vonode-gz-'));
const plain = join(dir, 'survey.fits');
const gz = join(dir, 'survey.fits.gz');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

beforeAll(() => {
  runPython(
    `
import sys, json, numpy as np
from astropy.io import fits
path = json.load(sys.stdin)
h = fits.Header()
h['CTYPE1'], h['CTYPE2'] = 'GLON-CAR', 'GLAT-CAR'
h['CRVAL1'], h['CRVAL2'] = 20.0, 0.0
h['CRPIX1'], h['CRPIX2'] = 1000.5, 500.5
h['CDELT1'], h['CDELT2'] = -0.002, 0.002
h['BUNIT'] = 'K'
h['DATE-OBS'] = '2024-05-01T00:00:00'
rng = np.random.default_rng(1)
img = rng.normal(size=(1000, 2000)).astype('>f4')
fits.HDUList([fits.PrimaryHDU(img, header=h), fits.ImageHDU(np.arange(12, dtype='>i2').reshape(3, 4), name='AUX')]).writeto(path)
print('null')
`,
    plain,
  );
  writeFileSync(gz, gzipSync(readFileSync(plain), { level: 1 }));
}, 120_000);

class MemorySink implements FitsSink {
  parts: Buffer[] = [];
  async write(chunk: Uint8Array): Promise<void> {
    this.parts.push(Buffer.from(chunk));
  }
  get bytes(): Buffer {
    return Buffer.concat(this.parts);
  }
}

describe('gzipped FITS (.fits.gz, FITS-33)', () => {
  it('reads the same headers and pixels as the uncompressed file, in any order', async () => {
    const a = await FitsFile.open(plain);
    const b = await FitsFile.open(gz);
    try {
      expect(b.gzipped).toBe(true);
      expect(b.size).toBe(statSync(gz).size);
      const ha = await a.hdus();
      const hb = await b.hdus();
      expect(hb.map((h) => [h.kind, h.axes, h.dataStart])).toEqual(
        ha.map((h) => [h.kind, h.axes, h.dataStart]),
      );
      expect(hb[1].header.string('EXTNAME')).toBe('AUX');
      const box = [
        { from: 1500, to: 1600 },
        { from: 700, to: 760 },
      ];
      // After the scan to the end, this read goes backwards: the stream restarts.
      expect(await b.readSubarray(hb[0], box)).toEqual(await a.readSubarray(ha[0], box));
      expect(
        await b.readSubarray(hb[1], [
          { from: 1, to: 4 },
          { from: 2, to: 3 },
        ]),
      ).toEqual(
        await a.readSubarray(ha[1], [
          { from: 1, to: 4 },
          { from: 2, to: 3 },
        ]),
      );
    } finally {
      await a.close();
      await b.close();
    }
  });

  it('a SODA cutout streams the same bytes, decompressing only up to its last row', async () => {
    const a = await FitsFile.open(plain);
    const b = await FitsFile.open(gz);
    try {
      const box = [
        { from: 10, to: 400 },
        { from: 5, to: 80 },
      ];
      const sa = new MemorySink();
      const sb = new MemorySink();
      const hdu = await imageHdu(b);
      await streamCutout(a, await imageHdu(a), box, sa);
      await streamCutout(b, hdu, box, sb, { maxReadBytes: 64 * 1024 });
      expect(sb.bytes.equals(sa.bytes)).toBe(true);
      const lastByte = hdu.dataStart + 80 * 2000 * 4;
      const whole = hdu.dataStart + hdu.dataBytes;
      // One forward pass (no restart), ending within one inflate chunk of the cutout's last byte.
      expect(b.inflatedBytes).toBeGreaterThanOrEqual(lastByte);
      expect(b.inflatedBytes).toBeLessThan(lastByte + 512 * 1024);
      expect(b.inflatedBytes).toBeLessThan(whole / 10);
    } finally {
      await a.close();
      await b.close();
    }
  });

  it('ingest describes it like the uncompressed file, with its own size and name', async () => {
    const opts = {
      collection: 'gz',
      publisherDid: (obsId: string, file: string) => `ivo://t/gz?${obsId}/${file}`,
      accessUrl: () => 'http://localhost/x',
    };
    const ra = await describeFitsProduct(plain, opts);
    const rb = await describeFitsProduct(gz, { ...opts, sha256: true });
    expect(rb.obs_id).toBe('survey');
    expect(rb.file_size).toBe(statSync(gz).size);
    for (const k of ['s_ra', 's_dec', 's_region', 's_fov', 't_min', 'o_unit', 'dataproduct_type'] as const)
      expect(rb[k]).toEqual(ra[k]);
    // The checksum is of the file as stored (and served by DataLink #this).
    expect(rb.file_sha256).toMatch(/^[0-9a-f]{64}$/);
  });

  it('a gzipped file that is cut short is refused when its data are read', async () => {
    const cut = join(dir, 'cut.fits.gz');
    const whole = readFileSync(gz);
    writeFileSync(cut, whole.subarray(0, Math.floor(whole.length / 3)));
    const f = await FitsFile.open(cut);
    try {
      await expect(
        f.readSubarray(f.primary, [
          { from: 1, to: 2000 },
          { from: 900, to: 1000 },
        ]),
      ).rejects.toMatchObject({ code: 'TRUNCATED' });
    } finally {
      await f.close();
    }
  });
});
