import { SkyError } from './errors.js';
import { chord2, chord2Of, SphericalPolygon, toVector } from './geometry.js';
import {
  centreVector,
  checkLonLat,
  checkOrder,
  MAX_ORDER,
  maxPixelRadius,
  xyfToNested,
  xyfToNestedNumber,
} from './healpix.js';
import { appendRange, limitRanges, type PixelRange, SKY_END } from './ranges.js';

export interface CoverageOptions {
  /** Most ranges returned (default 64); smallest gaps are filled to stay under it. */
  maxRanges?: number;
  /** Deepest HEALPix order used for the cells at the shape's edge (default 29). */
  maxOrder?: number;
}

export const DEFAULT_MAX_RANGES = 64;
/**
 * Edge cells aimed for at the adaptive order, per allowed range, before the smallest gaps
 * are filled. Measured on cones of 1″..30° with 64 ranges (covered / true area):
 * 2 → 1.12–1.17, 4 → 1.08–1.10, 8 → 1.06–1.07 (about 1 ms), 16 → 1.05–1.06 (2 ms).
 */
const EDGE_CELLS_PER_RANGE = 8;
/** Cap on cells classified per call, so a pathological input cannot run away. */
export const MAX_CELLS_VISITED = 2_000_000;
/** Cap on cell-against-edge tests per polygon call (cells visited × edges), about 1–2 s. */
export const MAX_EDGE_TESTS = 200_000_000;

/**
 * Conservative cell radius per order: HEALPix max_pixrad plus 5% and a floor far above
 * double rounding, because a point sitting on a cell edge may be indexed into either
 * neighbour (here or in SQL) and must still be covered.
 */
const CELL_RADIUS: number[] = [];
for (let k = 0; k <= MAX_ORDER; k++) CELL_RADIUS.push(maxPixelRadius(k) * 1.05 + 1e-13);
/** Mean cell side at order 0 in radians: √(4π/12). */
const CELL_SIZE_0 = Math.sqrt(Math.PI / 3);

type Classify = (order: number, centre: Float64Array) => 0 | 1 | 2; // out, in, partial

function resolveOptions(opts: CoverageOptions | undefined): { maxRanges: number; maxOrder: number } {
  const maxRanges = opts?.maxRanges ?? DEFAULT_MAX_RANGES;
  if (!Number.isInteger(maxRanges) || maxRanges < 1) {
    throw new SkyError(`maxRanges ${maxRanges} is not a positive integer`, 'give maxRanges of 1 or more');
  }
  const maxOrder = opts?.maxOrder ?? MAX_ORDER;
  checkOrder(maxOrder);
  return { maxRanges, maxOrder };
}

/**
 * Adaptive order: the deepest order whose cells are small enough that about
 * EDGE_CELLS_PER_RANGE × maxRanges of them line the boundary (perimeter / cell size).
 */
export function adaptiveOrder(perimeterRad: number, maxRanges: number, maxOrder: number): number {
  if (!(perimeterRad > 0)) return maxOrder;
  const k = Math.floor(Math.log2((EDGE_CELLS_PER_RANGE * maxRanges * CELL_SIZE_0) / perimeterRad));
  return Math.max(0, Math.min(maxOrder, k));
}

/** Deepest order whose indices (and ranges of them) stay exact in doubles. */
const MAX_NUMBER_ORDER = 24;

/**
 * Recursive descent from the 12 base cells (HPX-09, inclusive mode) down to `depth`,
 * returning merged order-29 ranges; with `maxRanges` the smallest gaps are filled first.
 * Up to order 24 the ranges are kept as doubles in units of depth-order cells (exact
 * below 2^53) and become bigint only once merged: that is most of the speed.
 */
function descend(
  depth: number,
  classify: Classify,
  maxRanges = Number.POSITIVE_INFINITY,
  maxVisits = MAX_CELLS_VISITED,
): Array<[bigint, bigint]> {
  const numeric = depth <= MAX_NUMBER_ORDER;
  const los: number[] = [];
  const his: number[] = [];
  const big: Array<[bigint, bigint]> = [];
  const v = new Float64Array(3);
  let visited = 0;
  const emit = (k: number, face: number, ix: number, iy: number): void => {
    if (numeric) {
      const scale = 4 ** (depth - k);
      const lo = xyfToNestedNumber(k, face, ix, iy) * scale;
      const n = los.length;
      if (n > 0 && his[n - 1] === lo) his[n - 1] = lo + scale;
      else {
        los.push(lo);
        his.push(lo + scale);
      }
      return;
    }
    const idx = xyfToNested(k, face, ix, iy);
    const shift = BigInt(2 * (MAX_ORDER - k));
    appendRange(big, idx << shift, (idx + 1n) << shift);
  };
  const visit = (k: number, face: number, ix: number, iy: number): void => {
    if (++visited > maxVisits) {
      throw new SkyError(
        `covering the shape at order ${depth} needs more than ${maxVisits} HEALPix cell tests`,
        'use a lower order (maxOrder) or fewer ranges, or simplify the polygon',
      );
    }
    centreVector(2 ** k, face, ix, iy, v);
    const c = classify(k, v);
    if (c === 0) return;
    if (c === 1 || k === depth) {
      emit(k, face, ix, iy);
      return;
    }
    // NESTED child c has ix bit (c & 1) and iy bit (c >> 1): visiting 0..3 keeps output sorted.
    const x = 2 * ix;
    const y = 2 * iy;
    visit(k + 1, face, x, y);
    visit(k + 1, face, x + 1, y);
    visit(k + 1, face, x, y + 1);
    visit(k + 1, face, x + 1, y + 1);
  };
  for (let face = 0; face < 12; face++) visit(0, face, 0, 0);
  if (!numeric) return limitRanges(big, maxRanges);
  fillSmallestGaps(los, his, maxRanges);
  const shift = BigInt(2 * (MAX_ORDER - depth));
  const out: Array<[bigint, bigint]> = [];
  for (let i = 0; i < los.length; i++) out.push([BigInt(los[i]!) << shift, BigInt(his[i]!) << shift]);
  return out;
}

