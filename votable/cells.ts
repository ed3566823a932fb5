import {
  DEFAULT_INTEGER_NULL,
  isCharType,
  isComplexType,
  isIntegerType,
  parseArraysize,
  type Shape,
} from './arraysize.js';
import { VOTableEncodeError } from './errors.js';
import type { ByteSink } from './sink.js';
import type { Datatype, Field } from './types.js';
import {
  fail,
  formatDouble,
  formatFloat,
  longText,
  toBigInt,
  toBoolean,
  toInteger,
  toItems,
  toNumber,
  toText,
} from './values.js';

const INT_RANGE: Record<string, [number, number]> = {
  unsignedByte: [0, 255],
  short: [-32768, 32767],
  int: [-2147483648, 2147483647],
};

// ---------------------------------------------------------------- text (TABLEDATA, CSV, TSV)

type ItemText = (item: unknown) => string;

function itemText(f: Field, nullLiteral: string | undefined): ItemText {
  const col = f.name;
  const dt = f.datatype;
  const orNull =
    (fmt: ItemText, nullText: string | undefined): ItemText =>
    (x) => {
      if (x === null || x === undefined) {
        if (nullText === undefined)
          throw new VOTableEncodeError(
            `column "${col}": a null array element needs a nullValue (magic value) for ${dt}`,
          );
        return nullText;
      }
      return fmt(x);
    };
  switch (dt) {
    case 'boolean':
      return orNull((x) => (toBoolean(x, col) ? 'T' : 'F'), '?');
    case 'bit':
      return orNull((x) => (toBoolean(x, col) ? '1' : '0'), undefined);
    case 'unsignedByte':
    case 'short':
    case 'int': {
      const [lo, hi] = INT_RANGE[dt];
      return orNull(
        (x) =>
          typeof x === 'number' && (x | 0) === x && x >= lo && x <= hi
            ? String(x)
            : String(toInteger(x, col, dt, lo, hi)),
        nullLiteral,
      );
    }
    case 'long':
      return orNull((x) => longText(x, col), nullLiteral);
    case 'float':
      return orNull((x) => formatFloat(typeof x === 'number' ? x : toNumber(x, col, dt)), 'NaN');
    case 'double':
    case 'floatComplex':
    case 'doubleComplex': {
      const fmt = dt === 'floatComplex' ? formatFloat : formatDouble;
      return orNull((x) => fmt(typeof x === 'number' ? x : toNumber(x, col, dt)), 'NaN');
    }
    default:
      return (x) => toText(x, col);
  }
}

/**
 * The TABLEDATA literal of a non-null cell (VOT-17, VOT-24). Char cells come back unescaped;
 * '' means an empty array or string, which TABLEDATA cannot tell from null (VOT-26).
 */
export function textFormatter(f: Field, shape: Shape, nullLiteral?: string): (v: unknown) => string {
  const col = f.name;
  const dt = f.datatype;
  if (isCharType(dt)) {
    if (shape.scalar) return (v) => toText(v, col);
    if (shape.slice > 1) {
      // Multi-dimensional char, e.g. 10x*: slices blank-padded to their length and concatenated.
      const n = shape.slice;
      return (v) => {
        const parts = Array.isArray(v) ? v : [v];
        let s = '';
        for (const p of parts) {
          const t = p === null || p === undefined ? '' : toText(p, col);
          if (t.length > n) fail(col, `a ${n}-character slice`, p);
          s += t.padEnd(n, ' ');
        }
        return s;
      };
    }
    return (v) => toText(v, col);
  }
  const item = itemText(f, nullLiteral);
  const complex = isComplexType(dt);
  if (shape.scalar && !complex) return item;
  const per = complex ? 2 : 1;
  const sep = ' ';
  const col2 = col;
  return (v) => {
    const items = dt === 'bit' && typeof v === 'string' ? v.replace(/\s+/g, '').split('') : toItems(v, col2);
    checkCount(items.length, shape, per, col2);
    let s = '';
    for (let i = 0; i < items.length; i++) {
      if (i > 0) s += sep;
      s += item(items[i]);
    }
    return s;
  };
}

