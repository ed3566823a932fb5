/**
 * Parquet data files through hyparquet: the footer gives the schema, then one row group at
 * a time is read as columns (hyparquet's onChunk) and handed out as rows in batches, so
 * memory is bounded by the largest row group, not the file.
 *
 * Types (physical + logical -> VOTable): BOOLEAN boolean; INT32 int (INT(8) and INT(16)
 * short, UINT(8) unsignedByte, UINT(16) int, UINT(32) long); INT64 long; FLOAT float;
 * DOUBLE double; DECIMAL double; STRING/ENUM/JSON/UUID char; DATE, TIMESTAMP, INT96 char with
 * xtype timestamp (DALI text, UTC); other byte arrays char as hex; LIST of a primitive an
 * array (arraysize *). Nested structures and maps are refused, naming the column.
 *
 * A VOParquet file (IVOA Note "Parquet in the VO" 1.0) carries a data-less VOTable in its
 * footer (key IVOA.VOTable-Parquet.content): when its first TABLE has one FIELD per column,
 * the FIELDs give the columns' names, units, UCDs, utypes, descriptions, and xtypes where
 * the datatype agrees, and the TABLE its name and description. The Parquet types stay
 * authoritative (Note §2.3); a VOTable that cannot be read or does not match is ignored.
 */
import {
  type AsyncBuffer,
  asyncBufferFromFile,
  type FileMetaData,
  parquetMetadataAsync,
  parquetRead,
  parquetSchema,
  type SchemaTree,
} from 'hyparquet';
import { type Datatype, type ReadField, readVOTable, VOPARQUET_CONTENT_KEY } from '../../../votable/index.js';
import { DataFileError, type DataSource, type SourceBatch, type SourceColumn } from '../source.js';

export interface ParquetReadOptions {
  /** Rows per batch (default 10,000). */
  batchRows?: number;
}

type Fix = ((v: unknown) => unknown) | undefined;

const pad2 = (n: number) => (n < 10 ? `0${n}` : String(n));

/** DALI timestamp text (UTC, no zone letter). */
function daliTimestamp(ms: number): string {
  const d = new Date(ms);
  if (Number.isNaN(d.getTime())) return 'invalid';
  return d.toISOString().slice(0, 23);
}

const PARSERS = {
  timestampFromMilliseconds: (v: bigint) => daliTimestamp(Number(v)),
  timestampFromMicroseconds: (v: bigint) => daliTimestamp(Number(v / 1000n)),
  timestampFromNanoseconds: (v: bigint) => daliTimestamp(Number(v / 1000000n)),
  dateFromDays: (days: number) => {
    const d = new Date(days * 86_400_000);
    return `${d.getUTCFullYear()}-${pad2(d.getUTCMonth() + 1)}-${pad2(d.getUTCDate())}`;
  },
  jsonFromBytes: (b: Uint8Array | undefined) => (b ? Buffer.from(b).toString('utf8') : b),
};

function hex(v: unknown): unknown {
  return v instanceof Uint8Array ? Buffer.from(v).toString('hex') : v;
}

