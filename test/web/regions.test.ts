import { describe, expect, it } from 'vitest';
import { contains, parseRegion } from '../../web/common/regions.js';

/**
 * The sky view's reading of ObsCore s_region and its click test, without a browser: both
 * forms the node gives (STC-S from TAP, OBS-62; DALI polygon from SIA2), and footprints that
 * cross RA 0 or lie at high Dec, where a flat RA/Dec test would be wrong.
 */

/** A square footprint of half-side h degrees around (ra, dec), as a DALI polygon. */
function square(ra: number, dec: number, h: number): string {
  const c = Math.cos((dec * Math.PI) / 180);
  return [
    [ra - h / c, dec - h],
    [ra + h / c, dec - h],
    [ra + h / c, dec + h],
    [ra - h / c, dec + h],
  ]
    .map(([a, d]) => `${(a! + 360) % 360} ${d}`)
    .join(' ');
}

describe('s_region in the pages', () => {
  it('reads STC-S and DALI polygons and circles', () => {
    expect(parseRegion('Polygon ICRS 10 20 11 20 11 21')).toEqual({
      kind: 'polygon',
      vertices: [
        [10, 20],
        [11, 20],
        [11, 21],
      ],
    });
    expect(parseRegion('10 20 11 20 11 21', 'polygon')?.kind).toBe('polygon');
    expect(parseRegion('Circle ICRS 10 20 0.5')).toEqual({ kind: 'circle', ra: 10, dec: 20, radius: 0.5 });
    expect(parseRegion('12.5 -3 2', 'circle')).toEqual({ kind: 'circle', ra: 12.5, dec: -3, radius: 2 });
    expect(parseRegion(null)).toBeUndefined();
    expect(parseRegion('Polygon ICRS 10 20')).toBeUndefined();
  });

  it('finds a point inside a footprint across RA 0 and at high Dec, and not outside', () => {
    for (const [ra, dec, h] of [
      [359.5, -27, 2.4],
      [0.2, 10, 1],
      [120, 80, 0.3],
      [200, -45, 0.1],
    ] as const) {
      const r = parseRegion(square(ra, dec, h), 'polygon')!;
      expect(contains(r, ra, dec)).toBe(true);
      // Just inside and just outside each edge along Dec, and east of the square.
      expect(contains(r, ra, dec + 0.9 * h)).toBe(true);
      expect(contains(r, ra, dec + 1.1 * h)).toBe(false);
      expect(contains(r, ra, dec - 1.1 * h)).toBe(false);
      expect(contains(r, (ra + (3 * h) / Math.cos((dec * Math.PI) / 180)) % 360, dec)).toBe(false);
      // The antipode is never inside.
      expect(contains(r, (ra + 180) % 360, -dec)).toBe(false);
    }
    const circle = parseRegion('Circle ICRS 359.9 0 0.5')!;
    expect(contains(circle, 0.3, 0)).toBe(true);
    expect(contains(circle, 0.5, 0)).toBe(false);
  });
});