function checkCount(n: number, shape: Shape, per: number, col: string): void {
  if (shape.scalar) {
    if (n !== per) throw new VOTableEncodeError(`column "${col}": expected ${per} numbers, got ${n}`);
    return;
  }
  const slice = shape.slice * per;
  if (!shape.variable) {
    if (n !== shape.fixedCount * per)
      throw new VOTableEncodeError(
        `column "${col}": arraysize needs ${shape.fixedCount * per} items, got ${n}`,
      );
    return;
  }
  if (n % slice !== 0)
    throw new VOTableEncodeError(`column "${col}": ${n} items is not a whole number of ${slice}-item slices`);
  if (shape.maxLast !== undefined && n / slice > shape.maxLast)
    throw new VOTableEncodeError(
      `column "${col}": ${n / slice} slices exceed arraysize limit ${shape.maxLast}`,
    );
}

// ---------------------------------------------------------------- binary (BINARY, BINARY2, FITS)

export type BinWriter = (s: ByteSink, v: unknown) => void;

type ItemPut = (s: ByteSink, x: unknown) => void;

const TWO32 = 4294967296;

function itemPut(dt: Datatype, col: string, magic: string | undefined): ItemPut {
  switch (dt) {
    case 'boolean':
      return (s, x) => {
        s.buf[s.pos++] = x === null || x === undefined ? 63 : toBoolean(x, col) ? 84 : 70;
      };
    case 'unsignedByte':
    case 'short':
    case 'int': {
      const [lo, hi] = INT_RANGE[dt];
      const m = magic === undefined ? undefined : Number(magic);
      const bytes = dt === 'int' ? 4 : dt === 'short' ? 2 : 1;
      return (s, x) => {
        let n: number;
        if (x === null || x === undefined) {
          if (m === undefined)
            throw new VOTableEncodeError(`column "${col}": a null array element needs a nullValue for ${dt}`);
          n = m;
        } else
          n =
            typeof x === 'number' && (x | 0) === x && x >= lo && x <= hi ? x : toInteger(x, col, dt, lo, hi);
        if (bytes === 4) s.dv.setInt32(s.pos, n);
        else if (bytes === 2) s.dv.setInt16(s.pos, n);
        else s.buf[s.pos] = n;
        s.pos += bytes;
      };
    }
    case 'long': {
      const m = magic === undefined ? undefined : BigInt(magic);
      return (s, x) => {
        if (x === null || x === undefined) {
          if (m === undefined)
            throw new VOTableEncodeError(`column "${col}": a null array element needs a nullValue for long`);
          s.dv.setBigInt64(s.pos, m);
        } else {
          let n: number | undefined;
          if (typeof x === 'number' && Number.isSafeInteger(x)) n = x;
          else if (typeof x === 'string' && x.length < 16) {
            const t = Number(x);
            if (Number.isSafeInteger(t) && /^[+-]?[0-9]+$/.test(x)) n = t;
          }
          if (n !== undefined) {
            const hi = Math.floor(n / TWO32);
            s.dv.setInt32(s.pos, hi);
            s.dv.setUint32(s.pos + 4, n - hi * TWO32);
          } else s.dv.setBigInt64(s.pos, toBigInt(x, col));
        }
        s.pos += 8;
      };
    }
    case 'float':
    case 'floatComplex':
      return (s, x) => {
        s.dv.setFloat32(
          s.pos,
          typeof x === 'number' ? x : x === null || x === undefined ? Number.NaN : toNumber(x, col, dt),
        );
        s.pos += 4;
      };
    case 'double':
    case 'doubleComplex':
      return (s, x) => {
        s.dv.setFloat64(
          s.pos,
          typeof x === 'number' ? x : x === null || x === undefined ? Number.NaN : toNumber(x, col, dt),
        );
        s.pos += 8;
      };
    default:
      throw new VOTableEncodeError(`column "${col}": no item writer for ${dt}`);
  }
}

const NON_ASCII = /[^\x00-\x7f]/g;

