import { declaredArraysize, fieldShape, isCharType, isComplexType } from './arraysize.js';
import type { PgBinaryType } from './copy-binary.js';
import { VOTableEncodeError } from './errors.js';
import { ByteSink } from './sink.js';
import type { Datatype, Field } from './types.js';
import { fail, isoFromMillis, toBigInt, toBoolean, toInteger, toItems, toNumber, toText } from './values.js';

/*
 * How each FIELD becomes a Parquet column (VOParquet Note §2.3: one top-level column per
 * FIELD, whose FIELD describes the Parquet type it really has), and the cell writers that
 * append values in Parquet's PLAIN encoding (little-endian) straight from PostgreSQL's binary
 * COPY bytes (big-endian) or from JavaScript row values.
 */

/** Parquet physical types (parquet.thrift Type). */
export enum Physical {
  BOOLEAN = 0,
  INT32 = 1,
  INT64 = 2,
  FLOAT = 4,
  DOUBLE = 5,
  BYTE_ARRAY = 6,
}

/** parquet.thrift ConvertedType values used here. */
export const CONVERTED = { UTF8: 0, LIST: 3, UINT_8: 11, INT_16: 16 } as const;

export type Logical =
  | { kind: 'string' }
  | { kind: 'list' }
  | { kind: 'timestamp-micros' }
  | { kind: 'integer'; bitWidth: number; signed: boolean };

export interface SchemaNode {
  name: string;
  type?: Physical;
  /** 0 REQUIRED, 1 OPTIONAL, 2 REPEATED; undefined for the root. */
  repetition?: 0 | 1 | 2;
  numChildren?: number;
  converted?: number;
  logical?: Logical;
}

/** Levels (one byte each) of one column chunk, bit-packed when the chunk is written. */
export class Levels {
  buf = new Uint8Array(1024);
  n = 0;
  push(v: number): void {
    if (this.n === this.buf.length) {
      const next = new Uint8Array(this.buf.length * 2);
      next.set(this.buf);
      this.buf = next;
    }
    this.buf[this.n++] = v;
  }
}

/** The cells of one column in the row group being built. */
export class ColumnBuffer {
  readonly values = new ByteSink(64 * 1024);
  readonly defs = new Levels();
  readonly reps: Levels | undefined;
  /** Boolean values, one byte each, bit-packed when written (PLAIN booleans are bits). */
  readonly bools: Levels | undefined;
  constructor(list: boolean, boolean: boolean) {
    this.reps = list ? new Levels() : undefined;
    this.bools = boolean ? new Levels() : undefined;
  }
  pushNull(): void {
    this.defs.push(0);
    this.reps?.push(0);
  }
  reset(): void {
    this.values.pos = 0;
    this.defs.n = 0;
    if (this.reps) this.reps.n = 0;
    if (this.bools) this.bools.n = 0;
  }
}

type CopyWriter = (c: ColumnBuffer, b: Buffer, off: number, len: number) => void;
type ValueWriter = (c: ColumnBuffer, v: unknown) => void;

export interface ColumnPlan {
  /** Schema nodes: one, or three for a LIST (group, repeated `list`, required `element`). */
  readonly schema: SchemaNode[];
  readonly path: string[];
  readonly leaf: Physical;
  readonly list: boolean;
  /** The FIELD written into the metadata VOTable: the datatype the Parquet column really has. */
  readonly meta: Field;
  /** Appends a non-null JavaScript value (README's node-postgres mapping). */
  readonly value: ValueWriter;
  /** The writer of non-null binary COPY cells of this PostgreSQL type. */
  readonly copy: (t: PgBinaryType) => CopyWriter;
}

const PG_EPOCH_US = 946_684_800_000_000;
const TWO32 = 4294967296;

