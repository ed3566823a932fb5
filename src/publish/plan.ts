/**
 * How one described table is loaded from one data file: the physical columns and their
 * PostgreSQL types, which file column feeds each, and the checked encoders. Everything a
 * load can find out before reading a row is found here, so a wrong description or file
 * fails at once with every problem named.
 */
import { HEALPIX_INDEX_ORDER, nestedIndexWords } from '../../sky/index.js';
import { type BinaryEncoder, binaryColumnOf, type CopyBinaryWriter } from './copy-binary.js';
import { isArrayColumn, isTimestamp, sqlTypeOf, ValueError } from './copy-encoding.js';
import type { ColumnDescription, TableDescription } from './description.js';
import type { DataSource } from './source.js';
import { plainName } from './staging.js';
import { type TextCellKind, type TextRowSpec, type TextRowWriter, textRowWriter } from './text-rows.js';

/** A publish that cannot go on; the message is the whole story, for one CLI line. */
export class PublishError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PublishError';
  }
}

export interface PhysicalColumn {
  /** The PostgreSQL column name (unquoted). */
  readonly sqlName: string;
  readonly sqlType: string;
  /** Its type in the load table (cast to sqlType when the rows are rewritten in order). */
  readonly loadType: string;
  readonly notNull: boolean;
  /** The ADQL name, for messages. */
  readonly name: string;
}

export interface TablePlan {
  readonly desc: TableDescription;
  /** Qualified ADQL name as in TAP_SCHEMA.tables.table_name. */
  readonly tableName: string;
  readonly sqlSchema: string;
  readonly columns: readonly PhysicalColumn[];
  /** The HEALPix column's physical name, when the table has a position. */
  readonly healpix?: string;
  readonly primaryKey: readonly string[];
  /** Physical names of the columns to index besides the HEALPix column and the key. */
  readonly indexed: readonly string[];
}

/** Schemas a published table may not go into: vonode's own and PostgreSQL's. */
const RESERVED_SCHEMAS = new Set([
  'tap_schema',
  'vonode',
  'vonode_staging',
  'auth',
  'sky',
  'adql',
  'uws',
  'public',
  'information_schema',
]);

export function qualifiedTableName(desc: TableDescription): string {
  return `${desc.schema}.${desc.name}`;
}

/** The physical column of a described column (the ADQL compiler's default, adql/compiler.ts). */
export function sqlNameOf(c: ColumnDescription): string {
  return c.sqlName ?? plainName(c.name);
}

const same = (a: string, b: string) => plainName(a).toLowerCase() === plainName(b).toLowerCase();

/**
 * Checks what the loader itself depends on (the metadata rules are validateDescription's):
 * known datatypes, unique physical names, the key, rights and position columns present and
 * of the right kind. Throws one PublishError listing every problem.
 */
