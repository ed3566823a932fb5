import { angularDistanceDeg, SphericalPolygon } from '../index.js';
import { type Wcs, WcsError } from './wcs.js';

/** A sky region in ICRS degrees, as SODA POS/CIRCLE/POLYGON give them (DALI circle, polygon, range). */
export type SkyRegion =
  | { type: 'circle'; ra: number; dec: number; radius: number }
  | { type: 'polygon'; vertices: ReadonlyArray<readonly [number, number]> }
  | { type: 'range'; raMin: number; raMax: number; decMin: number; decMax: number };

/** An inclusive 1-based pixel interval. */
export interface PixelInterval {
  from: number;
  to: number;
}

const D2R = Math.PI / 180;

function slerp(a: readonly [number, number], b: readonly [number, number], t: number): [number, number] {
  const va = [
    Math.cos(a[1] * D2R) * Math.cos(a[0] * D2R),
    Math.cos(a[1] * D2R) * Math.sin(a[0] * D2R),
    Math.sin(a[1] * D2R),
  ];
  const vb = [
    Math.cos(b[1] * D2R) * Math.cos(b[0] * D2R),
    Math.cos(b[1] * D2R) * Math.sin(b[0] * D2R),
    Math.sin(b[1] * D2R),
  ];
  const v = va.map((x, i) => x * (1 - t) + vb[i] * t);
  const lon = Math.atan2(v[1], v[0]) / D2R;
  return [lon < 0 ? lon + 360 : lon, Math.atan2(v[2], Math.hypot(v[0], v[1])) / D2R];
}

/** Boundary points dense enough that the pixel-space extremes are found to ≪ 1 pixel for fields of a few degrees. */
function boundary(region: SkyRegion): [number, number][] {
  const pts: [number, number][] = [];
  if (region.type === 'circle') {
    const { ra, dec, radius } = region;
    const n = 720;
    const d = dec * D2R;
    const r = radius * D2R;
    for (let k = 0; k < n; k++) {
      const az = (2 * Math.PI * k) / n;
      const lat = Math.asin(Math.sin(d) * Math.cos(r) + Math.cos(d) * Math.sin(r) * Math.cos(az));
      const lon =
        ra * D2R +
        Math.atan2(Math.sin(az) * Math.sin(r) * Math.cos(d), Math.cos(r) - Math.sin(d) * Math.sin(lat));
      pts.push([lon / D2R, lat / D2R]);
    }
  } else if (region.type === 'polygon') {
    const v = region.vertices;
    for (let i = 0; i < v.length; i++) {
      const a = v[i];
      const b = v[(i + 1) % v.length];
      for (let k = 0; k < 64; k++) pts.push(slerp(a, b, k / 64));
    }
  } else {
    const { raMin, decMin, decMax } = region;
    let width = region.raMax - raMin;
    if (width < 0) width += 360;
    const n = 128;
    // One closed loop: bottom edge eastwards, east edge northwards, top edge westwards, west edge southwards.
    for (let k = 0; k < n; k++) pts.push([raMin + (width * k) / n, decMin]);
    for (let k = 0; k < n; k++) pts.push([raMin + width, decMin + ((decMax - decMin) * k) / n]);
    for (let k = 0; k < n; k++) pts.push([raMin + width - (width * k) / n, decMax]);
    for (let k = 0; k < n; k++) pts.push([raMin, decMax - ((decMax - decMin) * k) / n]);
  }
  return pts;
}

function contains(region: SkyRegion, ra: number, dec: number): boolean {
  if (region.type === 'circle') return angularDistanceDeg(region.ra, region.dec, ra, dec) <= region.radius;
  if (region.type === 'polygon') return new SphericalPolygon(region.vertices).contains(ra, dec);
  let d = ra - region.raMin;
  d -= 360 * Math.floor(d / 360);
  let width = region.raMax - region.raMin;
  if (width < 0) width += 360;
  return d <= width && dec >= region.decMin && dec <= region.decMax;
}

/** One Sutherland-Hodgman step: keeps the part of a closed ring where inside(p) ≥ 0. */
function clip(ring: [number, number][], inside: (p: [number, number]) => number): [number, number][] {
  const out: [number, number][] = [];
  for (let i = 0; i < ring.length; i++) {
    const a = ring[i];
    const b = ring[(i + 1) % ring.length];
    const da = inside(a);
    const db = inside(b);
    if (da >= 0) out.push(a);
    if (da >= 0 !== db >= 0) {
      const t = da / (da - db);
      out.push([a[0] + t * (b[0] - a[0]), a[1] + t * (b[1] - a[1])]);
    }
  }
  return out;
}

