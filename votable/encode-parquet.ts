import { ByteWriter, ParquetWriter } from 'hyparquet-writer';
import { declaredArraysize, fieldShape, isCharType, isComplexType } from './arraysize.js';
import { CopyBinaryParser, type PgBinaryType } from './copy-binary.js';
import { VOTableEncodeError } from './errors.js';
import { errorMessage, type RowBatch } from './rows.js';
import type { Field, ResultDocument } from './types.js';
import { fail, isoFromMillis, toBigInt, toBoolean, toInteger, toItems, toNumber, toText } from './values.js';
import {
  coosysXml,
  escapeAttr,
  escapeText,
  fieldXml,
  groupXml,
  infoXml,
  paramXml,
  resourceXml,
  timesysXml,
  votableStart,
} from './xml.js';

/*
 * VOParquet (IVOA Note "Parquet in the VO" 1.0, 2025): an ordinary Parquet file whose footer
 * key-value metadata holds IVOA.VOTable-Parquet.version = "1.0" and
 * IVOA.VOTable-Parquet.content = a VOTable whose first TABLE describes the Parquet columns
 * (one FIELD per top-level column, in order) and has no DATA child (Note §2.2).
 *
 * Row groups are written as rows arrive (hyparquet-writer's ParquetWriter writes one group
 * per call and keeps only the footer's bookkeeping), so memory is bounded by one row group,
 * not by the result. The footer comes last, so QUERY_STATUS in it is always the true one
 * (OK, OVERFLOW, or ERROR after the rows that were written).
 */

// The writer's own hyparquet types (it may bundle a different hyparquet than the reader's).
type WriterOptions = ConstructorParameters<typeof ParquetWriter>[0];
type SchemaElement = WriterOptions['schema'][number];
type KeyValue = NonNullable<WriterOptions['kvMetadata']>[number];

export const VOPARQUET_VERSION_KEY = 'IVOA.VOTable-Parquet.version';
export const VOPARQUET_CONTENT_KEY = 'IVOA.VOTable-Parquet.content';
export const DEFAULT_PARQUET_ROW_GROUP_ROWS = 100_000;
/** A row group is also closed when its cells pass about this many bytes (long strings, big arrays). */
const ROW_GROUP_BYTES = 64 * 1024 * 1024;
const PG_EPOCH_US = 946_684_800_000_000n;
const MAX_COPY_ROW_BYTES = 256 * 1024 * 1024;

interface ColumnPlan {
  /** The column's schema elements: one, or three for a LIST (group, repeated list, element). */
  readonly schema: SchemaElement[];
  /** The FIELD written into the metadata VOTable: the datatype the Parquet column really has. */
  readonly meta: Field;
  /** A non-null row value (node-postgres mapping, README) as the Parquet value. */
  readonly value: (v: unknown) => unknown;
  /** A non-null binary COPY cell as the Parquet value. */
  readonly copy: (b: Buffer, off: number, len: number, t: PgBinaryType) => unknown;
  /** Rough bytes of a value, for the row group's byte bound. */
  readonly bytes: (v: unknown) => number;
}

type Primitive = {
  el: Omit<SchemaElement, 'name'>;
  value: (v: unknown) => unknown;
  bytes: number;
};

function primitive(f: Field, datatype: Field['datatype']): Primitive {
  const name = f.name;
  switch (datatype) {
    case 'boolean':
    case 'bit':
      return { el: { type: 'BOOLEAN' }, value: (v) => toBoolean(v, name), bytes: 1 };
    case 'unsignedByte':
      return {
        // converted_type only: hyparquet-writer 0.17 writes the INTEGER logical type's bitWidth as
        // an i32 where the format has an i8, which DuckDB's (strict) Thrift reader refuses.
        el: { type: 'INT32', converted_type: 'UINT_8' },
        value: (v) => toInteger(v, name, 'unsignedByte', 0, 255),
        bytes: 4,
      };
    case 'short':
      return {
        el: { type: 'INT32', converted_type: 'INT_16' },
        value: (v) => toInteger(v, name, 'short', -32768, 32767),
        bytes: 4,
      };
    case 'int':
      return {
        el: { type: 'INT32' },
        value: (v) => toInteger(v, name, 'int', -2147483648, 2147483647),
        bytes: 4,
      };
    case 'long':
      return { el: { type: 'INT64' }, value: (v) => toBigInt(v, name), bytes: 8 };
    case 'float':
    case 'floatComplex':
      return { el: { type: 'FLOAT' }, value: (v) => toNumber(v, name, 'float'), bytes: 4 };
    case 'double':
    case 'doubleComplex':
      return { el: { type: 'DOUBLE' }, value: (v) => toNumber(v, name, 'double'), bytes: 8 };
    default:
      throw new VOTableEncodeError(`column "${name}": no Parquet type for ${datatype}`);
  }
}

