/**
 * Rubin Observatory's Felis schema YAML (lsst/felis, the dialect of lsst/sdm_schemas) ->
 * CatalogueDescription, so a team that already describes its tables in Felis publishes
 * them as they are. Felis datatypes become VOTable datatypes with the arraysize and xtype
 * Felis itself gives them in TAP_SCHEMA; `@id` references (primary keys, foreign keys,
 * indexes) become column names; `tap:column_index` / `tap:table_index` give the order.
 * Felis has no notion of a position: the columns whose UCDs say pos.eq.ra/pos.eq.dec
 * (with meta.main, or the only pair) become the position that gets the HEALPix index.
 */
import type { Datatype } from '../../votable/index.js';
import type {
  CatalogueDescription,
  ColumnDescription,
  ForeignKeyDescription,
  PositionDescription,
  TableDescription,
} from './description.js';
import { type At, defined, type Fields, YamlFile } from './yaml-reader.js';

const BASE = ['name', '@id', 'description', 'votable:utype'] as const;
const SCHEMA_KEYS = [...BASE, 'tables', 'version', 'resources'] as const;
const TABLE_KEYS = [
  ...BASE,
  'primaryKey',
  'tap:table_index',
  'mysql:engine',
  'mysql:charset',
  'columns',
  'columnGroups',
  'columnRefs',
  'constraints',
  'indexes',
] as const;
const COLUMN_KEYS = [
  ...BASE,
  'datatype',
  'length',
  'precision',
  'nullable',
  'value',
  'autoincrement',
  'ivoa:ucd',
  'fits:tunit',
  'ivoa:unit',
  'tap:column_index',
  'tap:principal',
  'tap:std',
  'votable:arraysize',
  'votable:xtype',
  'votable:datatype',
  'mysql:datatype',
  'postgresql:datatype',
] as const;
const CONSTRAINT_KEYS = [
  ...BASE,
  '@type',
  'deferrable',
  'initially',
  'annotations',
  'columns',
  'referencedColumns',
  'on_delete',
  'on_update',
  'expression',
] as const;
const INDEX_KEYS = [...BASE, 'columns', 'expressions'] as const;

const FELIS_TYPES = [
  'boolean',
  'byte',
  'short',
  'int',
  'long',
  'float',
  'double',
  'char',
  'string',
  'unicode',
  'text',
  'binary',
  'timestamp',
] as const;
type FelisType = (typeof FELIS_TYPES)[number];

const VOTABLE_OVERRIDES: readonly Datatype[] = [
  'boolean',
  'bit',
  'unsignedByte',
  'short',
  'int',
  'long',
  'char',
  'unicodeChar',
  'float',
  'double',
  'floatComplex',
  'doubleComplex',
];

/**
 * Felis datatype -> VOTable datatype, following Felis' own TAP_SCHEMA mapping, except
 * `byte`: Felis' byte is signed while VOTable's unsignedByte is not, so it is published
 * as short (the override Felis' documentation itself recommends).
 */
const VOTABLE_OF: Record<FelisType, Datatype> = {
  boolean: 'boolean',
  byte: 'short',
  short: 'short',
  int: 'int',
  long: 'long',
  float: 'float',
  double: 'double',
  char: 'char',
  string: 'char',
  unicode: 'unicodeChar',
  text: 'char',
  binary: 'unsignedByte',
  timestamp: 'char',
};

/**
 * Whether a parsed YAML document is Felis rather than vonode's own format: Felis has a
 * top-level `name` and `@id`s on its objects, ours has `schema`/`schemas` and no `@id`.
 */
export function looksLikeFelis(root: At): boolean {
  if (root.kind !== 'map') return false;
  const top = root.keys();
  if (top.includes('@id')) return true;
  if (!top.includes('name') || !top.includes('tables') || top.includes('schema') || top.includes('schemas')) {
    return false;
  }
  const f = root.fields(top);
  return f
    .get('tables')
    .list()
    .some((t) => {
      if (t.kind !== 'map') return false;
      const keys = t.keys();
      if (keys.includes('@id') || keys.some((k) => k.includes(':'))) return true;
      const tf = t.fields(keys);
      return tf
        .get('columns')
        .list()
        .some((c) => c.kind === 'map' && c.keys().some((k) => k === '@id' || k.includes(':')));
    });
}

/** Parses Felis text directly (parse.ts's parseDescription also recognises it). */
export function parseFelis(text: string, path: string): CatalogueDescription {
  const file = new YamlFile(path, text);
  file.check();
  const d = felisDescription(file);
  file.check();
  return d;
}

interface RawColumn {
  readonly id?: string;
  readonly table: string;
  readonly index?: number;
  readonly column: ColumnDescription;
}

