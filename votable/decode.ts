import { isCharType, isComplexType, type Shape } from './arraysize.js';
import { VOTableReadError } from './errors.js';
import type { Field } from './types.js';

/*
 * Cell decoders for the reader. Values come back in the same mapping the encoders accept:
 * numbers, bigint for long, booleans, strings, flat arrays, null.
 */

const FLOAT = /^[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eEdD][+-]?[0-9]+)?$/;
const INT = /^[+-]?[0-9]+$/;
const HEX = /^0[xX][0-9a-fA-F]+$/;
const WS = /\s+/;

export type TextDecoderFn = (t: string, row: number) => unknown;

function err(f: Field, row: number, what: string): never {
  throw new VOTableReadError(`row ${row}, column "${f.name}": ${what}`, row, f.name);
}

function parseFloatText(f: Field, t: string, row: number): number {
  if (t === 'NaN' || t === 'nan') return Number.NaN;
  if (t === '+Inf' || t === 'Inf' || t === 'Infinity' || t === '+Infinity' || t === 'inf' || t === '+inf')
    return Number.POSITIVE_INFINITY;
  if (t === '-Inf' || t === '-Infinity' || t === '-inf') return Number.NEGATIVE_INFINITY;
  if (!FLOAT.test(t)) err(f, row, `"${t.slice(0, 40)}" is not a ${f.datatype}`);
  return Number(t.replace(/[dD]/, 'e'));
}

const INT_RANGE: Record<string, [number, number, number]> = {
  unsignedByte: [0, 255, 2],
  short: [-32768, 32767, 4],
  int: [-2147483648, 2147483647, 8],
};

function itemFromText(f: Field): (t: string, row: number) => unknown {
  switch (f.datatype) {
    case 'boolean':
      return (t, row) => {
        const c = t.toLowerCase();
        if (c === 't' || c === 'true' || c === '1') return true;
        if (c === 'f' || c === 'false' || c === '0') return false;
        if (c === '?' || c === '') return null;
        return err(f, row, `"${t.slice(0, 40)}" is not a boolean`);
      };
    case 'bit':
      return (t, row) =>
        t === '1' ? true : t === '0' ? false : err(f, row, `"${t.slice(0, 40)}" is not a bit`);
    case 'unsignedByte':
    case 'short':
    case 'int': {
      const [lo, hi, hexDigits] = INT_RANGE[f.datatype];
      return (t, row) => {
        let n: number;
        if (INT.test(t)) n = Number(t);
        else if (HEX.test(t) && t.length - 2 <= hexDigits) {
          n = Number.parseInt(t.slice(2), 16);
          if (f.datatype === 'short' && n > 32767) n -= 65536;
          if (f.datatype === 'int' && n > 2147483647) n -= 4294967296;
        } else return err(f, row, `"${t.slice(0, 40)}" is not an ${f.datatype}`);
        if (n < lo || n > hi) err(f, row, `${t} is out of range for ${f.datatype}`);
        return n;
      };
    }
    case 'long':
      return (t, row) => {
        let b: bigint;
        if (INT.test(t)) b = BigInt(t);
        else if (HEX.test(t) && t.length <= 18) b = BigInt.asIntN(64, BigInt(t));
        else return err(f, row, `"${t.slice(0, 40)}" is not a long`);
        if (b < -(2n ** 63n) || b >= 2n ** 63n) err(f, row, `${t} is out of range for long`);
        return b;
      };
    case 'float':
      return (t, row) => Math.fround(parseFloatText(f, t, row));
    default:
      return (t, row) => parseFloatText(f, t, row);
  }
}

function checkCount(f: Field, shape: Shape, n: number, per: number, row: number): void {
  if (shape.scalar) {
    if (n !== per) err(f, row, `expected ${per} values, found ${n}`);
    return;
  }
  if (!shape.variable) {
    if (n !== shape.fixedCount * per)
      err(f, row, `arraysize "${f.arraysize}" needs ${shape.fixedCount * per} values, found ${n}`);
    return;
  }
  const slice = shape.slice * per;
  if (n % slice !== 0)
    err(
      f,
      row,
      `${n} values is not a whole number of ${shape.slice}-item slices (arraysize "${f.arraysize}")`,
    );
  if (shape.maxLast !== undefined && n / slice > shape.maxLast)
    err(f, row, `${n / slice} items exceed arraysize "${f.arraysize}"`);
}

