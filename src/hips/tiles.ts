/** Tile width of every HiPS here (HIPS-04: the default and best practice). */
export const TILE_WIDTH = 512;
/** log2 of TILE_WIDTH: a tile at order K holds the HEALPix cells of order K + TILE_ORDER. */
export const TILE_ORDER = 9;

/** Spreads the low 16 bits of v to the even bits (bit k to bit 2k). */
function spread(v: number): number {
  let x = v & 0xffff;
  x = (x | (x << 8)) & 0x00ff00ff;
  x = (x | (x << 4)) & 0x0f0f0f0f;
  x = (x | (x << 2)) & 0x33333333;
  x = (x | (x << 1)) & 0x55555555;
  return x >>> 0;
}

/**
 * The sub-index inside a tile of the PNG pixel at column x, row r from the top (HIPS-05):
 * ix = r, iy = x, interleaved (ix on the even bits). FITS tiles store rows bottom-up, so their
 * row y is r = W - 1 - y.
 */
export function tileSubIndex(x: number, rowFromTop: number): number {
  return (spread(rowFromTop) | (spread(x) << 1)) >>> 0;
}

const JRLL = [2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4];
const JPLL = [1, 3, 5, 7, 0, 2, 4, 6, 1, 3, 5, 7];
const R2D = 180 / Math.PI;

/** Bits 0, 2, 4... of v gathered into bits 0, 1, 2... (the inverse of spread). */
function compact(v: number): number {
  let x = v & 0x55555555;
  x = (x | (x >>> 1)) & 0x33333333;
  x = (x | (x >>> 2)) & 0x0f0f0f0f;
  x = (x | (x >>> 4)) & 0x00ff00ff;
  x = (x | (x >>> 8)) & 0x0000ffff;
  return x;
}

/**
 * The centre of HEALPix cell (face, ix, iy) at nside, as HPX-06 (pix2ang) gives it, with
 * plain numbers: exact while 4·nside fits a double's integers (every order a tile pixel
 * reaches here, up to 13 + 9), and without a BigInt per pixel.
 */
function cellCentre(
  nside: number,
  face: number,
  ix: number,
  iy: number,
  out: Float64Array,
  at: number,
): void {
  const jr = JRLL[face] * nside - ix - iy - 1;
  let nr: number;
  let kshift: number;
  let lat: number;
  if (jr < nside || jr > 3 * nside) {
    nr = jr < nside ? jr : 4 * nside - jr;
    kshift = 0;
    // lat from the nearer pole: 1 - |z| = nr² / (3 nside²) = t, θ = 2 asin(sqrt(t / 2)).
    const t = (nr * nr) / (3 * nside * nside);
    const polar = 2 * Math.asin(Math.sqrt(t / 2)) * R2D;
    lat = jr < nside ? 90 - polar : polar - 90;
  } else {
    nr = nside;
    kshift = (jr - nside) & 1;
    lat = Math.asin(((2 * nside - jr) * 2) / (3 * nside)) * R2D;
  }
  let jp = Math.trunc((JPLL[face] * nr + ix - iy + 1 + kshift) / 2);
  if (jp > 4 * nside) jp -= 4 * nside;
  if (jp < 1) jp += 4 * nside;
  let lon = (jp - (kshift + 1) * 0.5) * (90 / nr);
  if (lon >= 360) lon -= 360;
  out[at] = lon;
  out[at + 1] = lat;
}

/**
 * The sky position (ICRS degrees) of every pixel centre of tile (order, index), row by row
 * from the top, as [lon, lat] pairs: the HEALPix cell of order + log2(width) under the pixel.
 * Allsky thumbnails use the same layout at a smaller width (HIPS-10).
 */
export function tilePixelCentres(order: number, index: number, width = TILE_WIDTH): Float64Array {
  const out = new Float64Array(width * width * 2);
  const bits = Math.log2(width);
  // The tile's own face and (ix, iy) at its order (order ≤ 13: 26 bits, within 32-bit ops).
  const perFace = 4 ** order;
  const face = Math.floor(index / perFace);
  const inFace = index - face * perFace;
  const tix = compact(inFace);
  const tiy = compact(inFace >>> 1);
  const nside = 2 ** (order + bits);
  for (let r = 0; r < width; r++)
    for (let x = 0; x < width; x++) {
      // HIPS-05: PNG row r, column x is sub-index interleave(ix = r, iy = x).
      cellCentre(nside, face, tix * width + r, tiy * width + x, out, (r * width + x) * 2);
    }
  return out;
}

/**
 * HIPS-02: NorderK/DirD/NpixN with D = floor(N / 10000) * 10000; frame F > 0 of a cube is
 * NpixN_F (HIPS-23, HiPS 1.0 cubes).
 */
export function tilePath(order: number, index: number, ext: string, frame = 0): string {
  return `Norder${order}/Dir${Math.floor(index / 10000) * 10000}/Npix${index}${frame > 0 ? `_${frame}` : ''}.${ext}`;
}
