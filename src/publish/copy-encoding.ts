/**
 * The PostgreSQL column type of each VOTable datatype, and the checked encoding of one
 * value into COPY's text format. Text, not binary: measured with bench/publish.ts, the
 * server parses text about as fast as binary for these types while JavaScript builds
 * strings several times faster than it fills DataViews value by value.
 */
import type { ColumnDescription, Datatype } from './description.js';

/** A value that does not fit its declared column; the loader adds the file and row. */
export class ValueError extends Error {}

const BASE_TYPES: Record<Datatype, string> = {
  boolean: 'boolean',
  bit: 'boolean',
  unsignedByte: 'smallint',
  short: 'smallint',
  int: 'integer',
  long: 'bigint',
  char: 'text',
  unicodeChar: 'text',
  float: 'real',
  double: 'double precision',
  floatComplex: 'real[]',
  doubleComplex: 'double precision[]',
};

/** True when the column holds an array of its datatype (char arrays are strings). */
export function isArrayColumn(c: Pick<ColumnDescription, 'datatype' | 'arraysize'>): boolean {
  if (c.datatype === 'char' || c.datatype === 'unicodeChar') return false;
  if (c.datatype === 'floatComplex' || c.datatype === 'doubleComplex') return true;
  return c.arraysize !== undefined && c.arraysize !== '1';
}

export function isTimestamp(c: Pick<ColumnDescription, 'xtype'>): boolean {
  const x = c.xtype?.toLowerCase();
  return x === 'timestamp' || x === 'adql:timestamp';
}

/** The PostgreSQL type of a described column; undefined for an unknown datatype. */
export function sqlTypeOf(c: ColumnDescription): string | undefined {
  const base = BASE_TYPES[c.datatype];
  if (!base) return undefined;
  if (isTimestamp(c) && (c.datatype === 'char' || c.datatype === 'unicodeChar')) return 'timestamptz';
  if (c.datatype === 'floatComplex' || c.datatype === 'doubleComplex') return base;
  return isArrayColumn(c) ? `${base}[]` : base;
}

/** Encodes one value, already checked against the column, as COPY text. */
export type Encoder = (v: unknown) => string;

const NULL = '\\N';

const INT_RANGES: Partial<Record<Datatype, readonly [number, number]>> = {
  unsignedByte: [0, 255],
  short: [-32768, 32767],
  int: [-2147483648, 2147483647],
};

/**
 * The encoder of a column: null handling (nullable false refuses nulls), then the value
 * checked against the declared datatype. Strings are accepted for numbers and booleans
 * (CSV cells a reader left as text) when they parse completely.
 */
export function encoderFor(c: ColumnDescription): Encoder {
  const scalar = scalarEncoder(c);
  const item = isArrayColumn(c) ? arrayEncoder(scalar, c) : scalar;
  const nullable = c.nullable !== false;
  return (v) => {
    if (v === null || v === undefined) {
      if (!nullable) throw new ValueError('is empty but the column is not nullable');
      return NULL;
    }
    return item(v);
  };
}

function scalarEncoder(c: ColumnDescription): Encoder {
  if (isTimestamp(c) && (c.datatype === 'char' || c.datatype === 'unicodeChar')) return encodeTimestamp;
  switch (c.datatype) {
    case 'boolean':
    case 'bit':
      return encodeBoolean;
    case 'unsignedByte':
    case 'short':
    case 'int':
      return integerEncoder(c.datatype);
    case 'long':
      return encodeLong;
    case 'float':
    case 'double':
      return encodeFloat(c.datatype);
    case 'floatComplex':
    case 'doubleComplex':
      return encodeFloat(c.datatype === 'floatComplex' ? 'float' : 'double');
    case 'char':
    case 'unicodeChar':
      return encodeText;
    default:
      return () => {
        throw new ValueError(`has the unknown datatype '${String(c.datatype)}'`);
      };
  }
}

function describe(v: unknown): string {
  const s = typeof v === 'string' ? JSON.stringify(v) : String(v);
  return s.length > 40 ? `${s.slice(0, 37)}...` : s;
}

function encodeBoolean(v: unknown): string {
  if (typeof v === 'boolean') return v ? 't' : 'f';
  if (typeof v === 'number' && (v === 0 || v === 1)) return v ? 't' : 'f';
  if (typeof v === 'string') {
    const s = v.trim().toLowerCase();
    if (s === 't' || s === 'true' || s === '1') return 't';
    if (s === 'f' || s === 'false' || s === '0') return 'f';
  }
  throw new ValueError(`value ${describe(v)} is not a boolean`);
}

