import { SkyError } from './errors.js';

/** The order of every stored HEALPix index column (HPX-01: the deepest order). */
export const HEALPIX_INDEX_ORDER = 29;
export const MAX_ORDER = 29;

const DEG = Math.PI / 180;
const SQRT6 = Math.sqrt(6);
const TWO_THIRDS = 2 / 3;
// HPX-03 face tables.
const JRLL = [2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4];
const JPLL = [1, 3, 5, 7, 0, 2, 4, 6, 1, 3, 5, 7];

/** Number of cells at `order`, as bigint (12·4^order, HPX-01). */
export function npix(order: number): bigint {
  return 12n << BigInt(2 * order);
}

export function checkOrder(order: number): void {
  if (!Number.isInteger(order) || order < 0 || order > MAX_ORDER) {
    throw new SkyError(`HEALPix order ${order} is not an integer in 0..29`, 'give an order between 0 and 29');
  }
}

export function checkLonLat(lon: number, lat: number): void {
  if (!Number.isFinite(lon)) {
    throw new SkyError(`longitude ${lon} is not a finite number`, 'give the longitude in degrees');
  }
  if (!(lat >= -90 && lat <= 90)) {
    throw new SkyError(
      `latitude ${lat} is outside -90..90`,
      'give the latitude in degrees between -90 and 90',
    );
  }
}

/** Spreads the low 16 bits of x to the even bits of a 32-bit result. */
function spread16(x: number): number {
  x = (x | (x << 8)) & 0x00ff00ff;
  x = (x | (x << 4)) & 0x0f0f0f0f;
  x = (x | (x << 2)) & 0x33333333;
  return (x | (x << 1)) & 0x55555555;
}

/** Gathers the even bits of a 32-bit value into the low 16 bits. */
function compact16(x: number): number {
  x &= 0x55555555;
  x = (x | (x >>> 1)) & 0x33333333;
  x = (x | (x >>> 2)) & 0x0f0f0f0f;
  x = (x | (x >>> 4)) & 0x00ff00ff;
  return (x | (x >>> 8)) & 0x0000ffff;
}

// Scratch output of locate(), so the hot path allocates nothing.
let outFace = 0;
let outIx = 0;
let outIy = 0;

/**
 * HPX-05 ang2pix (nested), up to the (face, ix, iy) triple. Every floating-point step is
 * written in the order sql/020_healpix.sql uses, so both give identical cells.
 */
function locate(nside: number, lonDeg: number, latDeg: number): void {
  let w = lonDeg;
  if (!(w >= 0 && w < 360)) {
    w = w - 360 * Math.floor(w / 360);
    if (w >= 360 || w < 0) w = 0;
  }
  const tt = w / 90;
  const z = Math.sin(latDeg * DEG);
  if (Math.abs(z) <= TWO_THIRDS) {
    const t1 = nside * (0.5 + tt);
    const t2 = nside * 0.75 * z;
    const jp = Math.floor(t1 - t2);
    const jm = Math.floor(t1 + t2);
    const ifp = Math.floor(jp / nside);
    const ifm = Math.floor(jm / nside);
    outFace = ifp === ifm ? (ifp === 4 ? 4 : ifp + 4) : ifp < ifm ? ifp : ifm + 8;
    outIx = jm - nside * ifm; // jm mod nside, jm >= 0
    outIy = nside - (jp - nside * ifp) - 1;
  } else {
    let ntt = Math.floor(tt);
    if (ntt > 3) ntt = 3;
    const tp = tt - ntt;
    // sqrt(3(1-|z|)) = sqrt(6)·sin(colat/2): no cancellation near the poles (HPX-05).
    const tmp = nside * (SQRT6 * Math.sin(((90 - Math.abs(latDeg)) * DEG) / 2));
    let jp = Math.floor(tp * tmp);
    let jm = Math.floor((1 - tp) * tmp);
    if (jp > nside - 1) jp = nside - 1;
    if (jm > nside - 1) jm = nside - 1;
    if (z >= 0) {
      outFace = ntt;
      outIx = nside - jm - 1;
      outIy = nside - jp - 1;
    } else {
      outFace = ntt + 8;
      outIx = jp;
      outIy = jm;
    }
  }
}

