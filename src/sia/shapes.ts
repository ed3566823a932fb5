import type { SkyRegion } from '../../sky/wcs/index.js';

/**
 * A parameter value that cannot be used. The message says what was wrong and how to fix it;
 * each protocol adds its own label (SIA/DataLink `UsageFault`, SODA `UsageError`).
 */
export class ParamError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ParamError';
  }
}

/** Most polygon vertices accepted in POS/POLYGON (protects the exact SQL test). */
export const MAX_VERTICES = 1000;

/** A DALI number: a float, or ±Inf / Inf (SIA-14), never NaN unless allowed. */
function number(text: string, what: string, allowInfinite: boolean): number {
  const t = text.trim();
  let v: number;
  if (/^[+]?inf(inity)?$/i.test(t)) v = Number.POSITIVE_INFINITY;
  else if (/^-inf(inity)?$/i.test(t)) v = Number.NEGATIVE_INFINITY;
  else if (/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(t)) v = Number(t);
  else throw new ParamError(`${what}: '${text}' is not a number`);
  if (!allowInfinite && !Number.isFinite(v)) throw new ParamError(`${what}: '${text}' must be finite`);
  return v;
}

function words(text: string): string[] {
  return text
    .trim()
    .split(/\s+/)
    .filter((w) => w !== '');
}

/**
 * A DALI interval `lo hi` or a scalar `v` (the degenerate [v,v], SIA-13, SODA-19); inclusive
 * bounds, open ends as -Inf/+Inf.
 */
export function parseInterval(text: string, name: string): [number, number] {
  const w = words(text);
  if (w.length !== 1 && w.length !== 2) {
    throw new ParamError(`${name}='${text}' must be one number or two numbers 'lo hi' separated by a space`);
  }
  const lo = number(w[0], name, true);
  const hi = w.length === 2 ? number(w[1], name, true) : lo;
  if (w.length === 1 && !Number.isFinite(lo)) throw new ParamError(`${name}: a single value must be finite`);
  if (lo > hi) throw new ParamError(`${name}='${text}': the lower bound ${lo} exceeds the upper bound ${hi}`);
  return [lo, hi];
}

function checkLon(v: number, what: string): void {
  if (!(v >= 0 && v <= 360)) throw new ParamError(`${what}: longitude ${v} is outside [0, 360] deg`);
}

function checkLat(v: number, what: string): void {
  if (!(v >= -90 && v <= 90)) throw new ParamError(`${what}: latitude ${v} is outside [-90, 90] deg`);
}

/** DALI circle `lon lat r` in deg (SODA CIRCLE, SIA-43, SODA-54). */
export function parseCircle(text: string, what = 'CIRCLE'): SkyRegion {
  const w = words(text);
  if (w.length !== 3) throw new ParamError(`${what}='${text}' must be three numbers: lon lat radius (deg)`);
  const [ra, dec, radius] = w.map((x) => number(x, what, false));
  checkLon(ra, what);
  checkLat(dec, what);
  if (!(radius > 0 && radius <= 180))
    throw new ParamError(`${what}: radius ${radius} must be in (0, 180] deg`);
  return { type: 'circle', ra: ra === 360 ? 0 : ra, dec, radius };
}

/** DALI polygon `lon1 lat1 lon2 lat2 ...` in deg, at least 3 distinct vertices (SIA-42, SODA-54). */
export function parsePolygon(text: string, what = 'POLYGON'): SkyRegion {
  const w = words(text);
  if (w.length < 6 || w.length % 2 !== 0) {
    throw new ParamError(
      `${what}='${text}' must be an even count (≥ 6) of numbers: lon1 lat1 lon2 lat2 lon3 lat3 ...`,
    );
  }
  if (w.length / 2 > MAX_VERTICES)
    throw new ParamError(`${what}: at most ${MAX_VERTICES} vertices are accepted`);
  const v = w.map((x) => number(x, what, false));
  const vertices: [number, number][] = [];
  for (let i = 0; i < v.length; i += 2) {
    checkLon(v[i], what);
    checkLat(v[i + 1], what);
    const prev = vertices[vertices.length - 1];
    if (prev && prev[0] === v[i] && prev[1] === v[i + 1]) continue;
    vertices.push([v[i], v[i + 1]]);
  }
  const first = vertices[0];
  const last = vertices[vertices.length - 1];
  if (vertices.length > 1 && first[0] === last[0] && first[1] === last[1]) vertices.pop();
  if (vertices.length < 3) throw new ParamError(`${what}: a polygon needs at least 3 distinct vertices`);
  return { type: 'polygon', vertices };
}