/** Writes one item (scalar or array element) from a JS value, PLAIN little-endian. */
function itemWriter(
  f: Field,
  d: Datatype,
): { leaf: Physical; node: Partial<SchemaNode>; write: ValueWriter } {
  const name = f.name;
  switch (d) {
    case 'boolean':
    case 'bit':
      return {
        leaf: Physical.BOOLEAN,
        node: {},
        write: (c, v) => c.bools!.push(toBoolean(v, name) ? 1 : 0),
      };
    case 'unsignedByte':
      return {
        leaf: Physical.INT32,
        node: { converted: CONVERTED.UINT_8, logical: { kind: 'integer', bitWidth: 8, signed: false } },
        write: (c, v) => put32(c.values, toInteger(v, name, 'unsignedByte', 0, 255)),
      };
    case 'short':
      return {
        leaf: Physical.INT32,
        node: { converted: CONVERTED.INT_16, logical: { kind: 'integer', bitWidth: 16, signed: true } },
        write: (c, v) => put32(c.values, toInteger(v, name, 'short', -32768, 32767)),
      };
    case 'int':
      return {
        leaf: Physical.INT32,
        node: {},
        write: (c, v) => put32(c.values, toInteger(v, name, 'int', -2147483648, 2147483647)),
      };
    case 'long':
      return {
        leaf: Physical.INT64,
        node: {},
        write: (c, v) => {
          const s = c.values;
          s.ensure(8);
          s.dv.setBigInt64(s.pos, toBigInt(v, name), true);
          s.pos += 8;
        },
      };
    case 'float':
    case 'floatComplex':
      return {
        leaf: Physical.FLOAT,
        node: {},
        write: (c, v) => {
          const s = c.values;
          s.ensure(4);
          s.dv.setFloat32(s.pos, toNumber(v, name, 'float'), true);
          s.pos += 4;
        },
      };
    case 'double':
    case 'doubleComplex':
      return {
        leaf: Physical.DOUBLE,
        node: {},
        write: (c, v) => {
          const s = c.values;
          s.ensure(8);
          s.dv.setFloat64(s.pos, toNumber(v, name, 'double'), true);
          s.pos += 8;
        },
      };
    default:
      throw new VOTableEncodeError(`column "${name}": no Parquet type for ${d}`);
  }
}

function put32(s: ByteSink, v: number): void {
  s.ensure(4);
  s.dv.setInt32(s.pos, v, true);
  s.pos += 4;
}

function putString(s: ByteSink, text: string): void {
  s.ensure(4 + text.length * 3);
  const n = s.buf.write(text, s.pos + 4, 'utf8');
  s.dv.setUint32(s.pos, n, true);
  s.pos += 4 + n;
}

/** Microseconds since 1970 as INT64 little-endian; exact within ±285 years of 1970. */
function putMicros(s: ByteSink, us: number): void {
  s.ensure(8);
  const hi = Math.floor(us / TWO32);
  s.dv.setUint32(s.pos, us - hi * TWO32, true);
  s.dv.setInt32(s.pos + 4, hi, true);
  s.pos += 8;
}

