import { VOTableEncodeError } from './errors.js';
import type { Datatype, Field } from './types.js';

/** Byte size of one item in BINARY (VOT-17); bit is handled apart. */
export const ITEM_BYTES: Record<Datatype, number> = {
  boolean: 1,
  bit: 0,
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

/**
 * The shape of a column. `slice` is the number of items in all but the last dimension; for a
 * variable array the BINARY count is the number of slices (VOT-36, the STIL reading), so a
 * `10x*` char column is a list of 10-character strings.
 */
export interface Shape {
  scalar: boolean;
  variable: boolean;
  /** Upper bound of the last dimension for `n*`, else undefined. */
  maxLast?: number;
  /** Items per cell for fixed shapes. */
  fixedCount: number;
  /** Items per slice of the last dimension. */
  slice: number;
  dims: number[];
}

const ARRAYSIZE = /^([0-9]+x)*([0-9]+|[0-9]*\*)$/;

export function parseArraysize(arraysize: string | undefined, where = 'arraysize'): Shape {
  if (arraysize === undefined || arraysize === '') {
    return { scalar: true, variable: false, fixedCount: 1, slice: 1, dims: [] };
  }
  const a = arraysize.trim();
  if (!ARRAYSIZE.test(a)) throw new VOTableEncodeError(`${where} "${arraysize}" is not a VOTable arraysize`);
  const parts = a.split('x');
  const last = parts[parts.length - 1];
  const variable = last.endsWith('*');
  const fixedDims = parts.slice(0, -1).map(Number);
  const slice = fixedDims.reduce((p, d) => p * d, 1);
  if (variable) {
    const n = last.slice(0, -1);
    return {
      scalar: false,
      variable: true,
      maxLast: n === '' ? undefined : Number(n),
      fixedCount: 0,
      slice,
      dims: [...fixedDims, -1],
    };
  }
  const lastN = Number(last);
  return { scalar: false, variable: false, fixedCount: slice * lastN, slice, dims: [...fixedDims, lastN] };
}

export function isCharType(d: Datatype): boolean {
  return d === 'char' || d === 'unicodeChar';
}

export function isIntegerType(d: Datatype): boolean {
  return d === 'unsignedByte' || d === 'short' || d === 'int' || d === 'long';
}

export function isComplexType(d: Datatype): boolean {
  return d === 'floatComplex' || d === 'doubleComplex';
}

/** Default magic nulls for BINARY, where integers have no other null (VOT-28/32). */
export const DEFAULT_INTEGER_NULL: Record<string, string> = {
  unsignedByte: '255',
  short: '-32768',
  int: '-2147483648',
  long: '-9223372036854775808',
};

/**
 * The arraysize a FIELD or PARAM is declared with in a VOTable document. A one-dimensional
 * bounded variable string (char or unicodeChar `n*`, e.g. Felis strings with a length) is
 * declared `*`. Both mean the same cell bytes in BINARY/BINARY2, a count then the characters
 * (VOT-36), and the same TABLEDATA text; `n` only adds an upper bound (VOT-19). But astropy
 * before 7.1 (Debian's 5.2 under pyvo 1.2) reads char `n*` as a fixed n-byte string, so in
 * BINARY/BINARY2 it swallows the count and following cells and reads 0 rows or fails with
 * UnicodeDecodeError (astropy issue 18099, fixed by pull 18105), and it refuses unicodeChar `n*`
 * in every serialisation (E01 "Invalid size specifier", fixed by pull 18075). STIL reads both
 * forms alike. The bound is still enforced by the writers, and TAP_SCHEMA and VOSI tables keep
 * the declared `n*`. Multi-dimensional and numeric arrays are written as given.
 */
export function declaredArraysize(f: Field): string | undefined {
  const a = f.arraysize;
  if (a === undefined || !isCharType(f.datatype)) return a;
  return /^\s*[0-9]+\*\s*$/.test(a) ? '*' : a;
}

export function fieldShape(f: Field): Shape {
  return parseArraysize(f.arraysize, `FIELD "${f.name}" arraysize`);
}
