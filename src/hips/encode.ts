import { encodeGrayAlphaPng, encodeHeader, encodePixels, stretchValue } from '../fits/index.js';

const BLOCK = 2880;
const pad = (b: Buffer) => Buffer.concat([b, Buffer.alloc((BLOCK - (b.length % BLOCK)) % BLOCK)]);

/** One grey + alpha PNG pixel: asinh-stretched between the cut, transparent where NaN (HIPS-07). */
function greyPixels(
  values: Float32Array,
  cut: readonly [number, number],
  px: Uint8Array,
  at: (i: number) => number,
) {
  const span = cut[1] - cut[0] || 1;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (Number.isNaN(v)) continue;
    const o = at(i);
    px[o] = Math.round(255 * stretchValue((v - cut[0]) / span, 'asinh'));
    px[o + 1] = 255;
  }
}

export function pngTile(values: Float32Array, width: number, cut: readonly [number, number]): Buffer {
  const px = new Uint8Array(values.length * 2);
  greyPixels(values, cut, px, (i) => 2 * i);
  return encodeGrayAlphaPng(width, width, px);
}

/** A FITS tile stores rows bottom-up: its row y is the PNG's row W - 1 - y (HIPS-05). */
export function fitsTile(values: Float32Array, width: number, order: number, index: number): Buffer {
  const flipped = new Float32Array(values.length);
  for (let y = 0; y < width; y++)
    flipped.set(values.subarray((width - 1 - y) * width, (width - y) * width), y * width);
  const header = encodeHeader([
    { keyword: 'SIMPLE', value: true },
    { keyword: 'BITPIX', value: -32 },
    { keyword: 'NAXIS', value: 2 },
    { keyword: 'NAXIS1', value: width },
    { keyword: 'NAXIS2', value: width },
    { keyword: 'ORDER', value: order, comment: 'HEALPix order of the tile' },
    { keyword: 'NPIX', value: index, comment: 'HEALPix NESTED index of the tile' },
  ]);
  return Buffer.concat([header, pad(encodePixels({ bitpix: -32, bzero: 0 }, flipped))]);
}

/**
 * The values of a FITS tile this module wrote (fitsTile), row by row from the top: the
 * cached FITS tiles are the pyramid's store, read back when their parent is averaged.
 */
export function fitsTileValues(bytes: Buffer, width: number): Float32Array {
  let end = 0;
  for (let o = 0; o + 80 <= bytes.length; o += 80)
    if (bytes.toString('latin1', o, o + 8) === 'END     ') {
      end = Math.ceil((o + 80) / BLOCK) * BLOCK;
      break;
    }
  const out = new Float32Array(width * width);
  for (let y = 0; y < width; y++)
    for (let x = 0; x < width; x++)
      out[(width - 1 - y) * width + x] = bytes.readFloatBE(end + (y * width + x) * 4);
  return out;
}

/** Allsky thumbnails laid out `columns` to a row, left to right and top to bottom (HIPS-10). */
export function allskyPng(
  thumbs: ReadonlyMap<number, Float32Array>,
  count: number,
  thumb: number,
  cut: readonly [number, number],
): Buffer {
  const columns = Math.floor(Math.sqrt(count));
  const rows = Math.ceil(count / columns);
  const width = columns * thumb;
  const px = new Uint8Array(width * rows * thumb * 2);
  for (const [i, values] of thumbs) {
    const x0 = (i % columns) * thumb;
    const y0 = Math.floor(i / columns) * thumb;
    greyPixels(values, cut, px, (k) => ((y0 + Math.floor(k / thumb)) * width + x0 + (k % thumb)) * 2);
  }
  return encodeGrayAlphaPng(width, rows * thumb, px);
}