/**
 * DALI range `lon1 lon2 lat1 lat2` (SIA-41): ±Inf open ends, lon1 > lon2 crosses RA = 0.
 * Infinite longitudes mean the whole circle, infinite latitudes the poles.
 */
export function parseRange(text: string, what = 'RANGE'): SkyRegion {
  const w = words(text);
  if (w.length !== 4)
    throw new ParamError(`${what}='${text}' must be four numbers: lon1 lon2 lat1 lat2 (deg)`);
  let [raMin, raMax, decMin, decMax] = w.map((x) => number(x, what, true));
  if (raMin === Number.NEGATIVE_INFINITY || raMax === Number.POSITIVE_INFINITY) {
    if (Number.isFinite(raMin) || Number.isFinite(raMax)) {
      if (raMin === Number.NEGATIVE_INFINITY) raMin = 0;
      if (raMax === Number.POSITIVE_INFINITY) raMax = 360;
    } else {
      raMin = 0;
      raMax = 360;
    }
  }
  if (decMin === Number.NEGATIVE_INFINITY) decMin = -90;
  if (decMax === Number.POSITIVE_INFINITY) decMax = 90;
  checkLon(raMin, what);
  checkLon(raMax, what);
  checkLat(decMin, what);
  checkLat(decMax, what);
  if (decMin > decMax) throw new ParamError(`${what}: latitude ${decMin} exceeds ${decMax}`);
  return { type: 'range', raMin, raMax, decMin, decMax };
}

/** SIA/SODA POS: `CIRCLE ...`, `RANGE ...` or `POLYGON ...` (SIA-40, SODA-11). */
export function parsePos(text: string): SkyRegion {
  const m = /^\s*([A-Za-z]+)\s+(.*)$/s.exec(text);
  if (!m) throw new ParamError(`POS='${text}' must start with CIRCLE, RANGE or POLYGON followed by numbers`);
  const kind = m[1].toUpperCase();
  if (kind === 'CIRCLE') return parseCircle(m[2], 'POS CIRCLE');
  if (kind === 'POLYGON') return parsePolygon(m[2], 'POS POLYGON');
  if (kind === 'RANGE') return parseRange(m[2], 'POS RANGE');
  throw new ParamError(`POS shape '${m[1]}' is not known; use CIRCLE, RANGE or POLYGON`);
}

/** Width in longitude of a range, 0..360. */
export function rangeWidth(r: { raMin: number; raMax: number }): number {
  if (r.raMax - r.raMin >= 360) return 360;
  let w = r.raMax - r.raMin;
  if (w < 0) w += 360;
  return w;
}

/** Whether a region is the whole sky (no spatial constraint at all). */
export function isWholeSky(region: SkyRegion): boolean {
  if (region.type === 'circle') return region.radius >= 180;
  if (region.type === 'range')
    return rangeWidth(region) >= 360 && region.decMin <= -90 && region.decMax >= 90;
  return false;
}

const EDGE_STEP_DEG = 0.5;
const POLE_GAP_DEG = 1e-4;

/**
 * A range as great-circle polygons that follow its lines of latitude closely (vertices every
 * 0.5 deg in longitude: an edge strays from the parallel by at most 1 arcsec, at latitude
 * 45), each under 90 deg wide so each stays far below a hemisphere (SIA-42).
 */
export function rangePolygons(r: {
  raMin: number;
  raMax: number;
  decMin: number;
  decMax: number;
}): [number, number][][] {
  const width = rangeWidth(r);
  const pieces = Math.max(1, Math.ceil(width / 90));
  const out: [number, number][][] = [];
  const norm = (lon: number) => ((lon % 360) + 360) % 360;
  // A vertex at a pole would make a degenerate edge; 0.36 arcsec short of it changes nothing.
  const lo = Math.max(r.decMin, -90 + POLE_GAP_DEG);
  const hi = Math.min(r.decMax, 90 - POLE_GAP_DEG);
  for (let p = 0; p < pieces; p++) {
    const a = r.raMin + (width * p) / pieces;
    const b = r.raMin + (width * (p + 1)) / pieces;
    const steps = Math.max(1, Math.ceil((b - a) / EDGE_STEP_DEG));
    const ring: [number, number][] = [];
    for (let k = 0; k <= steps; k++) ring.push([norm(a + ((b - a) * k) / steps), lo]);
    for (let k = steps; k >= 0; k--) ring.push([norm(a + ((b - a) * k) / steps), hi]);
    out.push(ring);
  }
  return out;
}