/** NESTED index of (face, ix, iy) as a double: exact only for order <= 24 (below 2^53). */
export function xyfToNestedNumber(order: number, face: number, ix: number, iy: number): number {
  if (order <= 15) return face * 2 ** (2 * order) + ((spread16(ix) | (spread16(iy) << 1)) >>> 0);
  const lo = (spread16(ix & 0xffff) | (spread16(iy & 0xffff) << 1)) >>> 0;
  const hi = (spread16(ix >>> 16) | (spread16(iy >>> 16) << 1)) >>> 0;
  return face * 2 ** (2 * order) + hi * 4294967296 + lo;
}

/** NESTED index (HPX-03) of (face, ix, iy) at `order`, exact for every order up to 29. */
export function xyfToNested(order: number, face: number, ix: number, iy: number): bigint {
  if (order <= 15) {
    // ix, iy < 2^15: one 32-bit interleave, total < 12·2^30.
    return BigInt(face * 2 ** (2 * order) + ((spread16(ix) | (spread16(iy) << 1)) >>> 0));
  }
  const lo = (spread16(ix & 0xffff) | (spread16(iy & 0xffff) << 1)) >>> 0;
  const hi = (spread16(ix >>> 16) | (spread16(iy >>> 16) << 1)) >>> 0;
  if (order <= 24) {
    // Below 2^53: plain doubles are exact, one BigInt conversion.
    return BigInt(face * 2 ** (2 * order) + hi * 4294967296 + lo);
  }
  return (BigInt(face * 2 ** (2 * order - 32) + hi) << 32n) | BigInt(lo);
}

/**
 * HEALPix NESTED index at `order` of the cell containing (lon, lat) in degrees.
 * Longitude wraps (any finite value); latitude must lie in [-90, 90].
 */
export function nestedIndex(order: number, lonDeg: number, latDeg: number): bigint {
  checkOrder(order);
  checkLonLat(lonDeg, latDeg);
  locate(2 ** order, lonDeg, latDeg);
  return xyfToNested(order, outFace, outIx, outIy);
}

/**
 * nestedIndex as its two 32-bit words, high then low, into `out`: no BigInt is made, for
 * loaders that write millions of indexes (src/publish writes them as COPY binary int8).
 */
export function nestedIndexWords(order: number, lonDeg: number, latDeg: number, out: Uint32Array): void {
  checkOrder(order);
  checkLonLat(lonDeg, latDeg);
  locate(2 ** order, lonDeg, latDeg);
  if (order <= 15) {
    const v = face2Nested(order) * outFace + ((spread16(outIx) | (spread16(outIy) << 1)) >>> 0);
    out[0] = Math.floor(v / 4294967296);
    out[1] = v >>> 0;
    return;
  }
  const lo = (spread16(outIx & 0xffff) | (spread16(outIy & 0xffff) << 1)) >>> 0;
  const hi = (spread16(outIx >>> 16) | (spread16(outIy >>> 16) << 1)) >>> 0;
  out[0] = outFace * 2 ** (2 * order - 32) + hi;
  out[1] = lo;
}

const face2Nested = (order: number) => 2 ** (2 * order);

/** Splits a NESTED index into face, ix, iy (HPX-03 inverse). */
export function nestedToXyf(order: number, ipix: bigint): { face: number; ix: number; iy: number } {
  checkOrder(order);
  if (typeof ipix !== 'bigint' || ipix < 0n || ipix >= npix(order)) {
    throw new SkyError(
      `HEALPix index ${String(ipix)} is outside 0..12·4^${order}-1`,
      'give a NESTED index valid at that order',
    );
  }
  const shift = BigInt(2 * order);
  const face = Number(ipix >> shift);
  const sub = ipix & ((1n << shift) - 1n);
  const lo = Number(sub & 0xffffffffn);
  const hi = Number(sub >> 32n);
  const ix = compact16(lo) + compact16(hi) * 65536;
  const iy = compact16(lo >>> 1) + compact16(hi >>> 1) * 65536;
  return { face, ix, iy };
}

