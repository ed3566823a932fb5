import { deflateSync } from 'node:zlib';
import { FitsError } from './errors.js';
import type { AxisRange, FitsFile, FitsHdu } from './reader.js';

export type Stretch = 'linear' | 'sqrt' | 'log' | 'asinh';

export interface PreviewOptions {
  /** Longest side of the PNG in pixels (FITS-81). Default 1024. */
  maxSize?: number;
  /** Default 'asinh' (FITS-85). */
  stretch?: Stretch;
  /** 1-based pixel on each axis beyond the second; default: the middle channel of a spectral axis, else 1. */
  plane?: readonly number[];
  /** 0-based index of the spectral axis (to pick its middle channel by default). */
  spectralAxis?: number;
}

export interface Preview {
  png: Buffer;
  width: number;
  height: number;
  vmin: number;
  vmax: number;
}

/**
 * zscale limits as IRAF / astropy ZScaleInterval compute them (FITS-84): sample, sort, fit a line
 * with iterative k-sigma rejection and a grown bad-pixel mask, then scale the slope by 1/contrast.
 */
export function zscale(
  values: ArrayLike<number>,
  opts: {
    nSamples?: number;
    contrast?: number;
    maxReject?: number;
    minNpixels?: number;
    krej?: number;
    maxIterations?: number;
  } = {},
): [number, number] {
  const nSamples = opts.nSamples ?? 1000;
  const contrast = opts.contrast ?? 0.25;
  const maxReject = opts.maxReject ?? 0.5;
  const minNpixels = opts.minNpixels ?? 5;
  const krej = opts.krej ?? 2.5;
  const maxIterations = opts.maxIterations ?? 5;
  const finite: number[] = [];
  for (let i = 0; i < values.length; i++) if (Number.isFinite(values[i])) finite.push(values[i]);
  if (finite.length === 0) return [0, 1];
  const stride = Math.max(1, Math.floor(finite.length / nSamples));
  const samples: number[] = [];
  for (let i = 0; i < finite.length && samples.length < nSamples; i += stride) samples.push(finite[i]);
  samples.sort((a, b) => a - b);
  const npix = samples.length;
  let vmin = samples[0];
  let vmax = samples[npix - 1];
  const minpix = Math.max(minNpixels, Math.floor(npix * maxReject));
  const ngrow = Math.max(1, Math.floor(npix * 0.01));
  let bad = new Array<boolean>(npix).fill(false);
  let ngood = npix;
  let lastNgood = npix + 1;
  let slope = 0;
  for (let it = 0; it < maxIterations; it++) {
    if (ngood >= lastNgood || ngood < minpix) break;
    // Least-squares line through the good samples.
    let sw = 0;
    let sx = 0;
    let sy = 0;
    let sxx = 0;
    let sxy = 0;
    for (let i = 0; i < npix; i++) {
      if (bad[i]) continue;
      sw++;
      sx += i;
      sy += samples[i];
      sxx += i * i;
      sxy += i * samples[i];
    }
    const den = sw * sxx - sx * sx;
    slope = den === 0 ? 0 : (sw * sxy - sx * sy) / den;
    const intercept = (sy - slope * sx) / sw;
    const flat = samples.map((v, i) => v - (intercept + slope * i));
    let mean = 0;
    for (let i = 0; i < npix; i++) if (!bad[i]) mean += flat[i];
    mean /= sw;
    let variance = 0;
    for (let i = 0; i < npix; i++) if (!bad[i]) variance += (flat[i] - mean) ** 2;
    const threshold = krej * Math.sqrt(variance / sw);
    for (let i = 0; i < npix; i++) if (flat[i] < -threshold || flat[i] > threshold) bad[i] = true;
    // Grow the mask like numpy.convolve(mask, ones(ngrow), 'same').
    const off = Math.floor((ngrow - 1) / 2);
    const grown = new Array<boolean>(npix).fill(false);
    for (let i = 0; i < npix; i++) {
      for (let j = 0; j < ngrow; j++) {
        const k = i + off - j;
        if (k >= 0 && k < npix && bad[k]) {
          grown[i] = true;
          break;
        }
      }
    }
    bad = grown;
    lastNgood = ngood;
    ngood = bad.filter((b) => !b).length;
  }
  if (ngood >= minpix) {
    if (contrast > 0) slope /= contrast;
    const center = Math.floor((npix - 1) / 2);
    const median = npix % 2 === 1 ? samples[(npix - 1) / 2] : (samples[npix / 2 - 1] + samples[npix / 2]) / 2;
    vmin = Math.max(vmin, median - (center - 1) * slope);
    vmax = Math.min(vmax, median + (npix - center) * slope);
  }
  return [vmin, vmax];
}