/** VOTable type of a primitive leaf, and how to fix each value hyparquet gives. */
function leafType(
  e: SchemaTree['element'],
  name: string,
  path: string,
): { datatype: Datatype; xtype?: string; fix: Fix } {
  const ct = e.converted_type;
  const lt = e.logical_type;
  if (ct === 'DECIMAL' || lt?.type === 'DECIMAL') return { datatype: 'double', fix: undefined };
  if (
    ct === 'DATE' ||
    lt?.type === 'DATE' ||
    ct === 'TIMESTAMP_MILLIS' ||
    ct === 'TIMESTAMP_MICROS' ||
    lt?.type === 'TIMESTAMP' ||
    e.type === 'INT96'
  )
    return { datatype: 'char', xtype: 'timestamp', fix: undefined };
  if (ct === 'TIME_MILLIS' || ct === 'TIME_MICROS' || lt?.type === 'TIME')
    return { datatype: 'long', fix: (v) => (typeof v === 'number' ? BigInt(v) : v) };
  switch (e.type) {
    case 'BOOLEAN':
      return { datatype: 'boolean', fix: undefined };
    case 'INT32': {
      const bits =
        lt?.type === 'INTEGER'
          ? lt.bitWidth
          : ct === 'INT_8' || ct === 'UINT_8'
            ? 8
            : ct === 'INT_16' || ct === 'UINT_16'
              ? 16
              : 32;
      const unsigned =
        (lt?.type === 'INTEGER' && !lt.isSigned) || ct === 'UINT_8' || ct === 'UINT_16' || ct === 'UINT_32';
      if (unsigned && bits === 8) return { datatype: 'unsignedByte', fix: undefined };
      if (unsigned && bits === 16) return { datatype: 'int', fix: undefined };
      if (unsigned) return { datatype: 'long', fix: (v) => (typeof v === 'number' ? BigInt(v >>> 0) : v) };
      return { datatype: bits < 32 ? 'short' : 'int', fix: undefined };
    }
    case 'INT64':
      if ((lt?.type === 'INTEGER' && !lt.isSigned) || ct === 'UINT_64')
        return { datatype: 'long', fix: (v) => (typeof v === 'bigint' ? BigInt.asIntN(64, v) : v) };
      return { datatype: 'long', fix: undefined };
    case 'FLOAT':
      return { datatype: 'float', fix: undefined };
    case 'DOUBLE':
      return { datatype: 'double', fix: undefined };
    case 'FIXED_LEN_BYTE_ARRAY':
      if (lt?.type === 'FLOAT16') return { datatype: 'float', fix: undefined };
      return { datatype: 'char', fix: lt?.type === 'UUID' ? undefined : hex };
    case 'BYTE_ARRAY':
      if (
        ct === 'UTF8' ||
        ct === 'ENUM' ||
        ct === 'JSON' ||
        lt?.type === 'STRING' ||
        lt?.type === 'ENUM' ||
        lt?.type === 'JSON'
      )
        return { datatype: 'char', fix: undefined };
      return { datatype: 'char', fix: hex };
    default:
      throw new DataFileError(
        `column "${name}": Parquet type ${String(e.type)} is not supported`,
        path,
        undefined,
        name,
      );
  }
}

interface Plan {
  column: SourceColumn;
  fix: Fix;
  array: boolean;
}

function planColumn(node: SchemaTree, path: string): Plan {
  const e = node.element;
  const name = e.name;
  if (node.children.length === 0) {
    const t = leafType(e, name, path);
    const array = e.repetition_type === 'REPEATED';
    const column: SourceColumn = {
      name,
      datatype: t.datatype,
      ...(t.datatype === 'char' ? { arraysize: '*' } : array ? { arraysize: '*' } : {}),
      ...(t.xtype && { xtype: t.xtype }),
    };
    return { column, fix: t.fix, array };
  }
  // LIST (3-level: list > element, or 2-level legacy) of a primitive.
  const isList = e.converted_type === 'LIST' || e.logical_type?.type === 'LIST';
  if (isList) {
    let leaf = node.children[0];
    if (leaf.children.length === 1) leaf = leaf.children[0];
    if (leaf.children.length === 0) {
      const t = leafType(leaf.element, name, path);
      if (t.datatype === 'char')
        throw new DataFileError(
          `column "${name}": a list of strings has no VOTable column type`,
          path,
          undefined,
          name,
        );
      return {
        column: { name, datatype: t.datatype, arraysize: '*', ...(t.xtype && { xtype: t.xtype }) },
        fix: t.fix,
        array: true,
      };
    }
  }
  throw new DataFileError(
    `column "${name}": nested Parquet structures (struct, map, list of lists) cannot be published as a column; flatten them first`,
    path,
    undefined,
    name,
  );
}