/** Centre of (face, ix, iy) at nside as colatitude parts and longitude (HPX-06). */
function centre(
  nside: number,
  face: number,
  ix: number,
  iy: number,
): { t: number; z: number; lonDeg: number } {
  const jr = JRLL[face]! * nside - ix - iy - 1;
  let nr: number;
  let kshift: number;
  // t = 1 - |z| computed without cancellation.
  let t: number;
  let z: number;
  if (jr < nside) {
    nr = jr;
    const f = nr / nside;
    t = (f * f) / 3;
    z = 1 - t;
    kshift = 0;
  } else if (jr > 3 * nside) {
    nr = 4 * nside - jr;
    const f = nr / nside;
    t = (f * f) / 3;
    z = t - 1;
    kshift = 0;
  } else {
    nr = nside;
    z = (2 * (2 * nside - jr)) / (3 * nside);
    t = 1 - Math.abs(z);
    kshift = (jr - nside) & 1;
  }
  let jp = Math.floor((JPLL[face]! * nr + ix - iy + 1 + kshift) / 2);
  if (jp > 4 * nr) jp -= 4 * nr;
  if (jp < 1) jp += 4 * nr;
  const lonDeg = ((jp - (kshift + 1) * 0.5) * 90) / nr;
  return { t, z, lonDeg };
}

/** Centre (degrees) of NESTED cell `ipix` at `order` (HPX-06). */
export function nestedToLonLat(order: number, ipix: bigint): { lon: number; lat: number } {
  const { face, ix, iy } = nestedToXyf(order, ipix);
  const c = centre(2 ** order, face, ix, iy);
  // lat from the colatitude of the nearer pole: 1 - cos θ = t ⇒ θ = 2·asin(sqrt(t/2)).
  const polar = 2 * Math.asin(Math.sqrt(c.t / 2)) * (180 / Math.PI);
  const lat = Math.abs(c.z) > 0.5 ? Math.sign(c.z) * (90 - polar) : Math.asin(c.z) * (180 / Math.PI);
  return { lon: c.lonDeg, lat };
}

/** Unit vector of the centre of (face, ix, iy) at nside, written into `out`. */
export function centreVector(nside: number, face: number, ix: number, iy: number, out: Float64Array): void {
  const c = centre(nside, face, ix, iy);
  // sin θ = sqrt(t(2 - t)) where t = 1 - |cos θ|.
  const s = Math.sqrt(c.t * (2 - c.t));
  const phi = c.lonDeg * DEG;
  out[0] = s * Math.cos(phi);
  out[1] = s * Math.sin(phi);
  out[2] = c.z;
}

/**
 * Largest angular distance (radians) from a cell centre to its corners at `order`, after
 * HEALPix's max_pixrad: the worst cell touches the polar/equatorial boundary.
 */
export function maxPixelRadius(order: number): number {
  const nside = 2 ** order;
  const za = TWO_THIRDS;
  const sa = Math.sqrt(1 - za * za);
  const pa = Math.PI / (4 * nside);
  let t1 = 1 - 1 / nside;
  t1 *= t1;
  const zb = 1 - t1 / 3;
  const sb = Math.sqrt((t1 / 3) * (2 - t1 / 3));
  const ax = sa * Math.cos(pa);
  const ay = sa * Math.sin(pa);
  const bx = sb;
  const cx = ay * zb - za * 0;
  const cy = za * bx - ax * zb;
  const cz = ax * 0 - ay * bx;
  return Math.atan2(Math.sqrt(cx * cx + cy * cy + cz * cz), ax * bx + za * zb);
}
