import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { angularDistanceDeg, cellToUniq, Moc, SkyError, uniqToCell } from '../../sky/index.js';
import { randomPoints, rng } from './points.js';

const EXAMPLE = '1/1 2 4 2/12-14 21 23 25 8/'; // MOC-20's own example

function randomMoc(seed: number, order: number): Moc {
  const r = rng(seed);
  const cells = Array.from({ length: 40 }, () => {
    const o = Math.floor(r() * (order + 1));
    return { order: o, index: BigInt(Math.floor(r() * 12 * 4 ** o)) };
  });
  return Moc.fromCells(cells, order);
}

describe('Moc serialisations (MOC-03, MOC-05, MOC-20..23)', () => {
  it('reads and writes the ASCII example of the standard', () => {
    const moc = Moc.parseAscii(EXAMPLE);
    expect(moc.order).toBe(8);
    expect(moc.cells().map((c) => `${c.order}/${c.index}`)).toEqual([
      '1/1',
      '1/2',
      '1/4',
      '2/12',
      '2/13',
      '2/14',
      '2/21',
      '2/23',
      '2/25',
    ]);
    expect(moc.toAscii()).toBe('1/1-2 4 2/12-14 21 23 25 8/');
    expect(Moc.parseAscii(moc.toAscii()).equals(moc)).toBe(true);
    // An optional "s" prefix, line breaks and MOC 1.1 commas are read too (MOC-21).
    expect(Moc.parseAscii('s1/1,2,4\n2/12-14 21\r\n23 25 8/').equals(moc)).toBe(true);
  });

  it('writes the JSON of the standard and reads it back, with or without the "s" wrapper', () => {
    const moc = Moc.parseAscii(EXAMPLE);
    const json = moc.toJson();
    expect(JSON.parse(json)).toEqual({ '1': [1, 2, 4], '2': [12, 13, 14, 21, 23, 25], '8': [] });
    expect(Moc.parseJson(json).equals(moc)).toBe(true);
    expect(Moc.parseJson(` { "s" : ${json} } `).equals(moc)).toBe(true);
  });

  it('keeps order-29 indices above 2^53 exact in ASCII and JSON', () => {
    const big = 12n * 4n ** 29n - 3n;
    const moc = Moc.fromCells([{ order: 29, index: big }]);
    expect(moc.toJson()).toBe(`{"29":[${big}]}`);
    expect(moc.toAscii()).toBe(`29/${big}`);
    expect(Moc.parseJson(moc.toJson()).cells()).toEqual([{ order: 29, index: big }]);
    expect(Moc.parseAscii(moc.toAscii()).cells()).toEqual([{ order: 29, index: big }]);
  });

  it('is well-formed: four siblings become their parent, duplicates and covered cells vanish (MOC-05)', () => {
    const moc = Moc.fromCells(
      [4n, 5n, 6n, 7n, 7n, 9n]
        .map((index) => ({ order: 3, index }))
        .concat([{ order: 5, index: 9n * 16n + 3n }]),
    );
    expect(moc.order).toBe(5);
    expect(moc.toAscii()).toBe('2/1 3/9 5/');
    expect(Moc.empty(6).toAscii()).toBe('6/');
    expect(Moc.empty(6).toJson()).toBe('{"6":[]}');
    expect(Moc.parseAscii('6/').equals(Moc.empty(6))).toBe(true);
    expect(Moc.fullSky(3).toAscii()).toBe('0/0-11 3/');
  });

  it('round-trips random MOCs through ASCII, JSON and NUNIQ', () => {
    for (let seed = 1; seed <= 30; seed++) {
      const moc = randomMoc(seed, [3, 10, 17, 29][seed % 4]!);
      expect(Moc.parseAscii(moc.toAscii()).equals(moc)).toBe(true);
      expect(Moc.parseJson(moc.toJson()).equals(moc)).toBe(true);
      expect(Moc.fromUniq(moc.uniq(), moc.order).equals(moc)).toBe(true);
    }
  });

  it('maps NUNIQ both ways (MOC-03)', () => {
    expect(cellToUniq(0, 0n)).toBe(4n);
    expect(cellToUniq(29, 12n * 4n ** 29n - 1n)).toBe(2n ** 62n - 1n);
    expect(uniqToCell(2n ** 62n - 1n)).toEqual({ order: 29, index: 12n * 4n ** 29n - 1n });
    expect(uniqToCell(16n + 5n)).toEqual({ order: 1, index: 5n });
    expect(() => uniqToCell(3n)).toThrow(SkyError);
    expect(() => uniqToCell(2n ** 62n)).toThrow(SkyError);
  });

  it('rejects malformed text with a SkyError that says where', () => {
    expect(() => Moc.parseAscii('3/1-')).toThrow(/character/);
    expect(() => Moc.parseAscii('1 3/2')).toThrow(/before any/);
    expect(() => Moc.parseAscii('3/768')).toThrow(/beyond/);
    expect(() => Moc.parseAscii('30/1')).toThrow(/beyond 29/);
    expect(() => Moc.parseAscii('3/5-2')).toThrow(/backwards/);
    expect(() => Moc.parseAscii('t61/1 s29/0-2')).toThrow(/time/);
    expect(() => Moc.parseAscii('')).toThrow(/no "order/);
    expect(() => Moc.parseAscii('3/1'.padEnd(100), { maxLength: 50 })).toThrow(/limit/);
    expect(() => Moc.parseJson('{"3":[1,2')).toThrow(/JSON at character/);
    expect(() => Moc.parseJson('{"3":[-1]}')).toThrow(SkyError);
    expect(() => Moc.parseJson('{"x":[1]}')).toThrow(SkyError);
    expect(() => Moc.parseJson('{"3":[1]} extra')).toThrow(/end of the text/);
    expect(() => Moc.parseJson('{"3":[768]}')).toThrow(/beyond/);
  });
});

describe('Moc geometry and set operations (MOC-07, MOC-08, HPX-09)', () => {
  it('builds a cone MOC that contains every point of the cone, with the right area', () => {
    const moc = Moc.fromCone(359.9, -89.5, 2, 10);
    expect(moc.order).toBe(10);
    for (const [lon, lat] of randomPoints(20000, 41)) {
      if (angularDistanceDeg(359.9, -89.5, lon, lat) <= 2) expect(moc.contains(lon, lat)).toBe(true);
    }
    const cap = 2 * Math.PI * (1 - Math.cos((2 * Math.PI) / 180));
    expect(moc.areaSteradians / cap).toBeGreaterThan(1);
    expect(moc.areaSteradians / cap).toBeLessThan(1.1);
  });

  it('builds polygon MOCs and knows the sky fraction of a base cell', () => {
    const moc = Moc.fromPolygon(
      [
        [10, 10],
        [20, 10],
        [20, 20],
        [10, 20],
      ],
      8,
    );
    expect(moc.contains(15, 15)).toBe(true);
    expect(moc.contains(25, 15)).toBe(false);
    expect(Moc.parseAscii('0/4').skyFraction).toBeCloseTo(1 / 12, 15);
    expect(Moc.fullSky().skyFraction).toBe(1);
    expect(Moc.fullSky().areaSquareDegrees).toBeCloseTo(41252.96125, 4);
  });

  it('computes union, intersection, difference and complement pointwise', () => {
    const pts = randomPoints(3000, 42);
    for (let seed = 1; seed <= 8; seed++) {
      const a = randomMoc(seed, 6);
      const b = randomMoc(seed + 100, 6);
      const u = a.union(b);
      const i = a.intersection(b);
      const d = a.difference(b);
      const c = a.complement();
      for (const [lon, lat] of pts) {
        const inA = a.contains(lon, lat);
        const inB = b.contains(lon, lat);
        expect(u.contains(lon, lat)).toBe(inA || inB);
        expect(i.contains(lon, lat)).toBe(inA && inB);
        expect(d.contains(lon, lat)).toBe(inA && !inB);
        expect(c.contains(lon, lat)).toBe(!inA);
      }
      expect(c.complement().equals(a)).toBe(true);
      expect(a.union(c).equals(Moc.fullSky(6))).toBe(true);
      expect(a.intersection(c).isEmpty).toBe(true);
      expect(u.skyFraction + i.skyFraction).toBeCloseTo(a.skyFraction + b.skyFraction, 12);
    }
  });

  it('combines MOCs of different orders at the coarser order (MOC-08)', () => {
    const fine = Moc.fromCells([{ order: 10, index: 5n }]);
    const coarse = Moc.fromCells([{ order: 3, index: 700n }]);
    const u = fine.union(coarse);
    expect(u.order).toBe(3);
    expect(u.toAscii()).toBe('3/0 700');
    expect(fine.degrade(3).toAscii()).toBe('3/0');
  });
});

describe('Moc FITS (MOC-10..14) read back by astropy.io.fits', () => {
  const SCRIPT = `
import json, sys
from astropy.io import fits
out = []
for path in sys.argv[1:]:
    with fits.open(path) as h:
        h.verify('exception')
        t = h[1]
        out.append({
            'primary': [h[0].header['SIMPLE'], h[0].header['NAXIS'], h[0].header['EXTEND']],
            'keys': {k: t.header.get(k) for k in ['MOCVERS', 'MOCDIM', 'ORDERING', 'COORDSYS', 'MOCORD_S', 'MOCORDER', 'TTYPE1', 'TFORM1', 'MOCID']},
            'values': [str(int(v)) for v in t.data.field(0)],
        })
print(json.dumps(out))
`;

  it('writes NUNIQ (1J and 1K) and RANGE packagings that astropy verifies and reads', () => {
    const dir = mkdtempSync(join(tmpdir(), 'vonode-moc-'));
    try {
      const small = Moc.parseAscii(EXAMPLE);
      const deep = Moc.fromCone(10, 20, 0.01, 18);
      const files: Array<[string, Buffer]> = [
        ['small.fits', small.toFits({ mocId: 'ivo://example.org/moc' })],
        ['deep.fits', deep.toFits()],
        ['range.fits', deep.toFits({ ordering: 'RANGE' })],
        ['empty.fits', Moc.empty(5).toFits()],
      ];
      for (const [name, buf] of files) {
        expect(buf.length % 2880).toBe(0);
        writeFileSync(join(dir, name), buf);
      }
      const r = spawnSync('/usr/bin/python3', ['-c', SCRIPT, ...files.map(([n]) => join(dir, n))], {
        encoding: 'utf8',
      });
      expect(r.stderr).toBe('');
      const [s, d, rg, e] = JSON.parse(r.stdout);
      expect(s.primary).toEqual([true, 0, true]);
      expect(s.keys).toEqual({
        MOCVERS: '2.0',
        MOCDIM: 'SPACE',
        ORDERING: 'NUNIQ',
        COORDSYS: 'C',
        MOCORD_S: 8,
        MOCORDER: 8,
        TTYPE1: 'UNIQ',
        TFORM1: '1J',
        MOCID: 'ivo://example.org/moc',
      });
      expect(s.values).toEqual(small.uniq().map(String));
      expect(d.keys.TFORM1).toBe('1K');
      expect(d.keys.MOCORD_S).toBe(18);
      expect(Moc.fromUniq(d.values.map(BigInt), 18).equals(deep)).toBe(true);
      expect(rg.keys).toMatchObject({ ORDERING: 'RANGE', TTYPE1: 'RANGE', TFORM1: '1K' });
      const pairs = [];
      for (let i = 0; i < rg.values.length; i += 2)
        pairs.push([BigInt(rg.values[i]), BigInt(rg.values[i + 1])]);
      expect(pairs).toEqual(deep.ranges.map((x) => [...x]));
      expect(e.values).toEqual([]);
      // And our own reader takes all of them back.
      expect(Moc.parseFits(files[0]![1]).equals(small)).toBe(true);
      expect(Moc.parseFits(files[1]![1]).equals(deep)).toBe(true);
      expect(Moc.parseFits(files[2]![1]).equals(deep)).toBe(true);
      expect(Moc.parseFits(files[3]![1]).equals(Moc.empty(5))).toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('Moc FITS reading', () => {
  it('reads a MOC 1.1 NUNIQ file written by astropy (PIXTYPE/MOCORDER, no MOCVERS)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'vonode-moc11-'));
    try {
      const path = join(dir, 'moc11.fits');
      const script = `
import sys, numpy as np
from astropy.io import fits
col = fits.Column(name='UNIQ', format='1K', array=np.array([4 * 4**3 + 17, 4 * 4**5 + 1000, 4 + 11], dtype=np.int64))
t = fits.BinTableHDU.from_columns([col])
t.header['PIXTYPE'] = 'HEALPIX'; t.header['ORDERING'] = 'NUNIQ'; t.header['COORDSYS'] = 'C'; t.header['MOCORDER'] = 5
fits.HDUList([fits.PrimaryHDU(), t]).writeto(sys.argv[1])
`;
      const r = spawnSync('/usr/bin/python3', ['-c', script, path], { encoding: 'utf8' });
      expect(r.stderr).toBe('');
      const moc = Moc.parseFits(readFileSync(path));
      expect(moc.order).toBe(5);
      expect(moc.toAscii()).toBe('0/11 3/17 5/1000');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('rejects other files with a SkyError', () => {
    expect(() => Moc.parseFits(Buffer.from('hello'))).toThrow(SkyError);
    const fits = Moc.parseAscii('3/1-5').toFits();
    expect(() => Moc.parseFits(fits.subarray(0, 2880 * 2 - 1))).toThrow(/not a readable MOC FITS/);
    const time = Buffer.from(fits);
    time.write("MOCDIM  = 'TIME'    ", 2880 + 80 * 11, 'latin1');
    expect(() => Moc.parseFits(time)).toThrow(/MOCDIM TIME/);
  });
});

describe('Moc limits', () => {
  it('refuses a coverage that would need millions of cells instead of running away', () => {
    expect(() => Moc.fromCone(10, 20, 30, 29)).toThrow(/cell tests/);
    expect(() =>
      Moc.fromPolygon(
        [
          [0, 0],
          [40, 0],
          [40, 40],
        ],
        29,
      ),
    ).toThrow(/cell tests/);
  });
});
