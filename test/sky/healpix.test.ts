import { describe, expect, it } from 'vitest';
import { maxPixelRadius, npix } from '../../sky/healpix.js';
import {
  angularDistanceDeg,
  HEALPIX_INDEX_ORDER,
  nestedIndex,
  nestedIndexWords,
  nestedToLonLat,
  SkyError,
} from '../../sky/index.js';
import { type AstropyQuery, astropy } from './astropy.js';
import { randomPoints, rng, specialPoints } from './points.js';

const ORDERS = Array.from({ length: 30 }, (_, k) => k);

function randomIndex(order: number, r: () => number): bigint {
  // 12·4^order cells; assemble from two 30-bit draws to reach order 29.
  const hi = BigInt(Math.floor(r() * 2 ** 30));
  const lo = BigInt(Math.floor(r() * 2 ** 30));
  return ((hi << 30n) | lo) % npix(order);
}

describe('HEALPix NESTED index (HPX-01..06) against astropy_healpix', () => {
  it('has the stored column order 29 (HPX-01)', () => {
    expect(HEALPIX_INDEX_ORDER).toBe(29);
  });

  it('matches lonlat_to_healpix on 3000 random points at every order 0..29 (HPX-05)', () => {
    const pts = randomPoints(3000, 1);
    const lon = pts.map((p) => p[0]);
    const lat = pts.map((p) => p[1]);
    const ref = astropy(ORDERS.map((order) => ({ op: 'index', order, lon, lat }))) as string[][];
    for (const order of ORDERS) {
      const mine = pts.map(([a, b]) => nestedIndex(order, a, b).toString());
      expect(mine, `order ${order}`).toEqual(ref[order]);
    }
  });

  it('puts poles, RA 0/360, the polar-cap edge and face edges in a cell that touches the point', () => {
    // Exactly on a cell edge the two libraries may pick different sides; the answer is
    // right when it is astropy's cell for the point or for a point 1e-10° away.
    const eps = 1e-10;
    const nudges = [
      [0, 0],
      [eps, 0],
      [-eps, 0],
      [0, eps],
      [0, -eps],
      [eps, eps],
      [eps, -eps],
      [-eps, eps],
      [-eps, -eps],
    ];
    const base = specialPoints();
    const lon: number[] = [];
    const lat: number[] = [];
    for (const [a, b] of base) {
      for (const [dx, dy] of nudges) {
        lon.push(a + dx!);
        lat.push(Math.max(-90, Math.min(90, b + dy!)));
      }
    }
    const ref = astropy(ORDERS.map((order) => ({ op: 'index', order, lon, lat }))) as string[][];
    let exact = 0;
    for (const order of ORDERS) {
      base.forEach(([a, b], i) => {
        const mine = nestedIndex(order, a, b).toString();
        const candidates = ref[order]!.slice(i * nudges.length, (i + 1) * nudges.length);
        expect(candidates, `order ${order} lon ${a} lat ${b}`).toContain(mine);
        if (candidates[0] === mine) exact++;
      });
    }
    // Most special points are not on an edge at all: they must agree outright.
    expect(exact).toBeGreaterThan(0.8 * ORDERS.length * base.length);
  });

  it('matches healpix_to_lonlat cell centres at every order (HPX-06)', () => {
    const r = rng(2);
    const queries: AstropyQuery[] = [];
    const ipix: bigint[][] = [];
    for (const order of ORDERS) {
      const list = Array.from({ length: 500 }, () => randomIndex(order, r));
      list.push(0n, npix(order) - 1n, npix(order) / 2n);
      ipix.push(list);
      queries.push({ op: 'centre', order, ipix: list.map(String) });
    }
    const ref = astropy(queries) as Array<Array<[number, number]>>;
    for (const order of ORDERS) {
      ipix[order]!.forEach((i, n) => {
        const c = nestedToLonLat(order, i);
        const [lon, lat] = ref[order]![n]!;
        expect(angularDistanceDeg(c.lon, c.lat, lon, lat), `order ${order} ipix ${i}`).toBeLessThan(1e-10);
        expect(Math.abs(c.lat - lat)).toBeLessThan(1e-10);
      });
    }
  });

  it('round-trips centre → index and keeps every point within max_pixrad of its cell centre', () => {
    const r = rng(3);
    const pts = randomPoints(2000, 4).concat(specialPoints());
    for (const order of ORDERS) {
      for (let n = 0; n < 300; n++) {
        const i = randomIndex(order, r);
        const c = nestedToLonLat(order, i);
        expect(nestedIndex(order, c.lon, c.lat)).toBe(i);
      }
      const radiusDeg = (maxPixelRadius(order) * 180) / Math.PI;
      for (const [a, b] of pts) {
        const c = nestedToLonLat(order, nestedIndex(order, a, b));
        expect(angularDistanceDeg(a, b, c.lon, c.lat)).toBeLessThanOrEqual(radiusDeg * (1 + 1e-9));
      }
    }
  });

  it('gives the same index as two 32-bit words at every order, special points included (HPX-05)', () => {
    const words = new Uint32Array(2);
    for (const [lon, lat] of [...randomPoints(500, 7), ...specialPoints()])
      for (const order of ORDERS) {
        nestedIndexWords(order, lon, lat, words);
        expect((BigInt(words[0]) << 32n) | BigInt(words[1])).toBe(nestedIndex(order, lon, lat));
      }
  });

  it('keeps the hierarchy: the order-k index is the order-29 index shifted (HPX-04)', () => {
    for (const [a, b] of randomPoints(500, 5)) {
      const deep = nestedIndex(29, a, b);
      for (const order of [0, 7, 14, 20, 25, 28]) {
        expect(nestedIndex(order, a, b)).toBe(deep >> BigInt(2 * (29 - order)));
      }
    }
  });

  it('rejects bad orders, latitudes and non-finite input with a SkyError', () => {
    expect(() => nestedIndex(30, 0, 0)).toThrow(SkyError);
    expect(() => nestedIndex(-1, 0, 0)).toThrow(SkyError);
    expect(() => nestedIndex(2.5, 0, 0)).toThrow(SkyError);
    expect(() => nestedIndex(5, 0, 90.0001)).toThrow(/latitude/);
    expect(() => nestedIndex(5, Number.NaN, 0)).toThrow(/longitude/);
    expect(() => nestedIndex(5, 0, Number.NaN)).toThrow(/latitude/);
    expect(() => nestedToLonLat(3, 768n)).toThrow(SkyError);
    expect(() => nestedToLonLat(3, -1n)).toThrow(SkyError);
  });
});