/** char is 7-bit (VOT-37): other characters become '?' in binary serialisations; see README. */
function asciiOf(t: string): string {
  return NON_ASCII.test(t) ? t.replace(NON_ASCII, '?') : t;
}

function writeChars(s: ByteSink, t: string, unicode: boolean): void {
  if (unicode) {
    const n = t.length * 2;
    s.ensure(n);
    s.buf.write(t, s.pos, n, 'utf16le');
    s.buf.subarray(s.pos, s.pos + n).swap16();
    s.pos += n;
  } else {
    s.ensure(t.length);
    s.pos += s.buf.write(asciiOf(t), s.pos, 'latin1');
  }
}

function fill(s: ByteSink, n: number, byte = 0): void {
  s.ensure(n);
  s.buf.fill(byte, s.pos, s.pos + n);
  s.pos += n;
}

/** Bytes of a fixed-size cell in BINARY; variable cells return undefined. */
export function fixedBytes(f: Field, shape: Shape): number | undefined {
  if (shape.variable) return undefined;
  if (f.datatype === 'bit') return Math.ceil(shape.fixedCount / 8);
  const item = {
    boolean: 1,
    unsignedByte: 1,
    short: 2,
    int: 4,
    long: 8,
    char: 1,
    unicodeChar: 2,
    float: 4,
    double: 8,
    floatComplex: 8,
    doubleComplex: 16,
    bit: 0,
  }[f.datatype];
  return item * shape.fixedCount;
}

/** Writer of a non-null cell (VOT-33..39). `magic` is the integer null for null array elements. */
export function binaryWriter(f: Field, shape: Shape, magic: string | undefined): BinWriter {
  const col = f.name;
  const dt = f.datatype;
  if (isCharType(dt)) {
    const unicode = dt === 'unicodeChar';
    const unit = unicode ? 2 : 1;
    if (shape.scalar)
      return (s, v) => {
        const t = toText(v, col);
        if (t.length > 1) fail(col, `a single ${dt}`, v);
        s.ensure(unit);
        if (t.length === 0) fill(s, unit);
        else writeChars(s, t, unicode);
      };
    if (shape.slice > 1) {
      const n = shape.slice;
      return (s, v) => {
        const parts = Array.isArray(v) ? v : [v];
        if (!shape.variable && parts.length * n !== shape.fixedCount)
          fail(col, `${shape.fixedCount / n} strings of ${n} characters`, v);
        if (shape.variable) {
          if (shape.maxLast !== undefined && parts.length > shape.maxLast)
            fail(col, `at most ${shape.maxLast} strings`, v);
          s.ensure(4);
          s.dv.setInt32(s.pos, parts.length);
          s.pos += 4;
        }
        for (const p of parts) {
          const t = p === null || p === undefined ? '' : toText(p, col);
          if (t.length > n) fail(col, `a ${n}-character string`, p);
          writeChars(s, t, unicode);
          fill(s, (n - t.length) * unit);
        }
      };
    }
    if (shape.variable)
      return (s, v) => {
        const t = toText(v, col);
        if (shape.maxLast !== undefined && t.length > shape.maxLast)
          fail(col, `at most ${shape.maxLast} characters`, v);
        s.ensure(4);
        s.dv.setInt32(s.pos, t.length);
        s.pos += 4;
        writeChars(s, t, unicode);
      };
    const n = shape.fixedCount;
    return (s, v) => {
      const t = toText(v, col);
      if (t.length > n) fail(col, `at most ${n} characters`, v);
      writeChars(s, t, unicode);
      fill(s, (n - t.length) * unit);
    };
  }
  if (dt === 'bit') {
    return (s, v) => {
      const items: unknown[] = shape.scalar
        ? [v]
        : typeof v === 'string'
          ? v.replace(/\s+/g, '').split('')
          : toItems(v, col);
      if (!shape.scalar) checkCount(items.length, shape, 1, col);
      if (shape.variable) {
        s.ensure(4);
        s.dv.setInt32(s.pos, items.length);
        s.pos += 4;
      }
      const nb = Math.ceil(items.length / 8);
      s.ensure(nb);
      s.buf.fill(0, s.pos, s.pos + nb);
      for (let i = 0; i < items.length; i++) {
        if (toBoolean(items[i], col)) s.buf[s.pos + (i >> 3)] |= 0x80 >> (i & 7);
      }
      s.pos += nb;
    };
  }
  const put = itemPut(dt, col, magic);
  const complex = isComplexType(dt);
  const itemBytes =
    {
      float: 4,
      floatComplex: 4,
      double: 8,
      doubleComplex: 8,
      long: 8,
      int: 4,
      short: 2,
      unsignedByte: 1,
      boolean: 1,
    }[dt as string] ?? 1;
  if (shape.scalar && !complex) {
    return (s, v) => {
      s.ensure(itemBytes);
      put(s, v);
    };
  }
  const per = complex ? 2 : 1;
  return (s, v) => {
    const items = toItems(v, col);
    checkCount(items.length, shape, per, col);
    s.ensure(4 + items.length * itemBytes);
    if (shape.variable) {
      s.dv.setInt32(s.pos, items.length / (per * shape.slice));
      s.pos += 4;
    }
    for (let i = 0; i < items.length; i++) put(s, items[i]);
  };
}