export async function openParquet(
  path: string,
  size: number,
  opts: ParquetReadOptions = {},
): Promise<DataSource> {
  const batchRows = Math.max(1, opts.batchRows ?? 10_000);
  let consumed = 0;
  let file: AsyncBuffer;
  let metadata: FileMetaData;
  try {
    const raw = await asyncBufferFromFile(path);
    file = {
      byteLength: raw.byteLength,
      slice(start: number, end?: number) {
        consumed += (end ?? raw.byteLength) - start;
        return raw.slice(start, end);
      },
    };
    metadata = await parquetMetadataAsync(file);
  } catch (e) {
    throw new DataFileError(
      `not a readable Parquet file (truncated, or not Parquet): ${(e as Error).message}`,
      path,
    );
  }
  const schema = parquetSchema(metadata);
  const plans = schema.children.map((c) => planColumn(c, path));
  // Parquet's own column names, by which the rows are read.
  const names = plans.map((p) => p.column.name);
  const vo = await voParquetMetadata(metadata, plans.length);
  const columns = plans.map((p, i) => (vo ? decorate(p.column, vo.fields[i]) : p.column));
  const ncol = columns.length;
  const floats = columns.map(
    (c) => (c.datatype === 'float' || c.datatype === 'double') && c.arraysize === undefined,
  );
  const totalRows = Number(metadata.num_rows);
  consumed = 0;

  async function* batches(): AsyncGenerator<SourceBatch> {
    let groupStart = 0;
    for (const group of metadata.row_groups) {
      const groupRows = Number(group.num_rows);
      const data = new Map<string, { start: number; values: ArrayLike<unknown> }[]>();
      try {
        await parquetRead({
          file,
          metadata,
          rowStart: groupStart,
          rowEnd: groupStart + groupRows,
          columns: names,
          parsers: PARSERS as never,
          onChunk: (c) => {
            let list = data.get(c.columnName);
            if (!list) data.set(c.columnName, (list = []));
            list.push({ start: c.rowStart - groupStart, values: c.columnData as ArrayLike<unknown> });
          },
        });
      } catch (e) {
        throw new DataFileError(
          `cannot read row group at row ${groupStart + 1} (truncated or unsupported encoding?): ${(e as Error).message}`,
          path,
          groupStart + 1,
        );
      }
      const cols = names.map((n) => {
        const list = (data.get(n) ?? []).sort((a, b) => a.start - b.start);
        if (list.length === 1 && list[0].start === 0) return list[0].values;
        const all = new Array<unknown>(groupRows);
        for (const part of list)
          for (let i = 0; i < part.values.length && part.start + i < groupRows; i++)
            all[part.start + i] = part.values[i];
        return all;
      });
      data.clear();
      for (let at = 0; at < groupRows; at += batchRows) {
        const n = Math.min(batchRows, groupRows - at);
        const rows = new Array<unknown[]>(n);
        for (let r = 0; r < n; r++) rows[r] = new Array(ncol);
        for (let i = 0; i < ncol; i++) {
          const src = cols[i];
          const fix = plans[i].fix;
          const array = plans[i].array;
          const isFloat = floats[i];
          for (let r = 0; r < n; r++) {
            let v = src[at + r];
            if (v === undefined || v === null) v = null;
            else if (isFloat && Number.isNaN(v)) v = null;
            else if (array)
              v = fix ? Array.from(v as ArrayLike<unknown>, fix) : Array.from(v as ArrayLike<unknown>);
            else if (fix) v = fix(v);
            rows[r][i] = v;
          }
        }
        yield { firstRow: groupStart + at + 1, rows };
      }
      groupStart += groupRows;
    }
    if (groupStart !== totalRows)
      throw new DataFileError(
        `the row groups hold ${groupStart} rows but the footer says ${totalRows}`,
        path,
      );
  }

  let iterated = false;
  return {
    path,
    format: 'parquet',
    columns,
    meta: {
      ...(vo?.tableName ? { name: vo.tableName } : {}),
      ...(vo?.description ? { description: vo.description } : {}),
    },
    totalBytes: size,
    bytesRead: () => Math.min(consumed, size),
    batches() {
      if (iterated) throw new DataFileError('the rows of a data source can be read once', path);
      iterated = true;
      return batches();
    },
    async close() {},
  };
}

/** The FIELDs of a VOParquet footer VOTable, when there is one FIELD per Parquet column. */
async function voParquetMetadata(
  metadata: FileMetaData,
  ncol: number,
): Promise<{ fields: ReadField[]; tableName?: string; description?: string } | undefined> {
  const xml = metadata.key_value_metadata?.find((kv) => kv.key === VOPARQUET_CONTENT_KEY)?.value;
  if (!xml) return undefined;
  try {
    for await (const ev of readVOTable([xml], { maxRows: 0 })) {
      if (ev.kind !== 'fields') continue;
      if (ev.fields.length !== ncol) return undefined;
      const description = /<TABLE[^>]*>\s*<DESCRIPTION>([^<]*)<\/DESCRIPTION>/.exec(xml)?.[1];
      return { fields: ev.fields, tableName: ev.tableName, description };
    }
  } catch {
    // Note §2.3: a reader may discard metadata it cannot reconcile.
  }
  return undefined;
}

function decorate(c: SourceColumn, f: ReadField): SourceColumn {
  return {
    ...c,
    name: f.name,
    ...(f.unit ? { unit: f.unit } : {}),
    ...(f.ucd ? { ucd: f.ucd } : {}),
    ...(f.utype ? { utype: f.utype } : {}),
    ...(f.description ? { description: f.description } : {}),
    ...(f.xtype && f.datatype === c.datatype ? { xtype: f.xtype } : {}),
  };
}