export function planTable(desc: TableDescription): TablePlan {
  const problems: string[] = [];
  const tableName = qualifiedTableName(desc);
  const sqlSchema = plainName(desc.schema);
  if (RESERVED_SCHEMAS.has(sqlSchema.toLowerCase()) || sqlSchema.toLowerCase().startsWith('pg_'))
    problems.push(`schema '${desc.schema}' is reserved for vonode or PostgreSQL`);
  const columns: PhysicalColumn[] = [];
  const seen = new Set<string>();
  for (const c of desc.columns) {
    const sqlType = sqlTypeOf(c);
    if (!sqlType) problems.push(`column ${c.name}: unknown datatype '${String(c.datatype)}'`);
    const sqlName = sqlNameOf(c);
    if (seen.has(sqlName.toLowerCase())) problems.push(`column ${c.name} is declared twice`);
    seen.add(sqlName.toLowerCase());
    columns.push({
      sqlName,
      sqlType: sqlType ?? 'text',
      loadType: binaryColumnOf(c).loadType,
      notNull: c.nullable === false,
      name: c.name,
    });
  }
  const find = (name: string) => desc.columns.find((c) => same(c.name, name));
  const numeric = new Set(['double', 'float', 'int', 'long', 'short', 'unsignedByte']);
  let healpix: string | undefined;
  if (desc.position) {
    for (const which of ['ra', 'dec'] as const) {
      const col = find(desc.position[which]);
      if (!col)
        problems.push(`position ${which} column '${desc.position[which]}' is not a column of the table`);
      else if (!numeric.has(col.datatype) || (col.arraysize !== undefined && col.arraysize !== '1'))
        problems.push(`position ${which} column ${col.name} is ${col.datatype}, not a number`);
    }
    if (desc.position.frame !== undefined && desc.position.frame !== 'ICRS')
      problems.push(`position frame ${String(desc.position.frame)}: only ICRS positions are indexed`);
    const name = desc.position.healpixColumn ?? 'healpix';
    const declared = find(name);
    healpix = declared ? sqlNameOf(declared) : name;
    if (declared && declared.datatype !== 'long')
      problems.push(`column ${declared.name} holds the HEALPix index and must be long`);
    if (!declared)
      columns.push({ sqlName: name, sqlType: 'bigint', loadType: 'bigint', notNull: false, name });
  }
  const primaryKey: string[] = [];
  for (const k of desc.primaryKey ?? []) {
    const col = find(k);
    if (!col) problems.push(`primary key column '${k}' is not a column of the table`);
    else primaryKey.push(sqlNameOf(col));
  }
  const rights = desc.rights;
  if (rights?.ownerGroupColumn) {
    const col = find(rights.ownerGroupColumn);
    if (!col)
      problems.push(`rights owner group column '${rights.ownerGroupColumn}' is not a column of the table`);
    else if (col.datatype !== 'char' && col.datatype !== 'unicodeChar')
      problems.push(`rights owner group column ${col.name} must be char`);
  }
  if (rights?.releaseColumn) {
    const col = find(rights.releaseColumn);
    if (!col) problems.push(`rights release column '${rights.releaseColumn}' is not a column of the table`);
    else if (sqlTypeOf(col) !== 'timestamptz')
      problems.push(`rights release column ${col.name} must be a timestamp (datatype char, xtype timestamp)`);
  }
  if (rights?.releaseDate !== undefined && Number.isNaN(Date.parse(String(rights.releaseDate))))
    problems.push(`rights releaseDate '${String(rights.releaseDate)}' is not a date`);
  if (rights?.ownerGroup !== undefined && rights.ownerGroupColumn !== undefined)
    problems.push('rights give both ownerGroup and ownerGroupColumn; choose one');
  const indexed = desc.columns
    .filter((c) => c.indexed && sqlNameOf(c) !== healpix && sqlNameOf(c) !== primaryKey[0])
    .map(sqlNameOf);
  if (problems.length > 0) throw new PublishError(`${tableName}: ${problems.join('; ')}`);
  return { desc, tableName, sqlSchema, columns, healpix, primaryKey, indexed };
}

/** Writes a file's rows as COPY binary rows of the plan's physical columns. */
export interface RowEncoder {
  /**
   * One row; `row` is the 1-based data row, for messages. Returns where in w's buffer the
   * 8 bytes of the row's HEALPix index are (the sort key), -1 when it has none.
   */
  write(w: CopyBinaryWriter, values: readonly unknown[], row: number): number;
  /**
   * The same row from its CSV line (TextRowBatch), or DECLINED for a line that needs the
   * typed values and write(); absent when the source has no lines or a column needs the
   * general path (arrays, timestamps, a datatype other than the reader's).
   */
  readonly text?: TextRowWriter;
}

/**
 * Maps the described columns onto the file's columns (by `source` or by name, ignoring
 * case) and builds the encoder of a row. Every described column must be in the file,
 * except the generated HEALPix column.
 */
export function rowEncoder(plan: TablePlan, source: DataSource): RowEncoder {
  const desc = plan.desc;
  const fileCols = source.columns.map((c) => c.name.toLowerCase());
  const missing: string[] = [];
  const feeds: { index: number; enc: BinaryEncoder; name: string; column?: ColumnDescription }[] = [];
  let healpixAt = -1;
  for (const c of desc.columns) {
    if (plan.healpix !== undefined && sqlNameOf(c) === plan.healpix) {
      healpixAt = feeds.length;
      feeds.push({ index: -1, enc: () => {}, name: c.name });
      continue;
    }
    const wanted = plainName(c.source ?? c.name).toLowerCase();
    const index = fileCols.indexOf(wanted);
    if (index < 0) missing.push(c.source ? `${c.name} (source ${c.source})` : c.name);
    feeds.push({ index, enc: binaryColumnOf(c).encode, name: c.name, column: c });
  }
  if (missing.length > 0)
    throw new PublishError(
      `${source.path}: no column for ${missing.join(', ')} of ${plan.tableName} (the file has ${source.columns.map((c) => c.name).join(', ')})`,
    );
  if (plan.healpix !== undefined && healpixAt < 0) {
    healpixAt = feeds.length;
    feeds.push({ index: -1, enc: () => {}, name: plan.healpix });
  }
  const pos = desc.position;
  const raIndex = pos ? fileCols.indexOf(plainName(sourceOf(desc, pos.ra)).toLowerCase()) : -1;
  const decIndex = pos ? fileCols.indexOf(plainName(sourceOf(desc, pos.dec)).toLowerCase()) : -1;
  const width = source.columns.length;
  const path = source.path;
  const n = feeds.length;
  const textSpec = textSpecOf(source, feeds, healpixAt, raIndex, decIndex);
  return {
    ...(textSpec ? { text: textRowWriter(textSpec) } : {}),
    write(w, values, row) {
      if (values.length !== width)
        throw new PublishError(
          `${path}: row ${row} has ${values.length} values where the file declares ${width} columns`,
        );
      w.int16(n);
      let keyAt = -1;
      for (let i = 0; i < n; i++) {
        if (i === healpixAt) {
          if (healpixOf(values[raIndex], values[decIndex], path, row, pos?.ra ?? '', pos?.dec ?? '')) {
            keyAt = w.pos + 4;
            w.int64Field(WORDS[0], WORDS[1]);
          } else w.nullField();
          continue;
        }
        const f = feeds[i];
        try {
          f.enc(w, values[f.index]);
        } catch (err) {
          if (err instanceof ValueError)
            throw new PublishError(`${path}: row ${row}, column ${f.name}: ${err.message}`);
          throw err;
        }
      }
      return keyAt;
    },
  };
}