/** Decoder of a non-empty TABLEDATA cell (empty cells are null, VOT-23). */
export function textDecoder(f: Field, shape: Shape, nullValue: string | undefined): TextDecoderFn {
  if (isCharType(f.datatype)) {
    if (shape.scalar)
      return (t, row) => (t.length > 1 ? err(f, row, 'more than one character in a scalar char') : t);
    if (shape.slice > 1) {
      const n = shape.slice;
      return (t, row) => {
        const count = Math.ceil(t.length / n);
        if (!shape.variable && count * n !== shape.fixedCount && t.length > shape.fixedCount)
          err(f, row, `text longer than arraysize "${f.arraysize}"`);
        if (shape.maxLast !== undefined && count > shape.maxLast)
          err(f, row, `more than ${shape.maxLast} strings`);
        const out: string[] = [];
        for (let i = 0; i < t.length; i += n) out.push(t.slice(i, i + n).trimEnd());
        return out;
      };
    }
    const max = shape.variable ? shape.maxLast : shape.fixedCount;
    return (t, row) =>
      max !== undefined && t.length > max ? err(f, row, `text longer than arraysize "${f.arraysize}"`) : t;
  }
  const item = itemFromText(f);
  const complex = isComplexType(f.datatype);
  const orMagic =
    nullValue === undefined ? item : (t: string, row: number) => (t === nullValue ? null : item(t, row));
  if (shape.scalar && !complex) return (t, row) => orMagic(t.trim(), row);
  const per = complex ? 2 : 1;
  return (t, row) => {
    let parts: string[];
    if (f.datatype === 'bit') parts = t.replace(/\s+/g, '').split('');
    else {
      const s = t.trim();
      parts = s === '' ? [] : s.split(WS);
    }
    checkCount(f, shape, parts.length, per, row);
    const out = new Array(parts.length);
    for (let i = 0; i < parts.length; i++) out[i] = orMagic(parts[i], row);
    return out;
  };
}

// ---------------------------------------------------------------- binary

const ITEM: Record<string, number> = {
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
};

export interface BinaryDecoder {
  /** Bytes of the fixed part (the whole cell, or the 4-byte count of a variable cell). */
  head: number;
  /** Bytes after the count for `count` items; 0 for fixed cells. */
  varBytes(count: number): number;
  /** Decodes a cell occupying buf[off, off+len). */
  read(b: Buffer, off: number, len: number, row: number): unknown;
}

function readItem(f: Field, magic: bigint | number | undefined): (b: Buffer, o: number) => unknown {
  switch (f.datatype) {
    case 'boolean':
      return (b, o) => {
        const c = b[o];
        return c === 84 || c === 116 || c === 49 ? true : c === 70 || c === 102 || c === 48 ? false : null;
      };
    case 'unsignedByte':
      return (b, o) => (b[o] === magic ? null : b[o]);
    case 'short':
      return (b, o) => {
        const v = b.readInt16BE(o);
        return v === magic ? null : v;
      };
    case 'int':
      return (b, o) => {
        const v = b.readInt32BE(o);
        return v === magic ? null : v;
      };
    case 'long':
      return (b, o) => {
        const v = b.readBigInt64BE(o);
        return v === magic ? null : v;
      };
    case 'float':
    case 'floatComplex':
      return (b, o) => b.readFloatBE(o);
    default:
      return (b, o) => b.readDoubleBE(o);
  }
}

function decodeChars(b: Buffer, off: number, len: number, unicode: boolean, nulTerminated: boolean): string {
  let s: string;
  if (unicode) {
    const copy = Buffer.from(b.subarray(off, off + len));
    copy.swap16();
    s = copy.toString('utf16le');
  } else s = b.toString('latin1', off, off + len);
  if (nulTerminated) {
    const z = s.indexOf('\0');
    if (z >= 0) s = s.slice(0, z);
  }
  return s;
}

