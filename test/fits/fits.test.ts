import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import {
  type CardInput,
  FitsError,
  FitsFile,
  type FitsPixels,
  formatCard,
  planRuns,
  writeFitsFile,
} from '../../src/fits/index.js';
import { runPython } from './python.js';

const dir = mkdtempSync(join(tmpdir(), 'vonode-fits-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function imageCards(bitpix: number, axes: number[], extra: CardInput[] = []): CardInput[] {
  return [
    { keyword: 'SIMPLE', value: true },
    { keyword: 'BITPIX', value: bitpix },
    { keyword: 'NAXIS', value: axes.length },
    ...axes.map((n, i) => ({ keyword: `NAXIS${i + 1}`, value: n })),
    ...extra,
  ];
}

async function writeArray(name: string, cards: CardInput[], data?: FitsPixels): Promise<string> {
  const path = join(dir, name);
  await writeFitsFile(path, cards, async (hdu) => {
    if (data) await hdu.write(data);
  });
  return path;
}

const ASTROPY_DATA = `
import sys, json, numpy as np
from astropy.io import fits
a = json.load(sys.stdin)
with fits.open(a['path']) as h:
    d = h[0].data
    out = None if d is None else [None if (isinstance(v, float) and v != v) else v for v in np.asarray(d, dtype=np.float64).ravel().tolist()]
    print(json.dumps({'shape': None if d is None else list(d.shape), 'dtype': None if d is None else str(d.dtype), 'values': out}))
`;

describe('header cards (FITS-10..FITS-15)', () => {
  it('formats fixed-format values ending in byte 30 and strings starting in byte 11', () => {
    expect(formatCard({ keyword: 'NAXIS1', value: 2048 })[0]).toBe(
      `NAXIS1  = ${'2048'.padStart(20)}`.padEnd(80),
    );
    expect(formatCard({ keyword: 'SIMPLE', value: true })[0].slice(0, 30)).toBe(
      `SIMPLE  = ${'T'.padStart(20)}`,
    );
    const s = formatCard({ keyword: 'XTENSION', value: 'IMAGE' })[0];
    expect(s.slice(0, 20)).toBe("XTENSION= 'IMAGE   '");
    const q = formatCard({ keyword: 'OBJECT', value: "it's", comment: 'quoted' })[0];
    expect(q).toBe("OBJECT  = 'it''s   ' / quoted".padEnd(80));
    const r = formatCard({ keyword: 'CDELT1', value: -1.3888888888888889e-4 })[0];
    // 17 significant digits do not fit the 20-column fixed field: free format keeps round-trip (FITS-15).
    expect(Number(r.slice(10).split('/')[0])).toBe(-1.3888888888888889e-4);
    expect(r.slice(10).trim()).toMatch(/E-04$/);
    expect(formatCard({ keyword: 'CRVAL3', value: 1.4e9 })[0].slice(10, 30).trim()).toBe('1400000000');
    expect(formatCard({ keyword: 'BSCALE', value: 1.5 })[0].slice(10, 30).trim()).toBe('1.5');
    expect(() => formatCard({ keyword: 'BAD KEY', value: 1 })).toThrow(FitsError);
    expect(() => formatCard({ keyword: 'X', value: Number.NaN })).toThrow(FitsError);
  });

  it('writes headers astropy reads back identically, including CONTINUE, complex and commentary', async () => {
    // No quote followed by a space: astropy's card regex takes '' + space for the closing quote.
    const long = `${'a long value '.repeat(12)}with 'quotes', at the end`;
    const path = await writeArray('cards.fits', [
      ...imageCards(8, []),
      { keyword: 'LONGSTR', value: long, comment: 'needs CONTINUE' },
      { keyword: 'CPLX', value: { re: 1.5, im: -2 } },
      { keyword: 'FLAG', value: false },
      { keyword: 'BIGINT', value: 9007199254740993n },
      { keyword: 'TINY', value: 1.234e-300 },
      { keyword: 'EMPTY', value: null },
      { keyword: 'COMMENT', comment: 'first comment' },
      { keyword: 'HISTORY', comment: 'x'.repeat(100) },
    ]);
    const ref = runPython<Record<string, unknown>>(
      `
import sys, json
from astropy.io import fits
h = fits.getheader(json.load(sys.stdin))
print(json.dumps({'LONGSTR': h['LONGSTR'], 'CPLX': [h['CPLX'].real, h['CPLX'].imag], 'FLAG': h['FLAG'],
  'BIGINT': str(h['BIGINT']), 'TINY': h['TINY'], 'EMPTY': isinstance(h.cards['EMPTY'].value, fits.card.Undefined), 'COMMENT': list(h['COMMENT']),
  'HISTORY': ''.join(h['HISTORY'])}))
`,
      path,
    );
    expect(ref).toEqual({
      LONGSTR: long,
      CPLX: [1.5, -2],
      FLAG: false,
      BIGINT: '9007199254740993',
      TINY: 1.234e-300,
      EMPTY: true,
      COMMENT: ['first comment'],
      HISTORY: 'x'.repeat(100),
    });
    const f = await FitsFile.open(path);
    const h = f.primary.header;
    expect(h.get('LONGSTR')).toBe(long);
    expect(h.comment('LONGSTR')).toBe('needs CONTINUE');
    expect(h.get('CPLX')).toEqual({ re: 1.5, im: -2 });
    expect(h.get('BIGINT')).toBe(9007199254740993n);
    expect(h.get('EMPTY')).toBeNull();
    expect(h.commentary('COMMENT')).toEqual(['first comment']);
    expect(h.commentary('HISTORY').join('')).toBe('x'.repeat(100));
    await f.close();
  });

  it('reads headers astropy wrote, with free-format and D-exponent values (FITS-14)', async () => {
    const path = join(dir, 'astropy-header.fits');
    runPython(
      `
import sys, json
from astropy.io import fits
h = fits.Header()
h['OBSERVER'] = ('E. Hubble', 'comment here')
h['LONGVAL'] = 'z' * 150
h['RATIO'] = 0.1
h.append(fits.Card.fromstring("DVAL    =          1.5D+03 / a D exponent".ljust(80)))
h.append(fits.Card.fromstring("FREEF   = 2.5e-3/no spaces".ljust(80)))
h['PLACE1'] = 7
h['PLACE2'] = 8
fits.PrimaryHDU(header=h).writeto(json.load(sys.stdin), output_verify='silentfix')
print('null')
`,
      path,
    );
    // astropy refuses to write invalid names, so patch them in: a lower-case and an illegal one.
    writeFileSync(
      path,
      readFileSync(path, 'latin1').replace('PLACE1  =', 'lower   =').replace('PLACE2  =', 'BAD.KEY ='),
      'latin1',
    );
    const f = await FitsFile.open(path);
    const h = f.primary.header;
    expect(h.get('OBSERVER')).toBe('E. Hubble');
    expect(h.get('LONGVAL')).toBe('z'.repeat(150));
    expect(h.get('RATIO')).toBe(0.1);
    expect(h.get('DVAL')).toBe(1500);
    expect(h.get('FREEF')).toBe(0.0025);
    expect(h.comment('FREEF')).toBe('no spaces');
    expect(h.get('LOWER')).toBe(7);
    expect(h.has('BAD.KEY')).toBe(false);
    await f.close();
  });

  it('pads headers of 35, 36 and 37 cards (incl. END) to one, one and two blocks (FITS-90)', async () => {
    for (const [cards, blocks] of [
      [35, 1],
      [36, 1],
      [37, 2],
    ] as const) {
      const filler = Array.from({ length: cards - 4 }, (_, i) => ({ keyword: `K${i}`, value: i }));
      const path = await writeArray(`c${cards}.fits`, [...imageCards(8, []), ...filler]);
      expect(statSync(path).size).toBe(blocks * 2880);
      const f = await FitsFile.open(path);
      expect(f.primary.dataStart).toBe(blocks * 2880);
      expect(f.primary.header.get(`K${cards - 5}`)).toBe(cards - 5);
      await f.close();
      const ref = runPython<{ n: number }>(
        `import sys,json\nfrom astropy.io import fits\nprint(json.dumps({'n': len(fits.getheader(json.load(sys.stdin)))}))`,
        path,
      );
      expect(ref.n).toBe(cards - 1);
    }
  });
});

describe('data round trip for every BITPIX (FITS-20..FITS-24, FITS-90)', () => {
  const shape = [5, 4, 3];
  const n = 60;
  const cases: Array<{
    name: string;
    bitpix: number;
    extra: CardInput[];
    data: FitsPixels;
    expected: (number | null)[];
    /** astropy leaves BLANK alone on unscaled integer data, so it sees the raw value there. */
    astropy?: number[];
  }> = [];
  {
    const u8 = Uint8Array.from({ length: n }, (_, i) => (i * 37) % 256);
    cases.push({
      name: 'u8-blank',
      bitpix: 8,
      extra: [{ keyword: 'BLANK', value: 0 }],
      data: u8,
      expected: [...u8].map((v) => (v === 0 ? null : v)),
      astropy: [...u8],
    });
    const i16 = Int16Array.from({ length: n }, (_, i) => (i - 30) * 1000);
    cases.push({
      name: 'i16-scaled',
      bitpix: 16,
      extra: [
        { keyword: 'BSCALE', value: 0.5 },
        { keyword: 'BZERO', value: 10 },
        { keyword: 'BLANK', value: -30000 },
      ],
      data: i16,
      expected: [...i16].map((v) => (v === -30000 ? null : 10 + 0.5 * v)),
    });
    const u16 = Uint16Array.from({ length: n }, (_, i) => i * 1111);
    cases.push({
      name: 'u16',
      bitpix: 16,
      extra: [{ keyword: 'BZERO', value: 32768 }],
      data: u16,
      expected: [...u16],
    });
    const u32 = Uint32Array.from({ length: n }, (_, i) => i * 71_000_000);
    cases.push({
      name: 'u32',
      bitpix: 32,
      extra: [{ keyword: 'BZERO', value: 2147483648 }],
      data: u32,
      expected: [...u32],
    });
    const i32 = Int32Array.from({ length: n }, (_, i) => (i - 30) * 70_000_000);
    cases.push({ name: 'i32', bitpix: 32, extra: [], data: i32, expected: [...i32] });
    const i64 = BigInt64Array.from({ length: n }, (_, i) => BigInt(i - 30) * 123456789012n);
    cases.push({ name: 'i64', bitpix: 64, extra: [], data: i64, expected: [...i64].map(Number) });
    const f32 = Float32Array.from({ length: n }, (_, i) => (i === 7 ? Number.NaN : Math.fround(i * 0.1 - 2)));
    cases.push({
      name: 'f32',
      bitpix: -32,
      extra: [],
      data: f32,
      expected: [...f32].map((v) => (Number.isNaN(v) ? null : v)),
    });
    const f64 = Float64Array.from({ length: n }, (_, i) =>
      i === 3 ? Number.NaN : Math.PI * (i - 30) * 1e100,
    );
    cases.push({
      name: 'f64',
      bitpix: -64,
      extra: [],
      data: f64,
      expected: [...f64].map((v) => (Number.isNaN(v) ? null : v)),
    });
  }

  for (const c of cases) {
    it(`BITPIX ${c.bitpix} (${c.name}) written by us reads the same in astropy and in our reader`, async () => {
      const path = await writeArray(`${c.name}.fits`, imageCards(c.bitpix, shape, c.extra), c.data);
      expect(statSync(path).size % 2880).toBe(0);
      const ref = runPython<{ shape: number[]; values: (number | null)[] }>(ASTROPY_DATA, { path });
      expect(ref.shape).toEqual([...shape].reverse());
      expect(ref.values).toEqual(c.astropy ?? c.expected);
      const f = await FitsFile.open(path);
      const all = await f.readSubarray(
        f.primary,
        shape.map((len) => ({ from: 1, to: len })),
      );
      expect([...all].map((v) => (Number.isNaN(v) ? null : v))).toEqual(c.expected);
      await f.close();
    });
  }

  it('zero-pads the data to a whole block and NAXIS=0 has no data blocks (FITS-03)', async () => {
    const path = await writeArray('pad.fits', imageCards(-32, [3]), new Float32Array([1, 2, 3]));
    const bytes = readFileSync(path);
    expect(bytes.length).toBe(5760);
    expect(bytes.subarray(2880 + 12).every((b) => b === 0)).toBe(true);
    const empty = await writeArray('empty.fits', imageCards(8, []));
    expect(statSync(empty).size).toBe(2880);
  });

  it('refuses too few or too many data bytes and leaves no file behind', async () => {
    const path = join(dir, 'short.fits');
    await expect(
      writeFitsFile(path, imageCards(-32, [4]), async (hdu) => hdu.write(new Float32Array(3))),
    ).rejects.toThrow(/underflow/);
    await expect(
      writeFitsFile(path, imageCards(-32, [4]), async (hdu) => hdu.write(new Float32Array(5))),
    ).rejects.toThrow(/overflow/);
    await expect(
      writeFitsFile(path, imageCards(16, [4]), async (hdu) => hdu.write(new Float32Array(4))),
    ).rejects.toThrow(/cannot be written as BITPIX 16/);
    expect(() => statSync(path)).toThrow();
    expect(() => statSync(`${path}.partial`)).toThrow();
  });
});

describe('sub-array reads (FITS-26, FITS-31)', () => {
  it('reads boxes of an astropy-written 4-D cube equal to numpy slices', async () => {
    const path = join(dir, 'cube4.fits');
    runPython(
      `
import sys, json, numpy as np
from astropy.io import fits
d = (np.arange(2*7*9*11, dtype=np.float64).reshape(2, 7, 9, 11) * 0.25 - 100).astype('>f4')
fits.PrimaryHDU(d).writeto(json.load(sys.stdin))
print('null')
`,
      path,
    );
    const boxes = [
      [
        [3, 8],
        [2, 5],
        [4, 6],
        [2, 2],
      ],
      [
        [1, 11],
        [1, 9],
        [1, 7],
        [1, 2],
      ],
      [
        [11, 11],
        [9, 9],
        [7, 7],
        [1, 1],
      ],
      [
        [1, 11],
        [3, 4],
        [2, 6],
        [1, 2],
      ],
    ];
    const ref = runPython<number[][]>(
      `
import sys, json, numpy as np
from astropy.io import fits
a = json.load(sys.stdin)
d = fits.getdata(a['path'])
out = []
for b in a['boxes']:
    s = d[b[3][0]-1:b[3][1], b[2][0]-1:b[2][1], b[1][0]-1:b[1][1], b[0][0]-1:b[0][1]]
    out.append(s.astype(np.float64).ravel().tolist())
print(json.dumps(out))
`,
      { path, boxes },
    );
    const f = await FitsFile.open(path);
    for (let i = 0; i < boxes.length; i++) {
      const box = boxes[i].map(([from, to]) => ({ from, to }));
      const got = await f.readSubarray(f.primary, box);
      expect(got).toBeInstanceOf(Float32Array);
      expect([...got]).toEqual(ref[i]);
      // Tiny maxReadBytes forces split runs: the result must not change.
      const split = await f.readSubarray(f.primary, box, { maxReadBytes: 12 });
      expect([...split]).toEqual(ref[i]);
    }
    await f.close();
  });

  it('plans one read per contiguous run: full-width rows and full planes coalesce', async () => {
    const path = await writeArray('plan.fits', imageCards(-32, [10, 8, 6]), new Float32Array(480));
    const f = await FitsFile.open(path);
    const full = planRuns(
      f.primary,
      [
        { from: 1, to: 10 },
        { from: 1, to: 8 },
        { from: 2, to: 4 },
      ],
      1 << 20,
    );
    expect(full).toEqual([{ offset: f.primary.dataStart + 80 * 4, bytes: 3 * 80 * 4, outIndex: 0 }]);
    const rows = planRuns(
      f.primary,
      [
        { from: 1, to: 10 },
        { from: 3, to: 5 },
        { from: 2, to: 3 },
      ],
      1 << 20,
    );
    expect(rows.map((r) => r.bytes)).toEqual([120, 120]);
    const part = planRuns(
      f.primary,
      [
        { from: 2, to: 4 },
        { from: 3, to: 5 },
        { from: 1, to: 1 },
      ],
      1 << 20,
    );
    expect(part.length).toBe(3);
    expect(part[1]).toEqual({ offset: f.primary.dataStart + (1 + 3 * 10) * 4, bytes: 12, outIndex: 3 });
    await expect(
      f.readSubarray(f.primary, [
        { from: 0, to: 3 },
        { from: 1, to: 1 },
        { from: 1, to: 1 },
      ]),
    ).rejects.toThrow(/axis 1 range 0..3/);
    await expect(
      f.readSubarray(
        f.primary,
        [
          { from: 1, to: 10 },
          { from: 1, to: 8 },
          { from: 1, to: 6 },
        ],
        { maxPixels: 100 },
      ),
    ).rejects.toMatchObject({ code: 'LIMIT' });
    await f.close();
  });

  it('lists extension HDUs and reads an IMAGE extension', async () => {
    const path = join(dir, 'mef.fits');
    runPython(
      `
import sys, json, numpy as np
from astropy.io import fits
p = fits.PrimaryHDU()
e = fits.ImageHDU(np.arange(12, dtype='>i2').reshape(3, 4), name='SCI')
t = fits.BinTableHDU.from_columns([fits.Column(name='a', format='J', array=np.arange(5))])
fits.HDUList([p, e, t]).writeto(json.load(sys.stdin))
print('null')
`,
      path,
    );
    const f = await FitsFile.open(path);
    const hdus = await f.hdus();
    expect(hdus.map((h) => h.kind)).toEqual(['PRIMARY', 'IMAGE', 'BINTABLE']);
    expect(hdus[1].header.get('EXTNAME')).toBe('SCI');
    const got = await f.readSubarray(hdus[1], [
      { from: 2, to: 3 },
      { from: 2, to: 3 },
    ]);
    expect([...got]).toEqual([5, 6, 9, 10]);
    await expect(
      f.readSubarray(hdus[2], [
        { from: 1, to: 1 },
        { from: 1, to: 1 },
      ]),
    ).rejects.toMatchObject({
      code: 'UNSUPPORTED',
    });
    expect(await f.hdu(3)).toBeUndefined();
    await f.close();
    // Trailing bytes that are not an extension end the HDU list rather than failing the file.
    const trailing = join(dir, 'trailing.fits');
    writeFileSync(trailing, Buffer.concat([readFileSync(path), Buffer.from('garbage at the end')]));
    const g = await FitsFile.open(trailing);
    expect((await g.hdus()).length).toBe(3);
    await g.close();
  });
});

describe('bad files give FitsError (FITS-34)', () => {
  it('rejects non-FITS, truncated, END-less and bad-BITPIX files with codes', async () => {
    const notFits = join(dir, 'not.fits');
    writeFileSync(notFits, 'hello world'.repeat(300));
    await expect(FitsFile.open(notFits)).rejects.toMatchObject({ code: 'NOT_FITS' });
    const tiny = join(dir, 'tiny.fits');
    writeFileSync(tiny, 'SIMPLE');
    await expect(FitsFile.open(tiny)).rejects.toMatchObject({ code: 'NOT_FITS' });
    await expect(FitsFile.open(join(dir, 'missing.fits'))).rejects.toBeInstanceOf(FitsError);

    const good = await writeArray('good.fits', imageCards(-32, [100, 100]), new Float32Array(10000));
    const truncated = join(dir, 'trunc.fits');
    writeFileSync(truncated, readFileSync(good).subarray(0, 2880 * 3));
    await expect(FitsFile.open(truncated)).rejects.toMatchObject({ code: 'TRUNCATED' });

    const noEnd = join(dir, 'noend.fits');
    const header = readFileSync(good)
      .subarray(0, 2880)
      .toString('latin1')
      .replace(/END {77}/, ' '.repeat(80));
    writeFileSync(noEnd, header.repeat(3));
    await expect(FitsFile.open(noEnd, { maxHeaderBlocks: 2 })).rejects.toMatchObject({ code: 'LIMIT' });
    await expect(FitsFile.open(noEnd)).rejects.toMatchObject({ code: 'TRUNCATED' });

    const badBitpix = join(dir, 'bitpix.fits');
    writeFileSync(
      badBitpix,
      readFileSync(good)
        .toString('latin1')
        .replace('BITPIX  =                  -32', 'BITPIX  =                   12'),
      'latin1',
    );
    await expect(FitsFile.open(badBitpix)).rejects.toThrow(/BITPIX 12/);

    // A gzipped file is read (test/fits/gzip.test.ts); one cut short fails when its data are read.
    const gz = join(dir, 'image.fits.gz');
    writeFileSync(gz, gzipSync(readFileSync(good)).subarray(0, 20));
    await expect(FitsFile.open(gz)).rejects.toMatchObject({ code: 'TRUNCATED' });

    const binary = join(dir, 'binary.fits');
    const b = Buffer.from(readFileSync(good));
    b[100] = 0x01;
    writeFileSync(binary, b);
    await expect(FitsFile.open(binary)).rejects.toMatchObject({ code: 'BAD_HEADER' });
  });
});