const TIMESTAMP_TEXT = /^(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?(Z|[+-]00(?::?00)?)?$/;

/** A DALI timestamp (zone-less UTC) or a Date, as microseconds since 1970. */
function timestampMicros(v: unknown, column: string): number {
  if (v instanceof Date) {
    const ms = v.getTime();
    if (Number.isNaN(ms)) fail(column, 'timestamp', v);
    return ms * 1000;
  }
  if (typeof v === 'string') {
    const m = TIMESTAMP_TEXT.exec(v.trim());
    if (m) {
      const ms = Date.parse(`${m[1]}T${m[2]}Z`);
      if (!Number.isNaN(ms)) return ms * 1000 + Number((m[3] ?? '').padEnd(6, '0').slice(0, 6));
    }
  }
  return fail(column, 'timestamp', v);
}

/** PostgreSQL's binary timestamp: int64 microseconds since 2000-01-01. */
function pgMicros(b: Buffer, off: number): number {
  return b.readInt32BE(off) * TWO32 + b.readUInt32BE(off + 4) + PG_EPOCH_US;
}

/** Reverses 2^k big-endian bytes into the sink (COPY integers and floats to Parquet's little-endian). */
function swapInto(s: ByteSink, b: Buffer, off: number, n: 4 | 8): void {
  s.ensure(n);
  const o = s.buf;
  const p = s.pos;
  if (n === 4) {
    o[p] = b[off + 3];
    o[p + 1] = b[off + 2];
    o[p + 2] = b[off + 1];
    o[p + 3] = b[off];
  } else {
    o[p] = b[off + 7];
    o[p + 1] = b[off + 6];
    o[p + 2] = b[off + 5];
    o[p + 3] = b[off + 4];
    o[p + 4] = b[off + 3];
    o[p + 5] = b[off + 2];
    o[p + 6] = b[off + 1];
    o[p + 7] = b[off];
  }
  s.pos = p + n;
}

/** A COPY scalar (int2/int4/int8/float4/float8/bool) as one PLAIN item. */
function copyItem(leaf: Physical, t: string): (c: ColumnBuffer, b: Buffer, off: number) => void {
  if (t === 'bool' || t === 'bool[]') return (c, b, off) => c.bools!.push(b[off] ? 1 : 0);
  if (t === 'int2' || t === 'int2[]') return (c, b, off) => put32(c.values, b.readInt16BE(off));
  if (leaf === Physical.INT32 || leaf === Physical.FLOAT) return (c, b, off) => swapInto(c.values, b, off, 4);
  return (c, b, off) => swapInto(c.values, b, off, 8);
}

const STRING_NODE: Partial<SchemaNode> = {
  type: Physical.BYTE_ARRAY,
  converted: CONVERTED.UTF8,
  logical: { kind: 'string' },
};

function listNodes(name: string, leaf: Partial<SchemaNode>): SchemaNode[] {
  // The three-level LIST of parquet-format's LogicalTypes.md, with required elements.
  return [
    { name, repetition: 1, numChildren: 1, converted: CONVERTED.LIST, logical: { kind: 'list' } },
    { name: 'list', repetition: 2, numChildren: 1 },
    { name: 'element', repetition: 0, ...leaf },
  ];
}

/** Appends a list cell: levels for an empty list, or one (rep, def=2) pair per item. */
function listLevels(c: ColumnBuffer, count: number): void {
  if (count === 0) {
    c.reps!.push(0);
    c.defs.push(1);
    return;
  }
  c.reps!.push(0);
  c.defs.push(2);
  for (let i = 1; i < count; i++) {
    c.reps!.push(1);
    c.defs.push(2);
  }
}

/** How one FIELD is written. `name` is its (unique) Parquet column name. */
export function parquetColumn(f: Field, name: string): ColumnPlan {
  const shape = fieldShape(f);
  const base: Field = { ...f };
  delete base.nullValue;
  if (isCharType(f.datatype)) {
    if (f.xtype === 'timestamp' && shape.slice === 1) {
      // Parquet's own timestamp, so DuckDB, pandas and arrow see times, not text: microseconds
      // (PostgreSQL's precision), not adjusted to UTC (DALI timestamps carry no zone). The
      // FIELD says long, the physical type, as the Note asks; the logical type says time.
      const meta: Field = { ...base, datatype: 'long' };
      for (const k of ['arraysize', 'xtype', 'width', 'precision'] as const) delete meta[k];
      return {
        schema: [{ name, type: Physical.INT64, repetition: 1, logical: { kind: 'timestamp-micros' } }],
        path: [name],
        leaf: Physical.INT64,
        list: false,
        meta,
        value: (c, v) => {
          c.defs.push(1);
          putMicros(c.values, timestampMicros(v, f.name));
        },
        copy: (t) =>
          t === 'timestamp'
            ? (c, b, off) => {
                c.defs.push(1);
                putMicros(c.values, pgMicros(b, off));
              }
            : (c, b, off, len) => {
                c.defs.push(1);
                putMicros(c.values, timestampMicros(b.toString('utf8', off, off + len), f.name));
              },
      };
    }
    if (shape.scalar || shape.slice === 1) {
      // One UTF-8 string per cell (non-ASCII kept: Parquet strings are UTF-8); a declared n*
      // is written * as in every other output (arraysize.ts).
      const meta: Field = { ...base };
      const a = declaredArraysize(f);
      if (a === undefined) delete meta.arraysize;
      else meta.arraysize = a;
      return {
        schema: [{ name, repetition: 1, ...STRING_NODE }],
        path: [name],
        leaf: Physical.BYTE_ARRAY,
        list: false,
        meta,
        value: (c, v) => {
          c.defs.push(1);
          putString(c.values, toText(v, f.name));
        },
        copy: (t) =>
          t === 'timestamp'
            ? (c, b, off) => {
                c.defs.push(1);
                putString(c.values, isoFromMillis(Math.floor(pgMicros(b, off) / 1000)));
              }
            : (c, b, off, len) => {
                // PostgreSQL's text is UTF-8 already: copied as it is.
                c.defs.push(1);
                const s = c.values;
                s.ensure(4 + len);
                s.dv.setUint32(s.pos, len, true);
                b.copy(s.buf, s.pos + 4, off, off + len);
                s.pos += 4 + len;
              },
      };
    }
    // Multi-dimensional char (10x*): a list of fixed-width strings.
    const width = shape.slice;
    const pieces = (t: string) => {
      const out: string[] = [];
      for (let i = 0; i < t.length; i += width) out.push(t.slice(i, i + width));
      return out;
    };
    const put = (c: ColumnBuffer, items: string[]) => {
      listLevels(c, items.length);
      for (const s of items) putString(c.values, s);
    };
    return {
      schema: listNodes(name, STRING_NODE),
      path: [name, 'list', 'element'],
      leaf: Physical.BYTE_ARRAY,
      list: true,
      meta: base,
      value: (c, v) => put(c, Array.isArray(v) ? v.map((s) => toText(s, f.name)) : pieces(toText(v, f.name))),
      copy: () => (c, b, off, len) => put(c, pieces(b.toString('utf8', off, off + len))),
    };
  }
  const item = itemWriter(f, f.datatype);
  const complex = isComplexType(f.datatype);
  const node = { type: item.leaf, ...item.node };
  if (shape.scalar && !complex) {
    return {
      schema: [{ name, repetition: 1, ...node }],
      path: [name],
      leaf: item.leaf,
      list: false,
      meta: base,
      value: (c, v) => {
        c.defs.push(1);
        item.write(c, v);
      },
      copy: (t) => {
        const w = copyItem(item.leaf, t);
        return (c, b, off) => {
          c.defs.push(1);
          w(c, b, off);
        };
      },
    };
  }
  // Arrays, and complex numbers as [re, im]: a LIST of the item type, flattened with the first
  // dimension fastest as BINARY2 and FITS write them; the FIELD keeps its arraysize so readers
  // can reshape. Null items of float arrays are NaN, as in BINARY2.
  const meta: Field = { ...base };
  if (complex) {
    meta.datatype = f.datatype === 'floatComplex' ? 'float' : 'double';
    meta.arraysize = shape.scalar ? '2' : `2x${f.arraysize}`;
  }
  const floating = item.leaf === Physical.FLOAT || item.leaf === Physical.DOUBLE;
  const nan = () => {
    if (!floating) throw new VOTableEncodeError(`column "${f.name}": a null element in an integer array`);
    return Number.NaN;
  };
  return {
    schema: listNodes(name, node),
    path: [name, 'list', 'element'],
    leaf: item.leaf,
    list: true,
    meta,
    value: (c, v) => {
      const items = toItems(v, f.name);
      if (!shape.variable && !complex && items.length !== shape.fixedCount)
        throw new VOTableEncodeError(
          `column "${f.name}": arraysize ${f.arraysize} needs ${shape.fixedCount} items, got ${items.length}`,
        );
      listLevels(c, items.length);
      for (const x of items) item.write(c, x === null || x === undefined ? nan() : x);
    },
    copy: (t) => {
      const w = copyItem(item.leaf, t);
      return (c, b, off) => {
        // One-dimensional PostgreSQL array: ndim, hasnull, elemtype, [dim, lbound], (len, bytes)*.
        const ndim = b.readInt32BE(off);
        if (ndim > 1)
          throw new VOTableEncodeError(`column "${f.name}": ${ndim}-dimensional arrays are not transcoded`);
        const count = ndim === 0 ? 0 : b.readInt32BE(off + 12);
        listLevels(c, count);
        let p = off + 20;
        for (let i = 0; i < count; i++) {
          const n = b.readInt32BE(p);
          p += 4;
          if (n < 0) item.write(c, nan());
          else {
            w(c, b, p);
            p += n;
          }
        }
      };
    },
  };
}