function integerEncoder(d: Datatype): Encoder {
  const [lo, hi] = INT_RANGES[d] ?? [Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER];
  return (v) => {
    let n: number;
    if (typeof v === 'number') n = v;
    else if (typeof v === 'bigint') n = Number(v);
    else if (typeof v === 'string' && /^\s*[+-]?\d+\s*$/.test(v)) n = Number(v);
    else throw new ValueError(`value ${describe(v)} is not an integer (${d})`);
    if (!Number.isInteger(n)) throw new ValueError(`value ${describe(v)} is not an integer (${d})`);
    if (n < lo || n > hi) throw new ValueError(`value ${describe(v)} is out of range for ${d}`);
    return String(n);
  };
}

const LONG_MIN = -(2n ** 63n);
const LONG_MAX = 2n ** 63n - 1n;

function encodeLong(v: unknown): string {
  if (typeof v === 'bigint') {
    if (v < LONG_MIN || v > LONG_MAX) throw new ValueError(`value ${v} is out of range for long`);
    return String(v);
  }
  if (typeof v === 'number') {
    if (!Number.isSafeInteger(v)) throw new ValueError(`value ${describe(v)} is not an integer (long)`);
    return String(v);
  }
  if (typeof v === 'string' && /^\s*[+-]?\d+\s*$/.test(v)) return encodeLong(BigInt(v.trim()));
  throw new ValueError(`value ${describe(v)} is not an integer (long)`);
}

function encodeFloat(d: 'float' | 'double'): Encoder {
  return (v) => {
    let n: number;
    if (typeof v === 'number') n = v;
    else if (typeof v === 'bigint') n = Number(v);
    else if (typeof v === 'string' && v.trim() !== '') {
      n = Number(v);
      if (Number.isNaN(n) && !/^\s*nan\s*$/i.test(v))
        throw new ValueError(`value ${describe(v)} is not a number (${d})`);
    } else throw new ValueError(`value ${describe(v)} is not a number (${d})`);
    if (Number.isFinite(n)) return String(n);
    return Number.isNaN(n) ? 'NaN' : n > 0 ? 'Infinity' : '-Infinity';
  };
}

function encodeTimestamp(v: unknown): string {
  if (v instanceof Date && !Number.isNaN(v.getTime())) return v.toISOString();
  if (typeof v === 'string' && !Number.isNaN(Date.parse(v))) return escapeText(v);
  throw new ValueError(`value ${describe(v)} is not a timestamp`);
}

function encodeText(v: unknown): string {
  if (typeof v === 'string') return escapeText(v);
  if (typeof v === 'number' || typeof v === 'bigint' || typeof v === 'boolean') return String(v);
  if (Array.isArray(v)) return escapeText(v.join(''));
  throw new ValueError(`value ${describe(v)} is not text`);
}

/** COPY text escapes: backslash, tab, newline, carriage return. */
export function escapeText(s: string): string {
  if (!/[\\\t\n\r\0]/.test(s)) return s;
  return s.replace(/[\\\t\n\r\0]/g, (c) =>
    c === '\\' ? '\\\\' : c === '\t' ? '\\t' : c === '\n' ? '\\n' : c === '\r' ? '\\r' : '',
  );
}

/** A PostgreSQL array literal of the items (nulls as NULL), escaped for COPY text. */
function arrayEncoder(item: Encoder, c: ColumnDescription): Encoder {
  const fixed = c.arraysize && /^\d+$/.test(c.arraysize) ? Number(c.arraysize) : undefined;
  return (v) => {
    const items = Array.isArray(v) || ArrayBuffer.isView(v) ? Array.from(v as ArrayLike<unknown>) : [v];
    if (
      fixed !== undefined &&
      items.length !== fixed &&
      c.datatype !== 'floatComplex' &&
      c.datatype !== 'doubleComplex'
    )
      throw new ValueError(`has ${items.length} values where arraysize is ${fixed}`);
    const parts = items.map((x) => (x === null || x === undefined ? 'NULL' : item(x)));
    // Numbers and booleans need no quoting inside an array literal.
    return escapeText(`{${parts.join(',')}}`);
  };
}