/** Reads a Felis document; problems are recorded on `file` (the caller checks). */
export function felisDescription(file: YamlFile): CatalogueDescription {
  const top = file.root.fields(SCHEMA_KEYS);
  const schema = top.required('name').str() ?? '';
  if (top.has('resources')) {
    top
      .get('resources')
      .fail(
        '(column references to other files) are not read: expand them first with `felis dump --dereference-resources`',
      );
  }
  // First pass: every column, so @id references resolve whatever their order in the file.
  const byId = new Map<string, { table: string; column: string }>();
  const tables: { at: At; f: Fields; name: string; index?: number; columns: RawColumn[] }[] = [];
  for (const t of top.required('tables').list()) {
    const f = t.fields(TABLE_KEYS);
    const name = f.required('name').str();
    if (f.has('columnRefs')) {
      f.get('columnRefs').fail('are not read: expand them first with `felis dump --dereference-resources`');
    }
    const columns: RawColumn[] = [];
    for (const c of f.get('columns').list()) {
      const col = readColumn(c, name ?? '');
      if (!col) continue;
      columns.push(col);
      if (col.id) byId.set(col.id, { table: name ?? '', column: col.column.name });
    }
    if (name === undefined) continue;
    if (columns.length === 0 && !f.has('columns')) f.at.fail("needs 'columns'");
    tables.push({ at: t, f, name, index: f.get('tap:table_index').int(), columns });
  }

  const resolve = (ref: At, table: string | undefined): { table: string; column: string } | undefined => {
    const id = ref.str();
    if (id === undefined) return undefined;
    const hit =
      byId.get(id) ??
      byId.get(id.startsWith('#') ? id.slice(1) : `#${id}`) ??
      (table !== undefined ? byName(tables, table, id) : undefined);
    if (!hit) ref.fail(`'${id}' is not the @id of a column in this schema`);
    else if (table !== undefined && hit.table !== table)
      ref.fail(`'${id}' is a column of ${hit.table}, not ${table}`);
    return hit;
  };

  const out: TableDescription[] = [];
  for (const t of stableSort(tables, (x) => x.index)) {
    const f = t.f;
    const columns = stableSort(t.columns, (c) => c.index).map((c) => ({ ...c.column }) as ColumnDescription);
    const primaryKey = f
      .get('primaryKey')
      .list({ single: true })
      .map((r) => resolve(r, t.name)?.column)
      .filter((c): c is string => c !== undefined);
    const indexed = new Set<string>();
    for (const ix of f.get('indexes').list()) {
      const xf = ix.fields(INDEX_KEYS);
      // TAP_SCHEMA's indexed flag means "a query on this column alone is fast": the
      // leading column of each index.
      const first = xf.get('columns').list()[0];
      const hit = first ? resolve(first, t.name) : undefined;
      if (hit) indexed.add(hit.column);
    }
    if (primaryKey[0]) indexed.add(primaryKey[0]);
    const foreignKeys: ForeignKeyDescription[] = [];
    for (const c of f.get('constraints').list()) {
      const fk = readConstraint(c, schema, t.name, resolve);
      if (fk) foreignKeys.push(fk);
    }
    const finalColumns = columns.map((c) =>
      indexed.has(c.name) && !c.indexed ? ({ ...c, indexed: true } as ColumnDescription) : c,
    );
    out.push(
      defined({
        schema,
        name: t.name,
        description: f.get('description').str() ?? '',
        utype: f.get('votable:utype').str(),
        columns: finalColumns,
        primaryKey: primaryKey.length > 0 ? primaryKey : undefined,
        position: guessPosition(finalColumns),
        foreignKeys: foreignKeys.length > 0 ? foreignKeys : undefined,
      }),
    );
  }
  return {
    schemas: [
      defined({
        name: schema,
        description: top.get('description').str(),
        utype: top.get('votable:utype').str(),
      }),
    ],
    tables: out,
  };
}