/** Placeholder bytes of a null cell: NaN for floats, the magic value for integers, '?' for booleans, else zeros (VOT-32, VOT-42). */
export function nullPlaceholder(f: Field, shape: Shape, magic: string | undefined, binary2: boolean): Buffer {
  if (shape.variable) return Buffer.alloc(4);
  const n = fixedBytes(f, shape) ?? 0;
  const b = Buffer.alloc(n);
  const dt = f.datatype;
  if (dt === 'float' || dt === 'floatComplex') for (let i = 0; i < n; i += 4) b.writeFloatBE(Number.NaN, i);
  else if (dt === 'double' || dt === 'doubleComplex')
    for (let i = 0; i < n; i += 8) b.writeDoubleBE(Number.NaN, i);
  else if (dt === 'boolean' && !binary2) b.fill(63);
  else if (isIntegerType(dt) && magic !== undefined && !binary2) {
    const m = BigInt(magic);
    const size = n / shape.fixedCount;
    for (let i = 0; i < n; i += size) {
      if (size === 8) b.writeBigInt64BE(m, i);
      else if (size === 4) b.writeInt32BE(Number(m), i);
      else if (size === 2) b.writeInt16BE(Number(m), i);
      else b.writeUInt8(Number(m), i);
    }
  }
  return b;
}

/**
 * The magic null a column uses (only integers have one): in BINARY always, since it has no null
 * flags (VOT-28); in TABLEDATA only for fixed-size integer arrays, which are written as
 * magic-filled arrays rather than empty cells (see tabledataNull).
 */
export function magicNull(f: Field, forBinary: boolean): string | undefined {
  if (!isIntegerType(f.datatype)) return undefined;
  if (f.nullValue !== undefined) return f.nullValue;
  if (forBinary) return DEFAULT_INTEGER_NULL[f.datatype];
  const shape = parseArraysize(f.arraysize);
  return !shape.scalar && !shape.variable ? DEFAULT_INTEGER_NULL[f.datatype] : undefined;
}

/**
 * The TABLEDATA text of a null cell. VOT-23 makes an empty TD null for any datatype, but
 * validators in use (STIL 4.1 votlint) reject empty TDs for fixed-size numeric arrays and
 * complex scalars, so those are written as NaN-filled (floats) or magic-filled (integers)
 * arrays, which every reader takes as null elements (VOT-28, VOT-30).
 */
export function tabledataNull(f: Field, shape: Shape, magic: string | undefined): string {
  const dt = f.datatype;
  const complex = isComplexType(dt);
  if (shape.variable || isCharType(dt) || dt === 'bit' || dt === 'boolean') return '';
  if (shape.scalar && !complex) return '';
  const n = shape.fixedCount * (complex ? 2 : 1);
  if (dt === 'float' || dt === 'double' || complex) return new Array(n).fill('NaN').join(' ');
  if (magic !== undefined) return new Array(n).fill(magic).join(' ');
  return '';
}