const STRING_EL: Omit<SchemaElement, 'name'> = {
  type: 'BYTE_ARRAY',
  converted_type: 'UTF8',
  logical_type: { type: 'STRING' },
};

const TIMESTAMP_TEXT = /^(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?(Z|[+-]00(?::?00)?)?$/;

/** A DALI timestamp (or a Date) as microseconds since 1970 (UTC: DALI timestamps have no zone). */
function timestampMicros(v: unknown, column: string): bigint {
  if (v instanceof Date) {
    const ms = v.getTime();
    if (Number.isNaN(ms)) fail(column, 'timestamp', v);
    return BigInt(ms) * 1000n;
  }
  if (typeof v === 'string') {
    const m = TIMESTAMP_TEXT.exec(v.trim());
    if (m) {
      const ms = Date.parse(`${m[1]}T${m[2]}Z`);
      if (!Number.isNaN(ms)) return BigInt(ms) * 1000n + BigInt((m[3] ?? '').padEnd(6, '0').slice(0, 6));
    }
  }
  return fail(column, 'timestamp', v);
}

/** How one FIELD is written: its Parquet schema, the FIELD describing it, and value mappers. */
export function parquetColumn(f: Field): ColumnPlan {
  const shape = fieldShape(f);
  const name = f.name;
  const base: Field = { ...f };
  delete base.nullValue;
  if (isCharType(f.datatype)) {
    if (f.xtype === 'timestamp' && (shape.scalar || shape.slice === 1)) {
      // Parquet's own timestamp, so DuckDB, pandas and arrow see times, not text. Microseconds,
      // not adjusted to UTC: DALI timestamps are zone-less UTC, and PostgreSQL keeps microseconds.
      const meta: Field = { ...base, datatype: 'long' };
      delete meta.arraysize;
      delete meta.xtype;
      delete meta.width;
      delete meta.precision;
      return {
        schema: [
          {
            name,
            type: 'INT64',
            repetition_type: 'OPTIONAL',
            logical_type: { type: 'TIMESTAMP', isAdjustedToUTC: false, unit: 'MICROS' },
          },
        ],
        meta,
        value: (v) => timestampMicros(v, name),
        copy: (b, off, len, t) =>
          t === 'timestamp'
            ? b.readBigInt64BE(off) + PG_EPOCH_US
            : timestampMicros(b.toString('utf8', off, off + len), name),
        bytes: () => 8,
      };
    }
    const fromCopy = (b: Buffer, off: number, len: number, t: PgBinaryType): string =>
      t === 'timestamp'
        ? isoFromMillis(Math.floor(Number(b.readBigInt64BE(off) + PG_EPOCH_US) / 1000))
        : b.toString('utf8', off, off + len);
    if (shape.scalar || shape.slice === 1) {
      // One string per cell; a declared n* is written * as everywhere else (arraysize.ts).
      const meta: Field = { ...base };
      const a = declaredArraysize(f);
      if (a === undefined) delete meta.arraysize;
      else meta.arraysize = a;
      return {
        schema: [{ name, ...STRING_EL, repetition_type: 'OPTIONAL' }],
        meta,
        value: (v) => toText(v, name),
        copy: fromCopy,
        bytes: (v) => 4 + (v as string).length,
      };
    }
    // Multi-dimensional char (10x*): a list of fixed-width strings, as the row path takes them.
    const width = shape.slice;
    return {
      schema: listSchema(name, { ...STRING_EL }),
      meta: base,
      value: (v) => {
        if (Array.isArray(v)) return v.map((s) => toText(s, name));
        const t = toText(v, name);
        const out: string[] = [];
        for (let i = 0; i < t.length; i += width) out.push(t.slice(i, i + width));
        return out;
      },
      copy: (b, off, len) => {
        const t = b.toString('utf8', off, off + len);
        const out: string[] = [];
        for (let i = 0; i < t.length; i += width) out.push(t.slice(i, i + width));
        return out;
      },
      bytes: (v) => 4 + (v as string[]).length * (width + 4),
    };
  }
  const p = primitive(f, f.datatype);
  const complex = isComplexType(f.datatype);
  if (shape.scalar && !complex) {
    return {
      schema: [{ name, ...p.el, repetition_type: 'OPTIONAL' }],
      meta: base,
      value: p.value,
      copy: scalarFromCopy(f),
      bytes: () => p.bytes,
    };
  }
  // Arrays (and complex numbers, as [re, im] pairs): a LIST of the item type, flattened with
  // the first dimension fastest, as BINARY2 and FITS write them. Null items of float arrays are
  // NaN, as in BINARY2; the FIELD keeps its arraysize, so readers can reshape.
  const meta: Field = { ...base };
  if (complex) {
    meta.datatype = f.datatype === 'floatComplex' ? 'float' : 'double';
    meta.arraysize = shape.scalar ? '2' : `2x${f.arraysize}`;
  }
  const item = p.value;
  return {
    schema: listSchema(name, p.el),
    meta,
    value: (v) => {
      const items = toItems(v, name);
      const out = new Array(items.length);
      for (let i = 0; i < items.length; i++) {
        const x = items[i];
        out[i] = x === null || x === undefined ? nullItem(f) : item(x);
      }
      if (!shape.variable && !complex && out.length !== shape.fixedCount)
        throw new VOTableEncodeError(
          `column "${name}": arraysize ${f.arraysize} needs ${shape.fixedCount} items, got ${out.length}`,
        );
      return out;
    },
    copy: arrayFromCopy(f),
    bytes: (v) => 4 + (v as unknown[]).length * p.bytes,
  };
}

function nullItem(f: Field): unknown {
  if (f.datatype === 'float' || f.datatype === 'double' || isComplexType(f.datatype)) return Number.NaN;
  throw new VOTableEncodeError(`column "${f.name}": a null element in an integer array`);
}

function listSchema(name: string, el: Omit<SchemaElement, 'name'>): SchemaElement[] {
  // The three-level LIST of the Parquet format's LogicalTypes.md; required elements.
  return [
    {
      name,
      repetition_type: 'OPTIONAL',
      converted_type: 'LIST',
      logical_type: { type: 'LIST' },
      num_children: 1,
    },
    { name: 'list', repetition_type: 'REPEATED', num_children: 1 },
    { name: 'element', ...el, repetition_type: 'REQUIRED' },
  ];
}

function scalarFromCopy(f: Field): ColumnPlan['copy'] {
  switch (f.datatype) {
    case 'boolean':
    case 'bit':
      return (b, off) => b[off] !== 0;
    case 'short':
      return (b, off) => b.readInt16BE(off);
    case 'int':
      return (b, off) => b.readInt32BE(off);
    case 'long':
      return (b, off) => b.readBigInt64BE(off);
    case 'float':
      return (b, off) => b.readFloatBE(off);
    case 'double':
      return (b, off) => b.readDoubleBE(off);
    default:
      return () => {
        throw new VOTableEncodeError(`column "${f.name}": no COPY transcoding to Parquet for ${f.datatype}`);
      };
  }
}

const ITEM_READ: Record<string, (b: Buffer, off: number) => unknown> = {
  'int2[]': (b, o) => b.readInt16BE(o),
  'int4[]': (b, o) => b.readInt32BE(o),
  'int8[]': (b, o) => b.readBigInt64BE(o),
  'float4[]': (b, o) => b.readFloatBE(o),
  'float8[]': (b, o) => b.readDoubleBE(o),
};

/** A one-dimensional PostgreSQL array (ndim, hasnull, elemtype, [dim, lbound], then len+bytes per item). */
function arrayFromCopy(f: Field): ColumnPlan['copy'] {
  const name = f.name;
  return (b, off, _len, t) => {
    const read = ITEM_READ[t];
    if (!read) throw new VOTableEncodeError(`column "${name}": a PostgreSQL ${t} is not an array`);
    const ndim = b.readInt32BE(off);
    if (ndim > 1)
      throw new VOTableEncodeError(`column "${name}": ${ndim}-dimensional arrays are not transcoded`);
    const count = ndim === 0 ? 0 : b.readInt32BE(off + 12);
    const out = new Array(count);
    let p = off + 20;
    for (let i = 0; i < count; i++) {
      const n = b.readInt32BE(p);
      p += 4;
      if (n < 0) out[i] = nullItem(f);
      else {
        out[i] = read(b, p);
        p += n;
      }
    }
    return out;
  };
}

/** The data-less VOTable of the footer (Note §2.2): the results RESOURCE, TABLE without DATA. */
export function parquetMetadataVOTable(
  doc: ResultDocument,
  fields: readonly Field[],
  status: { value: string; content?: string },
): string {
  let s = votableStart(doc.version);
  s += '<RESOURCE type="results">\n';
  s += infoXml({ name: 'QUERY_STATUS', ...status }, '  ');
  for (const i of doc.infos ?? []) s += infoXml(i, '  ');
  for (const c of doc.coosys ?? []) s += coosysXml(c, '  ');
  for (const t of doc.timesys ?? []) s += timesysXml(t, '  ');
  for (const p of doc.resourceParams ?? []) s += paramXml(p, '  ');
  s += `  <TABLE${doc.tableName ? ` name="${escapeAttr(doc.tableName)}"` : ''}>\n`;
  if (doc.description) s += `    <DESCRIPTION>${escapeText(doc.description)}</DESCRIPTION>\n`;
  for (const f of fields) s += fieldXml(f, false, '    ');
  for (const p of doc.params ?? []) s += paramXml(p, '    ');
  for (const g of doc.groups ?? []) s += groupXml(g, '    ');
  s += '  </TABLE>\n</RESOURCE>\n';
  for (const r of doc.extraResources ?? []) s += resourceXml(r);
  return `${s}</VOTABLE>\n`;
}

/** hyparquet-writer's ByteWriter whose bytes are handed out after each row group. */
class ChunkWriter extends ByteWriter {
  readonly out: Buffer[] = [];
  flush(): void {
    this.take();
  }
  take(): void {
    if (this.index === 0) return;
    // A copy: the writer reuses its buffer for the next group.
    this.out.push(Buffer.from(new Uint8Array(this.buffer, 0, this.index)));
    this.index = 0;
  }
}

export interface ParquetEncodeOptions {
  /** Rows per row group (default 100,000); a group also closes at about 64 MiB of cells. */
  rowGroupRows?: number;
}

export async function* encodeParquet(
  doc: ResultDocument,
  batches: AsyncIterable<RowBatch>,
  options: ParquetEncodeOptions = {},
): AsyncGenerator<Buffer> {
  if (doc.fields.length === 0) throw new VOTableEncodeError('a TABLE needs at least one FIELD (VOT-4)');
  const groupRows = Math.max(1, Math.floor(options.rowGroupRows ?? DEFAULT_PARQUET_ROW_GROUP_ROWS));
  const plans = doc.fields.map(parquetColumn);
  // Parquet column names must be unique for readers that address columns by name.
  const names = uniqueNames(doc.fields.map((f) => f.name));
  for (const [i, p] of plans.entries()) p.schema[0].name = names[i];
  const schema: SchemaElement[] = [
    { name: 'schema', num_children: plans.length },
    ...plans.flatMap((p) => p.schema),
  ];
  const kv: KeyValue[] = [{ key: VOPARQUET_VERSION_KEY, value: '1.0' }];
  const writer = new ChunkWriter(1 << 20);
  const pq = new ParquetWriter({
    writer,
    schema,
    codec: 'SNAPPY',
    // Min/max per column chunk cost more than the writing; readers do not need them here.
    statistics: false,
    kvMetadata: kv,
    createdBy: 'vonode',
  });
  const n = plans.length;
  let cols: unknown[][] = plans.map(() => []);
  let rows = 0;
  let bytes = 0;
  const flush = () => {
    if (rows === 0) return;
    pq.write({
      columnData: cols.map((data, i) => ({ name: names[i], data })),
      rowGroupSize: rows,
    });
    cols = plans.map(() => []);
    rows = 0;
    bytes = 0;
  };
  const drain = function* () {
    writer.take();
    while (writer.out.length) yield writer.out.shift() as Buffer;
  };
  let status: { value: string; content?: string } = { value: doc.leadingStatus ?? 'OK' };
  try {
    if (doc.copy) {
      if (doc.copy.format !== 'binary')
        throw new VOTableEncodeError(`a ${doc.copy.format} COPY stream cannot be transcoded to Parquet`);
      const types = doc.copy.types as PgBinaryType[];
      const parser = new CopyBinaryParser(n, MAX_COPY_ROW_BYTES);
      const max = doc.copy.maxRecords ?? Number.POSITIVE_INFINITY;
      let written = 0;
      let overflow = false;
      let failure: unknown;
      const { starts, lens } = parser;
      const copiers = plans.map((p) => p.copy);
      const sizes = plans.map((p) => p.bytes);
      for await (const chunk of doc.copy.stream) {
        parser.feed(chunk, (b) => {
          if (written >= max) {
            overflow = true;
            return false;
          }
          try {
            for (let i = 0; i < n; i++) {
              const len = lens[i];
              if (len < 0) cols[i].push(null);
              else {
                const v = copiers[i](b, starts[i], len, types[i]);
                cols[i].push(v);
                bytes += sizes[i](v);
              }
            }
          } catch (err) {
            // The row is dropped whole: columns must stay the same length.
            for (let i = 0; i < n; i++) cols[i].length = rows;
            failure = err;
            return false;
          }
          rows++;
          written++;
          if (rows >= groupRows || bytes >= ROW_GROUP_BYTES) flush();
          return true;
        });
        if (failure !== undefined) throw failure;
        yield* drain();
        if (overflow) break;
      }
      if (!overflow && written < max && !parser.done && !parser.stopped)
        throw new VOTableEncodeError('the COPY stream ended before its trailer (truncated)');
      if (overflow) status = { value: 'OVERFLOW' };
    } else {
      const values = plans.map((p) => p.value);
      const sizes = plans.map((p) => p.bytes);
      for await (const batch of batches) {
        for (const r of batch) {
          if (r.length !== n) throw new VOTableEncodeError(`row has ${r.length} values for ${n} FIELDs`);
          try {
            for (let i = 0; i < n; i++) {
              const v = r[i];
              if (v === null || v === undefined) cols[i].push(null);
              else {
                const x = values[i](v);
                cols[i].push(x);
                bytes += sizes[i](x);
              }
            }
          } catch (err) {
            for (let i = 0; i < n; i++) cols[i].length = rows;
            throw err;
          }
          rows++;
          if (rows >= groupRows || bytes >= ROW_GROUP_BYTES) flush();
        }
        yield* drain();
      }
      if (doc.trailingStatus?.() === 'OVERFLOW') status = { value: 'OVERFLOW' };
    }
    flush();
  } catch (err) {
    // The rows before the failure stay in the file; the footer says ERROR (as DALI-46 does
    // for VOTable), so a reader of the metadata learns the result is incomplete.
    status = { value: 'ERROR', content: errorMessage(err) };
    try {
      flush();
    } catch {
      // the partial group could not be written: the file ends with the groups before it
    }
  } finally {
    if (doc.copy) {
      // A consumer that stops early (client gone) must still close the COPY stream.
      const it = doc.copy.stream as AsyncIterable<Buffer> & { return?: () => unknown };
      await it.return?.();
    }
  }
  kv.push({
    key: VOPARQUET_CONTENT_KEY,
    value: parquetMetadataVOTable(
      doc,
      plans.map((p) => p.meta),
      status,
    ),
  });
  pq.finish();
  yield* drain();
}

function uniqueNames(names: string[]): string[] {
  const seen = new Set<string>();
  return names.map((nm) => {
    let out = nm;
    for (let k = 2; seen.has(out); k++) out = `${nm}_${k}`;
    seen.add(out);
    return out;
  });
}