/** rowEncoder's text path, where every column can take it (text-rows.ts). */
function textSpecOf(
  source: DataSource,
  feeds: readonly { index: number; column?: ColumnDescription }[],
  healpixAt: number,
  raIndex: number,
  decIndex: number,
): TextRowSpec | undefined {
  if (!source.textRows || source.delimiter === undefined) return undefined;
  const fields: TextRowSpec['fields'][number][] = [];
  for (let i = 0; i < feeds.length; i++) {
    const f = feeds[i];
    if (i === healpixAt) {
      fields.push({ kind: 'double', index: -1, nullable: true });
      continue;
    }
    const c = f.column;
    // The reader types a cell by its own column; the text path reads it once, so both must agree.
    if (!c || isArrayColumn(c) || isTimestamp(c) || source.columns[f.index]?.datatype !== c.datatype)
      return undefined;
    const d = c.datatype;
    const kind = d === 'char' || d === 'unicodeChar' ? 'text' : d === 'bit' ? 'boolean' : TEXT_KINDS.get(d);
    if (!kind) return undefined;
    fields.push({ kind, index: f.index, nullable: c.nullable !== false });
  }
  const positionType = (i: number) => source.columns[i]?.datatype;
  if (healpixAt >= 0 && (raIndex < 0 || decIndex < 0)) return undefined;
  const floatPosition =
    healpixAt >= 0 && positionType(raIndex) === 'float' && positionType(decIndex) === 'float';
  if (
    healpixAt >= 0 &&
    !floatPosition &&
    (positionType(raIndex) !== 'double' || positionType(decIndex) !== 'double')
  )
    return undefined;
  return {
    width: source.columns.length,
    delimiter: source.delimiter,
    fields,
    ra: raIndex,
    dec: decIndex,
    positionFloat: floatPosition,
  };
}

const TEXT_KINDS = new Map<string, TextCellKind>(
  (['double', 'float', 'long', 'int', 'short', 'unsignedByte', 'boolean'] as const).map((k) => [k, k]),
);

function sourceOf(desc: TableDescription, column: string): string {
  const c = desc.columns.find((x) => same(x.name, column));
  return c?.source ?? c?.name ?? column;
}

function toNumber(v: unknown): number {
  if (typeof v === 'number') return v;
  if (typeof v === 'bigint') return Number(v);
  if (typeof v === 'string' && v.trim() !== '') return Number(v);
  return Number.NaN;
}

const WORDS = new Uint32Array(2);

/**
 * The order-29 NESTED index of a row's position into WORDS (high, low); false when the
 * position is missing (NULL index).
 */
function healpixOf(
  ra: unknown,
  dec: unknown,
  path: string,
  row: number,
  raName: string,
  decName: string,
): boolean {
  if (ra === null || ra === undefined || dec === null || dec === undefined) return false;
  const lon = toNumber(ra);
  const lat = toNumber(dec);
  if (!Number.isFinite(lon))
    throw new PublishError(
      `${path}: row ${row}, column ${raName}: value ${String(ra)} is not a finite right ascension`,
    );
  if (!Number.isFinite(lat) || lat < -90 || lat > 90)
    throw new PublishError(
      `${path}: row ${row}, column ${decName}: value ${String(dec)} is not a declination in [-90, 90]`,
    );
  nestedIndexWords(HEALPIX_INDEX_ORDER, lon, lat, WORDS);
  return true;
}
