import { gunzipSync } from 'node:zlib';
import { FitsError } from './errors.js';
import { type FitsCard, FitsHeader } from './header.js';
import { riceDecompress } from './rice.js';
import { TFORM_ELEMENT_BYTES, tformFieldBytes } from './tform.js';

/**
 * The FITS tiled image compression convention (FITS 4.0 §10, FITS-33): an image stored as a
 * BINTABLE with ZIMAGE = T, one row per tile, each tile's compressed bytes in the heap. This module
 * reads the convention's keywords and decompresses single tiles; reader.ts reads only the tiles a
 * pixel box touches.
 */
export interface TiledImage {
  /** The image's own header: ZBITPIX, ZNAXISn... mapped to BITPIX, NAXISn (§10.1.1), table keywords dropped. */
  imageHeader: FitsHeader;
  bitpix: 8 | 16 | 32 | 64 | -32 | -64;
  axes: number[];
  /** ZTILEn: tile size along each axis. */
  tile: number[];
  compression: 'RICE_1' | 'GZIP_1' | 'GZIP_2' | 'NOCOMPRESS';
  blockSize: number;
  bytePix: 1 | 2 | 4;
  quantize: 'NONE' | 'NO_DITHER' | 'SUBTRACTIVE_DITHER_1' | 'SUBTRACTIVE_DITHER_2';
  dither0: number;
  /** Bytes per table row and number of rows (tiles). */
  rowBytes: number;
  rows: number;
  /** Offset of the heap from the start of the data (THEAP). */
  heapOffset: number;
  columns: Map<string, { offset: number; form: string }>;
  zscale?: number;
  zzero?: number;
  zblank?: number;
}

const SUPPORTED = new Set(['RICE_1', 'GZIP_1', 'GZIP_2', 'NOCOMPRESS']);

function formBytes(form: string): number {
  const m = /^(\d*)([LXBIJKAEDCMPQ])(.*)$/.exec(form.trim());
  if (!m) throw new FitsError('BAD_HEADER', `TFORM ${form} is not understood`);
  const repeat = m[1] === '' ? 1 : Number(m[1]);
  return tformFieldBytes(repeat, m[2] as string);
}

/** Keywords of the table that are not the image's (§10.1.1, §10.1.2). */
const TABLE_KEYWORD =
  /^(XTENSION|BITPIX|NAXIS\d*|PCOUNT|GCOUNT|TFIELDS|TTYPE\d+|TFORM\d+|TUNIT\d+|TDIM\d+|TSCAL\d+|TZERO\d+|TNULL\d+|THEAP|ZIMAGE|ZCMPTYPE|ZBITPIX|ZNAXIS\d*|ZTILE\d+|ZNAME\d+|ZVAL\d+|ZQUANTIZ|ZDITHER0|ZSIMPLE|ZEXTEND|ZTENSION|ZPCOUNT|ZGCOUNT|ZHECKSUM|ZDATASUM|ZBLOCKED|ZSCALE|ZZERO|ZBLANK|CHECKSUM|DATASUM)$/;

