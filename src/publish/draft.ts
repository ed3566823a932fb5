/**
 * A first draft of a table description from a data file (`vonode describe`): the columns
 * with what the file says of them (datatype, arraysize, unit, UCD, description), the
 * position columns guessed from UCDs (pos.eq.ra / pos.eq.dec, meta.main preferred) or
 * names, and a primary key guessed from meta.id;meta.main or an id-like name. What is
 * missing or guessed is listed per column so the printed draft can say TODO.
 */
import { RESERVED } from '../../adql/keywords.js';
import type { ColumnDescription, PositionDescription, TableDescription } from './description.js';
import type { DataSource, SourceColumn } from './source.js';

export interface DraftNotes {
  /** Per column name (the draft's): what to check or fill in. */
  readonly columns: ReadonlyMap<string, readonly string[]>;
  /** About the table as a whole (position, primary key, frame). */
  readonly table: readonly string[];
}

export interface Draft {
  readonly table: TableDescription;
  readonly notes: DraftNotes;
}

const NUMERIC = new Set(['short', 'int', 'long', 'float', 'double', 'unsignedByte']);
const IDENT = /^[A-Za-z][A-Za-z0-9_]*$/;

/** A regular ADQL identifier for a file's column name (ADQL 2.1 §2.1.3), lower case kept as given. */
export function adqlName(name: string): string {
  let n = name
    .trim()
    .replace(/[^A-Za-z0-9_]+/g, '_')
    .replace(/^_+|_+$/g, '');
  if (n === '') n = 'col';
  if (!/^[A-Za-z]/.test(n)) n = `c_${n}`;
  if (RESERVED.has(n.toUpperCase())) n = `${n}_`;
  return n;
}

/** A table name from the file name: `cat_v2.fits.gz` -> `cat_v2`. */
export function tableNameOf(path: string): string {
  const base = path.split(/[\\/]/).pop() ?? 'table';
  const stem = base.replace(/\.gz$/i, '').replace(/\.[^.]*$/, '');
  return adqlName(stem).toLowerCase();
}

const ucdWords = (c: SourceColumn) =>
  (c.ucd ?? '')
    .toLowerCase()
    .split(';')
    .map((w) => w.trim());

// Names catalogues use for equatorial coordinates, most usual first (PyBDSF RA/DEC, SoFiA-2
// ra/dec, VizieR RAJ2000/DEJ2000, Gaia ra/dec, Rubin coord_ra/coord_dec...).
const RA_NAMES = [
  'ra',
  'ra_deg',
  'radeg',
  'raj2000',
  'ra_j2000',
  'ra_icrs',
  'ra_peak',
  'ra_max',
  'ra_mean',
  'coord_ra',
  'alpha',
  'alpha_j2000',
  'ra_centroid',
];
const DEC_NAMES = [
  'dec',
  'dec_deg',
  'decdeg',
  'dej2000',
  'decj2000',
  'dec_j2000',
  'de_icrs',
  'dec_icrs',
  'dec_peak',
  'dec_max',
  'dec_mean',
  'coord_dec',
  'delta',
  'delta_j2000',
  'dec_centroid',
];
const RA_RE = /^(ra|alpha)([_-].*|j2000.*|deg)?$/i;
const DEC_RE = /^(dec|de|delta)([_-].*|j2000.*|deg)?$/i;

function pick(
  cols: readonly SourceColumn[],
  ucd: string,
  names: readonly string[],
  re: RegExp,
): { column: SourceColumn; by: 'ucd' | 'name' } | undefined {
  const numeric = cols.filter(
    (c) => NUMERIC.has(c.datatype) && (c.arraysize === undefined || c.arraysize === '1'),
  );
  const byUcd = numeric.filter((c) => ucdWords(c)[0] === ucd);
  const main = byUcd.find((c) => ucdWords(c).includes('meta.main'));
  if (main ?? byUcd[0]) return { column: (main ?? byUcd[0]) as SourceColumn, by: 'ucd' };
  for (const n of names) {
    const c = numeric.find((x) => x.name.toLowerCase() === n);
    if (c) return { column: c, by: 'name' };
  }
  const c = numeric.find((x) => re.test(x.name) && !/err|sig|unc/i.test(x.name));
  return c ? { column: c, by: 'name' } : undefined;
}

const ID_NAMES = [
  'source_id',
  'sourceid',
  'id',
  'objid',
  'obj_id',
  'object_id',
  'objectid',
  'source_name',
  'name',
];