/**
 * The pixel box (1-based, inclusive, clipped to the array) on the celestial axes that covers the
 * part of `region` inside the image, per FITS-63: x0 = floor(xmin + 0.5), x1 = ceil(xmax − 0.5).
 * Null when they do not overlap. The region's boundary is traced densely in pixel space and clipped
 * to the array, so the box is that of the overlap to within a pixel (it may hold a pixel whose
 * centre is just outside the region). Regions reaching beyond the projection's limb fall back to
 * the whole image when they contain its centre.
 */
export function celestialPixelBox(
  wcs: Wcs,
  axisLengths: readonly number[],
  region: SkyRegion,
): { x: PixelInterval; y: PixelInterval } | null {
  const cel = wcs.celestial;
  if (!cel) throw new WcsError('this WCS has no celestial axes');
  const nx = axisLengths[cel.lng] ?? 1;
  const ny = axisLengths[cel.lat] ?? 1;
  let lost = false;
  let ring: [number, number][] = [];
  for (const [ra, dec] of boundary(region)) {
    const [x, y] = wcs.skyToPixel(ra, dec);
    if (!Number.isFinite(x) || !Number.isFinite(y)) lost = true;
    else ring.push([x, y]);
  }
  if (lost) {
    // Part of the boundary lies beyond the projection's limb, so the ring is broken: a region
    // holding the image centre is taken whole, otherwise the box of the visible boundary points.
    const ref = wcs.pixelToSky((nx + 1) / 2, (ny + 1) / 2);
    if (contains(region, ref[0], ref[1])) return { x: { from: 1, to: nx }, y: { from: 1, to: ny } };
  } else {
    // Clip the boundary ring to the array's outer pixel edges so the box is that of the overlap only.
    ring = clip(ring, (p) => p[0] - 0.5);
    ring = clip(ring, (p) => nx + 0.5 - p[0]);
    ring = clip(ring, (p) => p[1] - 0.5);
    ring = clip(ring, (p) => ny + 0.5 - p[1]);
  }
  let xmin = Number.POSITIVE_INFINITY;
  let xmax = Number.NEGATIVE_INFINITY;
  let ymin = Number.POSITIVE_INFINITY;
  let ymax = Number.NEGATIVE_INFINITY;
  for (const [x, y] of ring) {
    xmin = Math.min(xmin, x);
    xmax = Math.max(xmax, x);
    ymin = Math.min(ymin, y);
    ymax = Math.max(ymax, y);
  }
  if (xmin === Number.POSITIVE_INFINITY) return null;
  const x0 = Math.max(1, Math.floor(xmin + 0.5));
  const x1 = Math.min(nx, Math.ceil(xmax - 0.5));
  const y0 = Math.max(1, Math.floor(ymin + 0.5));
  const y1 = Math.min(ny, Math.ceil(ymax - 0.5));
  if (x1 < x0 || y1 < y0) return null;
  return { x: { from: x0, to: x1 }, y: { from: y0, to: y1 } };
}

/**
 * Channels (1-based, inclusive) of the spectral axis whose extent overlaps the vacuum-wavelength
 * interval [wlMin, wlMax] in metres (SODA BAND); null when none does. Throws WcsError when the
 * axis cannot be converted to wavelength (e.g. velocity without RESTFRQ, FITS-55).
 */
export function spectralPixelRange(
  wcs: Wcs,
  channels: number,
  wlMin: number,
  wlMax: number,
): PixelInterval | null {
  const spec = wcs.spectral;
  if (!spec) throw new WcsError('this WCS has no spectral axis');
  if (!(wlMin <= wlMax)) throw new WcsError(`BAND lower bound ${wlMin} exceeds upper bound ${wlMax}`);
  let from = 0;
  let to = 0;
  let prev = wcs.wavelengthM(wcs.spectralValue(0.5));
  if (prev === undefined)
    throw new WcsError(`a ${spec.type} axis without RESTFRQ/RESTWAV cannot be converted to wavelength`);
  for (let c = 1; c <= channels; c++) {
    const next = wcs.wavelengthM(wcs.spectralValue(c + 0.5)) as number;
    const lo = Math.min(prev, next);
    const hi = Math.max(prev, next);
    if (hi >= wlMin && lo <= wlMax) {
      if (from === 0) from = c;
      to = c;
    }
    prev = next;
  }
  return from === 0 ? null : { from, to };
}