describe('angularDistanceDeg (ADQL-36)', () => {
  it('is exact for tiny and antipodal separations', () => {
    expect(angularDistanceDeg(10, 20, 10, 20)).toBe(0);
    const tiny = 1e-10; // degrees
    const lat2 = 20 + tiny;
    expect(angularDistanceDeg(10, 20, 10, lat2) / (lat2 - 20)).toBeCloseTo(1, 9);
    const lon2 = 10 + tiny;
    expect(angularDistanceDeg(10, 0, lon2, 0) / (lon2 - 10)).toBeCloseTo(1, 9);
    expect(angularDistanceDeg(0, 0, 180, 0)).toBeCloseTo(180, 12);
    // Within one double ulp of 180 − tiny (acos of a dot product would be ~1e-6° off).
    expect(Math.abs(angularDistanceDeg(0, 0, 180, tiny) - (180 - tiny))).toBeLessThanOrEqual(2.9e-14);
    expect(Math.abs(angularDistanceDeg(10, 30, 190, -30 + tiny) - (180 - tiny))).toBeLessThanOrEqual(2.9e-14);
    expect(angularDistanceDeg(0, 90, 123, 90)).toBeCloseTo(0, 12);
    expect(angularDistanceDeg(0, 90, 0, -90)).toBeCloseTo(180, 12);
    expect(angularDistanceDeg(359.9999, 0, 0.0001, 0)).toBeCloseTo(0.0002, 12);
  });
});