export function binaryDecoder(
  f: Field,
  shape: Shape,
  nullValue: string | undefined,
  maxCellBytes: number,
): BinaryDecoder {
  const dt = f.datatype;
  const name = f.name;
  const limit = (count: number, bytes: number, row: number): void => {
    if (count < 0)
      throw new VOTableReadError(`row ${row}, column "${name}": negative array length ${count}`, row, name);
    if (shape.maxLast !== undefined && count > shape.maxLast)
      throw new VOTableReadError(
        `row ${row}, column "${name}": ${count} items exceed arraysize "${f.arraysize}"`,
        row,
        name,
      );
    if (bytes > maxCellBytes)
      throw new VOTableReadError(
        `row ${row}, column "${name}": a ${bytes}-byte cell exceeds the limit of ${maxCellBytes} bytes`,
        row,
        name,
      );
  };
  if (dt === 'bit') {
    return {
      head: shape.variable ? 4 : Math.ceil(shape.fixedCount / 8),
      varBytes: (count) => (shape.variable ? Math.ceil((count * shape.slice) / 8) : 0),
      read(b, off, len, row) {
        let n = shape.fixedCount;
        let o = off;
        if (shape.variable) {
          n = b.readInt32BE(off) * shape.slice;
          limit(n, len, row);
          o += 4;
        }
        const out: boolean[] = [];
        for (let i = 0; i < n; i++) out.push((b[o + (i >> 3)] & (0x80 >> (i & 7))) !== 0);
        return shape.scalar ? out[0] : out;
      },
    };
  }
  const size = ITEM[dt];
  if (isCharType(dt)) {
    const unicode = dt === 'unicodeChar';
    return {
      head: shape.variable ? 4 : shape.fixedCount * size,
      varBytes: (count) => (shape.variable ? count * shape.slice * size : 0),
      read(b, off, len, row) {
        if (shape.slice > 1) {
          let o = off;
          let n = shape.fixedCount / shape.slice;
          if (shape.variable) {
            n = b.readInt32BE(off);
            o += 4;
          }
          limit(n, len, row);
          const out: string[] = [];
          for (let i = 0; i < n; i++)
            out.push(decodeChars(b, o + i * shape.slice * size, shape.slice * size, unicode, true).trimEnd());
          return out;
        }
        if (shape.variable) {
          const n = b.readInt32BE(off);
          limit(n, len, row);
          return decodeChars(b, off + 4, n * size, unicode, false);
        }
        return decodeChars(b, off, len, unicode, true);
      },
    };
  }
  const magic = nullValue === undefined ? undefined : dt === 'long' ? BigInt(nullValue) : Number(nullValue);
  const item = readItem(f, magic);
  const per = isComplexType(dt) ? 2 : 1;
  const step = size / per;
  return {
    head: shape.variable ? 4 : shape.fixedCount * size,
    varBytes: (count) => (shape.variable ? count * shape.slice * size : 0),
    read(b, off, len, row) {
      if (shape.scalar && per === 1) return item(b, off);
      let o = off;
      let n = shape.fixedCount * per;
      if (shape.variable) {
        const count = b.readInt32BE(off);
        limit(count, len, row);
        n = count * shape.slice * per;
        o += 4;
      }
      const out = new Array(n);
      for (let i = 0; i < n; i++) out[i] = item(b, o + i * step);
      return out;
    },
  };
}

export function checkedVarBytes(
  d: BinaryDecoder,
  count: number,
  f: Field,
  shape: Shape,
  row: number,
  maxCellBytes: number,
): number {
  if (count < 0)
    throw new VOTableReadError(`row ${row}, column "${f.name}": negative array length ${count}`, row, f.name);
  if (shape.maxLast !== undefined && count > shape.maxLast)
    throw new VOTableReadError(
      `row ${row}, column "${f.name}": ${count} items exceed arraysize "${f.arraysize}"`,
      row,
      f.name,
    );
  const n = d.varBytes(count);
  if (n > maxCellBytes)
    throw new VOTableReadError(
      `row ${row}, column "${f.name}": a ${n}-byte cell exceeds the limit of ${maxCellBytes} bytes`,
      row,
      f.name,
    );
  return n;
}