/** limitRanges on parallel double arrays, in place. */
function fillSmallestGaps(los: number[], his: number[], max: number): void {
  const n = los.length;
  if (n <= max) return;
  const order = Array.from({ length: n - 1 }, (_, i) => i + 1);
  order.sort((a, b) => los[b]! - his[b - 1]! - (los[a]! - his[a - 1]!) || a - b);
  const keep = new Uint8Array(n);
  for (let k = 0; k < max - 1; k++) keep[order[k]!] = 1;
  let w = 0;
  for (let i = 1; i < n; i++) {
    if (keep[i]) {
      w++;
      los[w] = los[i]!;
      his[w] = his[i]!;
    } else his[w] = his[i]!;
  }
  los.length = w + 1;
  his.length = w + 1;
}

/**
 * Order-29 NESTED ranges guaranteed to cover the cone (centre, radius in degrees): a
 * superset, as tight as `maxRanges` allows. radius ≥ 180 is the whole sky.
 */
export function coneCoverage(
  lonDeg: number,
  latDeg: number,
  radiusDeg: number,
  opts?: CoverageOptions,
): PixelRange[] {
  checkLonLat(lonDeg, latDeg);
  if (!(radiusDeg >= 0)) {
    throw new SkyError(`cone radius ${radiusDeg} is not a number >= 0`, 'give the radius in degrees');
  }
  const { maxRanges, maxOrder } = resolveOptions(opts);
  if (radiusDeg >= 180) return [[0n, SKY_END]];
  const r = (radiusDeg * Math.PI) / 180;
  const depth = adaptiveOrder(2 * Math.PI * Math.sin(r), maxRanges, maxOrder);
  return coneRanges(lonDeg, latDeg, radiusDeg, depth, maxRanges);
}

/**
 * Every cell of order `depth` that may touch the cone (inclusive mode, HPX-09), merged
 * into order-29 ranges, with no limit on their number. Inputs as for coneCoverage.
 */
export function coneRanges(
  lonDeg: number,
  latDeg: number,
  radiusDeg: number,
  depth: number,
  maxRanges = Number.POSITIVE_INFINITY,
): Array<[bigint, bigint]> {
  checkLonLat(lonDeg, latDeg);
  checkOrder(depth);
  if (!(radiusDeg >= 0)) {
    throw new SkyError(`cone radius ${radiusDeg} is not a number >= 0`, 'give the radius in degrees');
  }
  if (radiusDeg >= 180) return [[0n, SKY_END]];
  const r = (radiusDeg * Math.PI) / 180;
  const centre = toVector(lonDeg, latDeg);
  const outside: number[] = [];
  const inside: number[] = [];
  for (let k = 0; k <= MAX_ORDER; k++) {
    const R = CELL_RADIUS[k]!;
    outside.push(r + R >= Math.PI ? Number.POSITIVE_INFINITY : chord2Of(r + R));
    inside.push(r - R > 0 ? chord2Of(r - R) : -1);
  }
  return descend(
    depth,
    (k, c) => {
      const d2 = chord2(c, centre);
      if (d2 > outside[k]!) return 0;
      if (d2 <= inside[k]!) return 1;
      return 2;
    },
    maxRanges,
  );
}

/**
 * Order-29 NESTED ranges guaranteed to cover the polygon (vertices [lon, lat] in degrees,
 * great-circle edges, convex or not; the region is the smaller side, see SphericalPolygon).
 */
export function polygonCoverage(
  vertices: ReadonlyArray<readonly [number, number]>,
  opts?: CoverageOptions,
): PixelRange[] {
  const { maxRanges, maxOrder } = resolveOptions(opts);
  const poly = new SphericalPolygon(vertices);
  return polygonRanges(poly, adaptiveOrder(poly.perimeter, maxRanges, maxOrder), maxRanges);
}

/** Every cell of order `depth` that may touch the polygon, as merged order-29 ranges. */
export function polygonRanges(
  poly: SphericalPolygon,
  depth: number,
  maxRanges = Number.POSITIVE_INFINITY,
): Array<[bigint, bigint]> {
  checkOrder(depth);
  const sinR: number[] = [];
  const chordR: number[] = [];
  for (let k = 0; k <= MAX_ORDER; k++) {
    const R = CELL_RADIUS[k]!;
    sinR.push(R >= Math.PI / 2 ? 2 : Math.sin(R));
    chordR.push(chord2Of(R));
  }
  return descend(
    depth,
    (k, c) => {
      if (poly.nearBoundary(c, sinR[k]!, chordR[k]!)) return 2;
      return poly.containsVector(c) ? 1 : 0;
    },
    maxRanges,
    Math.min(MAX_CELLS_VISITED, Math.max(20_000, Math.floor(MAX_EDGE_TESTS / poly.vertices.length))),
  );
}
