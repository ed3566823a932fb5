import { FitsError } from './errors.js';

/**
 * RICE_1 decompression of one tile (FITS 4.0 §10.4.1; White & Greenfield, and Pence, Seaman &
 * White 2009, PASP 121, 414). The stream holds the first pixel as a `bytePix`-byte big-endian
 * integer, then for each block of `blockSize` pixels a code (fsBits wide) giving the Rice
 * parameter fs − 1: 0 means the block repeats the previous pixel; the maximum means each
 * difference is stored raw (8 × bytePix bits); otherwise each difference is a unary count of
 * leading zeros (the high part), a one bit, and fs low bits. Differences are zig-zag mapped
 * (even = non-negative). Values wrap at the pixel width, as the encoder computed them.
 *
 * No npm package keeps this codec (fitsjs, the only one, is unmaintained browser code), so it is
 * written here, checked against tiles astropy compresses (test/fits/tiled.test.ts).
 */
export function riceDecompress(
  data: Uint8Array,
  count: number,
  blockSize: number,
  bytePix: 1 | 2 | 4,
): Int32Array {
  const fsBits = bytePix === 1 ? 3 : bytePix === 2 ? 4 : 5;
  const fsMax = bytePix === 1 ? 6 : bytePix === 2 ? 14 : 25;
  const bBits = 8 * bytePix;
  const out = new Int32Array(count);
  if (data.length < bytePix) throw new FitsError('BAD_HEADER', 'RICE_1 tile is shorter than its first pixel');
  let last = 0;
  for (let i = 0; i < bytePix; i++) last = last * 256 + data[i];
  last = wrap(last, bytePix);
  const totalBits = data.length * 8;
  let bit = bytePix * 8;
  const readBits = (n: number): number => {
    let v = 0;
    for (let k = 0; k < n; k++) {
      const b = bit < totalBits ? (data[bit >> 3] >> (7 - (bit & 7))) & 1 : 0;
      v = v * 2 + b;
      bit++;
    }
    return v;
  };
  for (let i = 0; i < count; ) {
    if (bit > totalBits) throw new FitsError('BAD_HEADER', 'RICE_1 tile ends before its last pixel');
    const fs = readBits(fsBits) - 1;
    const end = Math.min(count, i + blockSize);
    if (fs < 0) {
      for (; i < end; i++) out[i] = last;
      continue;
    }
    for (; i < end; i++) {
      let mapped: number;
      if (fs === fsMax) mapped = readBits(bBits);
      else {
        let zeros = 0;
        while (bit < totalBits && ((data[bit >> 3] >> (7 - (bit & 7))) & 1) === 0) {
          zeros++;
          bit++;
        }
        bit++; // the terminating one bit
        mapped = zeros * 2 ** fs + readBits(fs);
      }
      // Zig-zag: even values are d ≥ 0 (2d), odd ones d < 0 (−2d − 1).
      const diff = mapped % 2 === 0 ? mapped / 2 : -(mapped + 1) / 2;
      last = wrap(last + diff, bytePix);
      out[i] = last;
    }
  }
  return out;
}

/** The value modulo the pixel width: unsigned for bytes (BITPIX 8), signed otherwise. */
function wrap(v: number, bytePix: 1 | 2 | 4): number {
  if (bytePix === 1) return ((v % 256) + 256) % 256;
  if (bytePix === 2) return (v << 16) >> 16;
  return v | 0;
}