function byName(
  tables: readonly { name: string; columns: readonly RawColumn[] }[],
  table: string,
  ref: string,
): { table: string; column: string } | undefined {
  // a reference written as a plain column name, or Table.column without the '#'
  const name = ref
    .replace(/^#/, '')
    .replace(new RegExp(`^${table.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\.`), '');
  const t = tables.find((x) => x.name === table);
  const c = t?.columns.find((x) => x.column.name === name);
  return c ? { table, column: c.column.name } : undefined;
}

function readColumn(at: At, table: string): RawColumn | undefined {
  const f = at.fields(COLUMN_KEYS);
  const name = f.required('name').str();
  const felisType = f.required('datatype').oneOf(FELIS_TYPES, 'a Felis datatype');
  const override = f.get('votable:datatype').oneOf(VOTABLE_OVERRIDES, 'a VOTable datatype');
  const lengthAt = f.get('length');
  const length = lengthAt.int();
  if (length !== undefined && length < 1) lengthAt.fail('must be 1 or more');
  const ivoaUnit = f.get('ivoa:unit').str({ numbers: true });
  const fitsUnit = f.get('fits:tunit').str({ numbers: true });
  if (ivoaUnit && fitsUnit && ivoaUnit !== fitsUnit) {
    f.get('fits:tunit').fail(`'${fitsUnit}' and ivoa:unit '${ivoaUnit}' disagree (Felis allows only one)`);
  }
  const arraysizeOverride = f.get('votable:arraysize').str({ numbers: true });
  if (name === undefined || felisType === undefined) return undefined;
  const datatype = override ?? VOTABLE_OF[felisType];
  const arraysize = arraysizeOverride ?? felisArraysize(felisType, length);
  const xtype = f.get('votable:xtype').str() ?? (felisType === 'timestamp' ? 'timestamp' : undefined);
  const unit = ivoaUnit || fitsUnit || undefined;
  const nullable = f.get('nullable').bool();
  return {
    id: f.get('@id').str(),
    table,
    index: f.get('tap:column_index').int(),
    column: defined({
      name,
      datatype,
      arraysize,
      xtype,
      unit,
      ucd: f.get('ivoa:ucd').str() || undefined,
      utype: f.get('votable:utype').str(),
      description: f.get('description').str(),
      principal: f.get('tap:principal').bool({ bits: true }) || undefined,
      std: f.get('tap:std').bool({ bits: true }) || undefined,
      nullable: nullable === false ? false : undefined,
    }),
  };
}

/** The arraysize Felis gives a type in TAP_SCHEMA (an arraysize of 1 is never written). */
function felisArraysize(t: FelisType, length: number | undefined): string | undefined {
  switch (t) {
    case 'char':
      return length !== undefined && length > 1 ? String(length) : undefined;
    case 'string':
    case 'unicode':
    case 'binary':
      return length !== undefined && length > 1 ? `${length}*` : '*';
    case 'text':
    case 'timestamp':
      return '*';
    default:
      return undefined;
  }
}

function readConstraint(
  at: At,
  schema: string,
  table: string,
  resolve: (ref: At, table: string | undefined) => { table: string; column: string } | undefined,
): ForeignKeyDescription | undefined {
  const f = at.fields(CONSTRAINT_KEYS);
  const type = f.required('@type').oneOf(['ForeignKey', 'Unique', 'Check'], 'a Felis constraint type');
  // Unique and check constraints guard writes; a published catalogue is read-only.
  if (type !== 'ForeignKey') return undefined;
  const from = f
    .required('columns')
    .list()
    .map((r) => resolve(r, table));
  const to = f
    .required('referencedColumns')
    .list()
    .map((r) => resolve(r, undefined));
  if (from.length !== to.length) {
    f.get('referencedColumns').fail(`lists ${to.length} columns for ${from.length} in 'columns'`);
    return undefined;
  }
  if (from.some((c) => !c) || to.some((c) => !c) || from.length === 0) return undefined;
  const targets = new Set(to.map((c) => c!.table));
  if (targets.size > 1) {
    f.get('referencedColumns').fail(`point into several tables (${[...targets].join(', ')})`);
    return undefined;
  }
  return defined({
    target: `${schema}.${to[0]!.table}`,
    columns: from.map((c, i) => [c!.column, to[i]!.column] as const),
    description: f.get('description').str(),
  });
}

/** pos.eq.ra/pos.eq.dec with meta.main, else the only such pair; numeric columns only. */
function guessPosition(columns: readonly ColumnDescription[]): PositionDescription | undefined {
  const numeric = (c: ColumnDescription) => c.datatype === 'double' || c.datatype === 'float';
  const words = (c: ColumnDescription) => (c.ucd ?? '').toLowerCase().split(';');
  const pick = (axis: string) => {
    const all = columns.filter((c) => numeric(c) && words(c)[0] === axis);
    return all.find((c) => words(c).includes('meta.main')) ?? (all.length === 1 ? all[0] : undefined);
  };
  const ra = pick('pos.eq.ra');
  const dec = pick('pos.eq.dec');
  return ra && dec ? { ra: ra.name, dec: dec.name } : undefined;
}

function stableSort<T>(items: readonly T[], key: (t: T) => number | undefined): T[] {
  return items
    .map((item, i) => ({ item, i, k: key(item) ?? Number.POSITIVE_INFINITY }))
    .sort((a, b) => a.k - b.k || a.i - b.i)
    .map((x) => x.item);
}