/** Reads the convention's keywords of a ZIMAGE BINTABLE; refuses what is not supported, naming the keyword. */
export function describeTiled(header: FitsHeader, where: string): TiledImage {
  const bad = (msg: string) => new FitsError('UNSUPPORTED', `${where}: ${msg}`);
  const compression = header.string('ZCMPTYPE')?.trim() ?? '';
  if (!SUPPORTED.has(compression))
    throw bad(
      `ZCMPTYPE ${compression || '(missing)'} is not supported (RICE_1, GZIP_1, GZIP_2, NOCOMPRESS are)`,
    );
  const bitpix = header.integer('ZBITPIX');
  if (bitpix === undefined || ![8, 16, 32, 64, -32, -64].includes(bitpix))
    throw new FitsError('BAD_HEADER', `${where}: ZBITPIX ${bitpix} is not a FITS BITPIX`);
  const naxis = header.integer('ZNAXIS') ?? 0;
  const axes: number[] = [];
  const tile: number[] = [];
  for (let i = 1; i <= naxis; i++) {
    const n = header.integer(`ZNAXIS${i}`);
    if (n === undefined || n < 1) throw new FitsError('BAD_HEADER', `${where}: ZNAXIS${i} is missing`);
    axes.push(n);
    // §10.1.1: ZTILE1 defaults to ZNAXIS1, the others to 1 (row by row tiles).
    tile.push(header.integer(`ZTILE${i}`) ?? (i === 1 ? n : 1));
  }
  let blockSize = 32;
  let bytePix: 1 | 2 | 4 = bitpix === 8 ? 1 : bitpix === 16 ? 2 : 4;
  for (let i = 1; header.has(`ZNAME${i}`); i++) {
    const name = header.string(`ZNAME${i}`)?.trim().toUpperCase();
    const value = header.number(`ZVAL${i}`);
    if (name === 'BLOCKSIZE' && value !== undefined) blockSize = value;
    if (name === 'BYTEPIX' && value !== undefined) {
      if (value !== 1 && value !== 2 && value !== 4) throw bad(`ZVAL${i} BYTEPIX ${value} is not 1, 2 or 4`);
      bytePix = value;
    }
  }
  if (compression === 'RICE_1' && bitpix === 64) throw bad('ZBITPIX 64 cannot be RICE_1 compressed');
  const floating = bitpix < 0;
  const hasScale = header.has('ZSCALE') || columnIndex(header, 'ZSCALE') !== undefined;
  const q = header.string('ZQUANTIZ')?.trim().toUpperCase();
  let quantize: TiledImage['quantize'] = 'NONE';
  if (floating && hasScale) {
    if (q === undefined || q === 'NO_DITHER') quantize = 'NO_DITHER';
    else if (q === 'SUBTRACTIVE_DITHER_1' || q === 'SUBTRACTIVE_DITHER_2') quantize = q;
    else throw bad(`ZQUANTIZ ${q} is not supported`);
    // Quantized floats are stored as 32-bit integers (§10.2).
    if (compression === 'RICE_1') bytePix = 4;
  }
  const columns = new Map<string, { offset: number; form: string }>();
  const tfields = header.integer('TFIELDS') ?? 0;
  let offset = 0;
  for (let i = 1; i <= tfields; i++) {
    const form = header.string(`TFORM${i}`) ?? '';
    const name = (header.string(`TTYPE${i}`) ?? '').trim().toUpperCase();
    columns.set(name, { offset, form: form.trim() });
    offset += formBytes(form);
  }
  const rowBytes = header.integer('NAXIS1') ?? 0;
  const rows = header.integer('NAXIS2') ?? 0;
  const data = columns.get('COMPRESSED_DATA');
  if (!data || !/^1?[PQ]/.test(data.form)) throw bad('no COMPRESSED_DATA column of variable-length arrays');
  const tiles = axes.reduce((n, a, i) => n * Math.ceil(a / tile[i]), 1);
  if (rows !== tiles) throw new FitsError('BAD_HEADER', `${where}: ${rows} rows for ${tiles} tiles (ZTILEn)`);

  const cards: FitsCard[] = [
    { keyword: 'XTENSION', value: 'IMAGE' },
    { keyword: 'BITPIX', value: bitpix },
    { keyword: 'NAXIS', value: naxis },
    ...axes.map((n, i) => ({ keyword: `NAXIS${i + 1}`, value: n })),
  ];
  for (const c of header.cards) if (!TABLE_KEYWORD.test(c.keyword)) cards.push(c);
  const t: TiledImage = {
    imageHeader: new FitsHeader(cards),
    bitpix: bitpix as TiledImage['bitpix'],
    axes,
    tile,
    compression: compression as TiledImage['compression'],
    blockSize,
    bytePix,
    quantize,
    dither0: header.integer('ZDITHER0') ?? 1,
    rowBytes,
    rows,
    heapOffset: header.integer('THEAP') ?? rowBytes * rows,
    columns,
  };
  const zs = header.number('ZSCALE');
  const zz = header.number('ZZERO');
  const zb = header.number('ZBLANK');
  if (zs !== undefined) t.zscale = zs;
  if (zz !== undefined) t.zzero = zz;
  if (zb !== undefined) t.zblank = zb;
  return t;
}

function columnIndex(header: FitsHeader, name: string): number | undefined {
  const n = header.integer('TFIELDS') ?? 0;
  for (let i = 1; i <= n; i++) if ((header.string(`TTYPE${i}`) ?? '').trim().toUpperCase() === name) return i;
  return undefined;
}

/** Uniform deviates of the subtractive dithering (FITS 4.0 §10.2.2: Park & Miller, seed 1). */
let RANDOMS: Float64Array | undefined;
function randoms(): Float64Array {
  if (RANDOMS) return RANDOMS;
  const out = new Float64Array(10000);
  const a = 16807;
  const m = 2147483647;
  let seed = 1;
  for (let i = 0; i < out.length; i++) {
    const t = a * seed;
    seed = t - m * Math.floor(t / m);
    out[i] = seed / m;
  }
  RANDOMS = out;
  return out;
}

/** Reads a big-endian value of a column's scalar type at `at` in a row. */
function scalar(row: Buffer, form: string, at: number): number {
  const type = form.replace(/^\d+/, '')[0];
  if (type === 'D') return row.readDoubleBE(at);
  if (type === 'E') return row.readFloatBE(at);
  if (type === 'J') return row.readInt32BE(at);
  if (type === 'I') return row.readInt16BE(at);
  if (type === 'K') return Number(row.readBigInt64BE(at));
  if (type === 'B') return row.readUInt8(at);
  throw new FitsError('BAD_HEADER', `column type ${form} is not a number`);
}

/** Where a tile's bytes are: [heap offset, byte count] of a variable-length array column. */
export function heapSlice(t: TiledImage, row: Buffer, column: string): [number, number] | undefined {
  const col = t.columns.get(column);
  if (!col) return undefined;
  const q = /^1?Q/.test(col.form);
  const n = q ? Number(row.readBigInt64BE(col.offset)) : row.readInt32BE(col.offset);
  const off = q ? Number(row.readBigInt64BE(col.offset + 8)) : row.readInt32BE(col.offset + 4);
  const elem = /[PQ]([A-Z])/.exec(col.form)?.[1] ?? 'B';
  return [off, n * (TFORM_ELEMENT_BYTES[elem] ?? 1)];
}

