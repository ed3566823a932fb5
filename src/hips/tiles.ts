import { nestedToLonLat } from '../../sky/index.js';

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

/**
 * The sky position (ICRS degrees) of every pixel centre of tile (order, index), row by row
 * from the top, as [lon, lat] pairs: the HEALPix cell of order + log2(width) under the pixel.
 * Allsky thumbnails use the same layout at a smaller width (HIPS-10).
 */
export function tilePixelCentres(order: number, index: number, width = TILE_WIDTH): Float64Array {
  const out = new Float64Array(width * width * 2);
  const base = BigInt(index) * BigInt(width * width);
  const deep = order + Math.log2(width);
  for (let r = 0; r < width; r++)
    for (let x = 0; x < width; x++) {
      const { lon, lat } = nestedToLonLat(deep, base + BigInt(tileSubIndex(x, r)));
      const o = (r * width + x) * 2;
      out[o] = lon;
      out[o + 1] = lat;
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