function guessKey(cols: readonly SourceColumn[]): { column: SourceColumn; by: 'ucd' | 'name' } | undefined {
  const keyable = cols.filter(
    (c) =>
      (c.arraysize === undefined || c.arraysize === '1' || c.datatype === 'char') &&
      c.datatype !== 'float' &&
      c.datatype !== 'double' &&
      c.datatype !== 'boolean',
  );
  const byUcd = keyable.find((c) => ucdWords(c).includes('meta.id') && ucdWords(c).includes('meta.main'));
  if (byUcd) return { column: byUcd, by: 'ucd' };
  for (const n of ID_NAMES) {
    const c = keyable.find((x) => x.name.toLowerCase() === n);
    if (c) return { column: c, by: 'name' };
  }
  return undefined;
}

/** The draft description of the table in `source`. */
export function draftTable(source: DataSource, where: { schema?: string; name?: string } = {}): Draft {
  const colNotes = new Map<string, string[]>();
  const tableNotes: string[] = [];
  const note = (col: string, s: string) => {
    const l = colNotes.get(col) ?? [];
    l.push(s);
    colNotes.set(col, l);
  };
  const ra = pick(source.columns, 'pos.eq.ra', RA_NAMES, RA_RE);
  const dec = pick(source.columns, 'pos.eq.dec', DEC_NAMES, DEC_RE);
  const key = guessKey(source.columns);
  const used = new Set<string>();
  const nameOf = new Map<SourceColumn, string>();
  for (const c of source.columns) {
    let n = IDENT.test(c.name) && !RESERVED.has(c.name.toUpperCase()) ? c.name : adqlName(c.name);
    while (used.has(n.toLowerCase())) n = `${n}_`;
    used.add(n.toLowerCase());
    nameOf.set(c, n);
  }
  const columns: ColumnDescription[] = source.columns.map((c) => {
    const name = nameOf.get(c) as string;
    let ucd = c.ucd;
    let unit = c.unit;
    if (c === ra?.column || c === dec?.column) {
      const word = c === ra?.column ? 'pos.eq.ra;meta.main' : 'pos.eq.dec;meta.main';
      if (!ucd) {
        ucd = word;
        note(name, `ucd guessed from the name`);
      }
      if (!unit) {
        unit = 'deg';
        note(name, 'unit guessed (deg): check it');
      }
    }
    if (!c.description) note(name, 'description');
    if (!unit && (c.datatype === 'float' || c.datatype === 'double'))
      note(name, 'unit (or remove the TODO if it has none)');
    if (!ucd) note(name, 'ucd');
    return {
      name,
      ...(name !== c.name && { source: c.name }),
      datatype: c.datatype,
      ...(c.arraysize !== undefined && { arraysize: c.arraysize }),
      ...(c.xtype !== undefined && { xtype: c.xtype }),
      ...(unit !== undefined && { unit }),
      ...(ucd !== undefined && { ucd }),
      ...(c.utype !== undefined && { utype: c.utype }),
      ...(c.description !== undefined && { description: c.description }),
      ...(c === key?.column && { nullable: false }),
    };
  });
  let position: PositionDescription | undefined;
  if (ra && dec) {
    position = { ra: nameOf.get(ra.column) as string, dec: nameOf.get(dec.column) as string };
    if (ra.by === 'name' || dec.by === 'name')
      tableNotes.push('position columns guessed from their names: check them');
  } else
    tableNotes.push(
      'no position columns found: add position: {ra: ..., dec: ...} if the table has positions',
    );
  const frame = source.meta.frame;
  if (position && frame && !/^icrs$/i.test(frame))
    tableNotes.push(`the file gives the frame ${frame}: only ICRS positions are indexed`);
  if (key?.by === 'name')
    tableNotes.push(`primary key guessed from the name ${nameOf.get(key.column)}: check it is unique`);
  if (!key) tableNotes.push('no primary key found: add primaryKey: [...] if a column is unique');
  const description = source.meta.description?.trim();
  if (!description) tableNotes.push('table description');
  const table: TableDescription = {
    schema: where.schema ?? 'public_data',
    name:
      where.name ?? (source.meta.name ? adqlName(source.meta.name).toLowerCase() : tableNameOf(source.path)),
    description: description ?? '',
    ...(key && { primaryKey: [nameOf.get(key.column) as string] }),
    ...(position && { position }),
    columns,
  };
  return { table, notes: { columns: colNotes, table: tableNotes } };
}