/**
 * The stored values (before BSCALE/BZERO of integer images; physical for quantized floats) of one
 * tile of `count` pixels, from its table row and its compressed bytes (`which` says which
 * column they came from).
 */
export function decodeTile(
  t: TiledImage,
  tileIndex: number,
  row: Buffer,
  bytes: Buffer,
  which: 'COMPRESSED_DATA' | 'GZIP_COMPRESSED_DATA' | 'UNCOMPRESSED_DATA',
  count: number,
): Float64Array {
  const out = new Float64Array(count);
  if (which !== 'COMPRESSED_DATA') {
    // Tiles that could not be quantized are kept losslessly (§10.2): gzip of, or the raw, values.
    const raw = which === 'GZIP_COMPRESSED_DATA' ? gunzipSync(bytes) : bytes;
    readBigEndian(raw, t.bitpix, out);
    return out;
  }
  let ints: ArrayLike<number>;
  const intWidth = t.quantize !== 'NONE' ? 32 : t.bitpix;
  if (t.compression === 'RICE_1') ints = riceDecompress(bytes, count, t.blockSize, t.bytePix);
  else {
    let raw = t.compression === 'NOCOMPRESS' ? bytes : gunzipSync(bytes);
    if (t.compression === 'GZIP_2') raw = unshuffle(raw, Math.abs(intWidth) / 8);
    if (t.quantize === 'NONE') {
      readBigEndian(raw, t.bitpix, out);
      return out;
    }
    const v = new Float64Array(count);
    readBigEndian(raw, 32, v);
    ints = v;
  }
  if (t.quantize === 'NONE') {
    for (let i = 0; i < count; i++) out[i] = ints[i];
    return out;
  }
  const colScale = t.columns.get('ZSCALE');
  const colZero = t.columns.get('ZZERO');
  const colBlank = t.columns.get('ZBLANK');
  const scale = colScale ? scalar(row, colScale.form, colScale.offset) : (t.zscale ?? 1);
  const zero = colZero ? scalar(row, colZero.form, colZero.offset) : (t.zzero ?? 0);
  const blank = colBlank ? scalar(row, colBlank.form, colBlank.offset) : t.zblank;
  if (t.quantize === 'NO_DITHER') {
    for (let i = 0; i < count; i++) out[i] = ints[i] === blank ? Number.NaN : ints[i] * scale + zero;
    return out;
  }
  // Subtractive dithering (§10.2.2): the tile's first deviate comes from its row number and
  // ZDITHER0; each pixel, null or not, takes the next one.
  const r = randoms();
  let seed = (tileIndex + t.dither0 - 1) % 10000;
  let next = Math.floor(r[seed] * 500);
  for (let i = 0; i < count; i++) {
    const v = ints[i];
    if (v === blank) out[i] = Number.NaN;
    else if (t.quantize === 'SUBTRACTIVE_DITHER_2' && v === -2147483646) out[i] = 0;
    else out[i] = (v - r[next] + 0.5) * scale + zero;
    next++;
    if (next === 10000) {
      seed = (seed + 1) % 10000;
      next = Math.floor(r[seed] * 500);
    }
  }
  return out;
}

function unshuffle(raw: Buffer, width: number): Buffer {
  const n = raw.length / width;
  const out = Buffer.allocUnsafe(raw.length);
  for (let k = 0; k < width; k++) for (let i = 0; i < n; i++) out[i * width + k] = raw[k * n + i];
  return out;
}

function readBigEndian(raw: Buffer, bitpix: number, out: Float64Array): void {
  const n = Math.min(out.length, raw.length / (Math.abs(bitpix) / 8));
  for (let i = 0; i < n; i++) {
    if (bitpix === 8) out[i] = raw[i];
    else if (bitpix === 16) out[i] = raw.readInt16BE(2 * i);
    else if (bitpix === 32) out[i] = raw.readInt32BE(4 * i);
    else if (bitpix === 64) out[i] = Number(raw.readBigInt64BE(8 * i));
    else if (bitpix === -32) out[i] = raw.readFloatBE(4 * i);
    else out[i] = raw.readDoubleBE(8 * i);
  }
}

/** Writes values as big-endian stored values of `bitpix` (the image's BITPIX). */
export function encodeStored(values: Float64Array, bitpix: number): Buffer {
  const w = Math.abs(bitpix) / 8;
  const buf = Buffer.allocUnsafe(values.length * w);
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (bitpix === 8) buf[i] = v;
    else if (bitpix === 16) buf.writeInt16BE(v, 2 * i);
    else if (bitpix === 32) buf.writeInt32BE(v, 4 * i);
    else if (bitpix === 64) buf.writeBigInt64BE(BigInt(v), 8 * i);
    else if (bitpix === -32) buf.writeFloatBE(v, 4 * i);
    else buf.writeDoubleBE(v, 8 * i);
  }
  return buf;
}