/** Stretch of a value normalised to [0, 1] (FITS-85; asinh a = 0.1, log a = 1000 as astropy). */
export function stretchValue(u: number, stretch: Stretch): number {
  const c = Math.min(1, Math.max(0, u));
  switch (stretch) {
    case 'linear':
      return c;
    case 'sqrt':
      return Math.sqrt(c);
    case 'log':
      return Math.log(1000 * c + 1) / Math.log(1001);
    case 'asinh':
      return Math.asinh(c / 0.1) / Math.asinh(1 / 0.1);
  }
}

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

function crc32(parts: Uint8Array[]): number {
  let c = 0xffffffff;
  for (const p of parts) for (let i = 0; i < p.length; i++) c = CRC_TABLE[(c ^ p[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function chunk(type: string, data: Uint8Array): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(data.length, 0);
  head.write(type, 4, 'latin1');
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32([head.subarray(4), data]), 0);
  return Buffer.concat([head, data, crc]);
}

/**
 * A grey+alpha 8-bit PNG (colour type 4, FITS-86/87). `pixels` holds (grey, alpha) pairs, rows
 * top to bottom.
 */
export function encodeGrayAlphaPng(width: number, height: number, pixels: Uint8Array): Buffer {
  if (pixels.length !== width * height * 2)
    throw new FitsError('WRITE', 'PNG pixel buffer size does not match width × height');
  const raw = Buffer.alloc(height * (1 + width * 2));
  for (let y = 0; y < height; y++) {
    const o = y * (1 + width * 2);
    raw[o] = 0; // filter: none
    raw.set(pixels.subarray(y * width * 2, (y + 1) * width * 2), o + 1);
  }
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8;
  ihdr[9] = 4;
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', deflateSync(raw)),
    chunk('IEND', new Uint8Array(0)),
  ]);
}

/**
 * A PNG preview of one plane of an image HDU (axes 1 and 2 displayed): block-averaged to at most
 * maxSize pixels per side ignoring NaN/BLANK (FITS-81), zscale limits (FITS-83/84), the chosen
 * stretch, NaN transparent, FITS row 1 at the bottom (FITS-82). Reads one band of rows at a time.
 */
export async function renderPreview(
  file: FitsFile,
  hdu: FitsHdu,
  options: PreviewOptions = {},
): Promise<Preview> {
  if (hdu.axes.length < 2) throw new FitsError('BAD_REQUEST', `HDU ${hdu.index} is not an image (NAXIS < 2)`);
  const maxSize = options.maxSize ?? 1024;
  if (!Number.isInteger(maxSize) || maxSize < 1 || maxSize > 8192) {
    throw new FitsError('BAD_REQUEST', 'preview maxSize must be an integer in 1..8192');
  }
  const [nx, ny] = hdu.axes;
  const rest = hdu.axes.slice(2).map((n, i) => {
    const given = options.plane?.[i];
    const p = given ?? (options.spectralAxis === i + 2 ? Math.ceil(n / 2) : 1);
    if (!Number.isInteger(p) || p < 1 || p > n)
      throw new FitsError('BAD_REQUEST', `plane ${p} on axis ${i + 3} is not in 1..${n}`);
    return { from: p, to: p } satisfies AxisRange;
  });
  const f = Math.max(1, Math.ceil(Math.max(nx, ny) / maxSize));
  const width = Math.ceil(nx / f);
  const height = Math.ceil(ny / f);
  const small = new Float32Array(width * height);
  const sums = new Float64Array(width);
  const counts = new Uint32Array(width);
  for (let by = 0; by < height; by++) {
    const y0 = by * f + 1;
    const y1 = Math.min(ny, y0 + f - 1);
    const band = await file.readSubarray(hdu, [{ from: 1, to: nx }, { from: y0, to: y1 }, ...rest]);
    sums.fill(0);
    counts.fill(0);
    for (let r = 0; r <= y1 - y0; r++) {
      for (let x = 0; x < nx; x++) {
        const v = band[r * nx + x];
        if (Number.isFinite(v)) {
          const bx = Math.floor(x / f);
          sums[bx] += v;
          counts[bx]++;
        }
      }
    }
    for (let bx = 0; bx < width; bx++)
      small[by * width + bx] = counts[bx] ? sums[bx] / counts[bx] : Number.NaN;
  }
  const [vmin, vmax] = zscale(small);
  const span = vmax > vmin ? vmax - vmin : 1;
  const stretch = options.stretch ?? 'asinh';
  const pixels = new Uint8Array(width * height * 2);
  for (let y = 0; y < height; y++) {
    const src = (height - 1 - y) * width;
    for (let x = 0; x < width; x++) {
      const v = small[src + x];
      const o = (y * width + x) * 2;
      if (Number.isNaN(v)) continue;
      pixels[o] = Math.round(255 * stretchValue((v - vmin) / span, stretch));
      pixels[o + 1] = 255;
    }
  }
  return { png: encodeGrayAlphaPng(width, height, pixels), width, height, vmin, vmax };
}
