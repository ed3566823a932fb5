/**
 * Description file (YAML, docs/publishing.md) -> CatalogueDescription. The file is typed
 * here once: keys are the TypeScript field names of description.ts, an unknown key is an
 * error naming the nearest known one, and every error carries file:line:column and the
 * path of the value. A Rubin Felis file is recognised and read by felis.ts instead.
 * Whether the metadata is good enough to publish (units, UCDs, names) is validate.ts's job.
 */
import { readFile } from 'node:fs/promises';
import { DATATYPES } from '../../votable/index.js';
import type { PartitioningDescription } from '../shards/index.js';
import type {
  CatalogueDescription,
  ColumnDescription,
  ForeignKeyDescription,
  PositionDescription,
  RegistryDescription,
  RightsDescription,
  SchemaDescription,
  SpectralDescription,
  TableDescription,
  TimeDescription,
  ValidationLevel,
} from './description.js';
import { felisDescription, looksLikeFelis } from './felis.js';
import { type At, DescriptionError, defined, YamlFile } from './yaml-reader.js';

export { DescriptionError, type DescriptionIssue } from './yaml-reader.js';

const TOP_KEYS = ['validation', 'schema', 'schemas', 'tables'] as const;
const SCHEMA_KEYS = ['name', 'description', 'utype'] as const;
const TABLE_KEYS = [
  'schema',
  'name',
  'title',
  'description',
  'type',
  'utype',
  'columns',
  'primaryKey',
  'position',
  'time',
  'spectral',
  'foreignKeys',
  'rights',
  'registry',
  'partitioning',
] as const;
const COLUMN_KEYS = [
  'name',
  'sqlName',
  'source',
  'datatype',
  'arraysize',
  'xtype',
  'unit',
  'ucd',
  'utype',
  'description',
  'principal',
  'indexed',
  'nullable',
  'std',
  'datalink',
] as const;
const POSITION_KEYS = ['ra', 'dec', 'frame', 'healpixColumn'] as const;
const PARTITIONING_KEYS = ['minRows', 'order', 'partitions', 'marginArcsec'] as const;
const TIME_KEYS = ['column', 'format', 'scale'] as const;
const SPECTRAL_KEYS = ['column', 'unit'] as const;
const FOREIGN_KEY_KEYS = ['target', 'columns', 'description'] as const;
const FK_PAIR_KEYS = ['from', 'target'] as const;
const RIGHTS_KEYS = ['ownerGroup', 'ownerGroupColumn', 'releaseDate', 'releaseColumn'] as const;
const REGISTRY_KEYS = [
  'title',
  'creators',
  'subjects',
  'waveband',
  'licence',
  'referenceUrl',
  'contact',
] as const;

/** VOResource 1.1 waveband terms (REG-15). */
export const WAVEBANDS = [
  'Radio',
  'Millimeter',
  'Infrared',
  'Optical',
  'UV',
  'EUV',
  'X-ray',
  'Gamma-ray',
] as const;

/** VOTable arraysize: dimensions separated by x, the last one possibly variable (`*`, `10*`). */
const ARRAYSIZE = /^(?:[1-9]\d*x)*(?:[1-9]\d*\*?|\*)$/;
/** ISO 8601 date, optionally with a time (a release date). */
const ISO_DATE = /^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?$/;

/** Reads a description file (ours or Felis) from disk. */
export async function parseDescriptionFile(path: string): Promise<CatalogueDescription> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    const why =
      err.code === 'ENOENT' ? 'no such file' : err.code === 'EISDIR' ? 'is a directory' : err.message;
    throw new DescriptionError(path, [{ line: 0, col: 0, path: '', message: `cannot be read: ${why}` }]);
  }
  return parseDescription(text, path);
}

/**
 * Parses the text of a description file; `path` names it in messages. Throws a
 * DescriptionError listing every problem found, each as `path:line:col: where what`.
 */
export function parseDescription(text: string, path: string): CatalogueDescription {
  const file = new YamlFile(path, text);
  file.check();
  if (looksLikeFelis(file.root)) {
    const felis = felisDescription(file);
    file.check();
    return felis;
  }
  const top = file.root.fields(TOP_KEYS);
  const validation = top.get('validation').oneOf<ValidationLevel>(['strict', 'lax'], 'a validation level');
  if (top.has('schema') && top.has('schemas')) top.get('schemas').fail("and 'schema' cannot both be given");
  const declared: SchemaDescription[] = [];
  if (top.has('schema')) {
    const s = readSchema(top.get('schema'));
    if (s) declared.push(s);
  }
  for (const it of top.get('schemas').list()) {
    const s = readSchema(it);
    if (s) declared.push(s);
  }
  const tables: TableDescription[] = [];
  const tableList = top.required('tables').list();
  if (top.has('tables') && tableList.length === 0) top.get('tables').fail('must list at least one table');
  for (const it of tableList) {
    const t = readTable(it, declared);
    if (t) tables.push(t);
  }
  file.check();
  const schemas = [...declared];
  for (const t of tables) {
    if (!schemas.some((s) => s.name === t.schema)) schemas.push({ name: t.schema });
  }
  return defined({ schemas, tables, validation });
}

function readSchema(at: At): SchemaDescription | undefined {
  if (at.kind === 'scalar') {
    // `schema: radio` is short for `schema: {name: radio}`
    const name = at.str();
    return name === undefined ? undefined : { name };
  }
  const f = at.fields(SCHEMA_KEYS);
  const name = f.required('name').str();
  if (name === undefined) return undefined;
  return defined({ name, description: f.get('description').str(), utype: f.get('utype').str() });
}

function readTable(at: At, declared: readonly SchemaDescription[]): TableDescription | undefined {
  const f = at.fields(TABLE_KEYS);
  const name = f.required('name').str();
  let schema = f.get('schema').str();
  if (schema === undefined && !f.has('schema')) {
    if (declared.length === 1) schema = declared[0].name;
    else if (declared.length === 0) at.fail("needs 'schema' (no schema is declared at the top of the file)");
    else at.fail(`needs 'schema': the file declares several (${declared.map((s) => s.name).join(', ')})`);
  } else if (schema !== undefined && declared.length > 0 && !declared.some((s) => s.name === schema)) {
    f.get('schema').fail(
      `'${schema}' is not a schema declared in this file (${declared.map((s) => s.name).join(', ')})`,
    );
  }
  const columns: ColumnDescription[] = [];
  const columnList = f.required('columns').list();
  if (f.has('columns') && columnList.length === 0) f.get('columns').fail('must list at least one column');
  for (const c of columnList) {
    const col = readColumn(c);
    if (col) columns.push(col);
  }
  const foreignKeys: ForeignKeyDescription[] = [];
  for (const k of f.get('foreignKeys').list()) {
    const fk = readForeignKey(k);
    if (fk) foreignKeys.push(fk);
  }
  if (name === undefined || schema === undefined) return undefined;
  return defined({
    schema,
    name,
    title: f.get('title').str(),
    // A missing description is a metadata problem (validate.ts), not a reason to stop reading.
    description: f.get('description').str() ?? '',
    type: f.get('type').oneOf(['table', 'view'], 'a table type'),
    utype: f.get('utype').str(),
    columns,
    primaryKey: f.get('primaryKey').strings({ single: true }),
    position: f.has('position') ? readPosition(f.get('position')) : undefined,
    time: f.has('time') ? readTime(f.get('time')) : undefined,
    spectral: f.has('spectral') ? readSpectral(f.get('spectral')) : undefined,
    foreignKeys: foreignKeys.length > 0 ? foreignKeys : undefined,
    rights: f.has('rights') ? readRights(f.get('rights')) : undefined,
    registry: f.has('registry') ? readRegistry(f.get('registry')) : undefined,
    partitioning: f.has('partitioning') ? readPartitioning(f.get('partitioning')) : undefined,
  });
}

/** The layout of a big table (src/shards): whole numbers in the ranges the settings allow. */
function readPartitioning(at: At): PartitioningDescription {
  const f = at.fields(PARTITIONING_KEYS);
  const ranged = (key: (typeof PARTITIONING_KEYS)[number], min: number, max: number) => {
    const v = f.get(key).int();
    if (v !== undefined && (v < min || v > max)) return f.get(key).fail(`must be from ${min} to ${max}`);
    return v;
  };
  return defined({
    minRows: ranged('minRows', 0, Number.MAX_SAFE_INTEGER),
    order: ranged('order', 1, 12),
    partitions: ranged('partitions', 1, 4096),
    marginArcsec: ranged('marginArcsec', 0, 3600),
  });
}

function readColumn(at: At): ColumnDescription | undefined {
  const f = at.fields(COLUMN_KEYS);
  const name = f.required('name').str();
  const datatype = f.required('datatype').oneOf(DATATYPES, 'a VOTable datatype');
  const arraysizeAt = f.get('arraysize');
  let arraysize = arraysizeAt.str({ numbers: true });
  if (arraysize !== undefined && !ARRAYSIZE.test(arraysize)) {
    arraysizeAt.fail(`'${arraysize}' is not a VOTable arraysize (e.g. 16, 16*, *, 3x3)`);
    arraysize = undefined;
  }
  if (name === undefined || datatype === undefined) return undefined;
  return defined({
    name,
    sqlName: f.get('sqlName').str(),
    source: f.get('source').str(),
    datatype,
    arraysize,
    xtype: f.get('xtype').str(),
    // `unit: 1` (dimensionless in VOUnit) reads as a number in YAML. An empty unit is how
    // VOUnits §2.8 says "no unit" (and how VOTable and FITS files write it): no unit here.
    unit: f.get('unit').str({ numbers: true }) || undefined,
    ucd: f.get('ucd').str() || undefined,
    utype: f.get('utype').str(),
    description: f.get('description').str() || undefined,
    principal: f.get('principal').bool(),
    indexed: f.get('indexed').bool(),
    nullable: f.get('nullable').bool(),
    std: f.get('std').bool(),
    datalink: f.get('datalink').bool(),
  });
}

function readPosition(at: At): PositionDescription | undefined {
  const f = at.fields(POSITION_KEYS);
  const ra = f.required('ra').str();
  const dec = f.required('dec').str();
  const frame = f.get('frame').oneOf(['ICRS'], 'a frame vonode indexes');
  if (ra === undefined || dec === undefined) return undefined;
  return defined({ ra, dec, frame, healpixColumn: f.get('healpixColumn').str() });
}

function readTime(at: At): TimeDescription | undefined {
  const f = at.fields(TIME_KEYS);
  const column = f.required('column').str();
  if (column === undefined) return undefined;
  return defined({ column, format: f.get('format').str(), scale: f.get('scale').str() });
}

function readSpectral(at: At): SpectralDescription | undefined {
  const f = at.fields(SPECTRAL_KEYS);
  const column = f.required('column').str();
  if (column === undefined) return undefined;
  return defined({ column, unit: f.get('unit').str({ numbers: true }) });
}

function readForeignKey(at: At): ForeignKeyDescription | undefined {
  const f = at.fields(FOREIGN_KEY_KEYS);
  const target = f.required('target').str();
  const columns: (readonly [string, string])[] = [];
  const pairs = f.required('columns').list();
  for (const p of pairs) {
    const pair = readPair(p);
    if (pair) columns.push(pair);
  }
  if (f.has('columns') && pairs.length === 0) f.get('columns').fail('must list at least one column pair');
  if (target === undefined || columns.length === 0) return undefined;
  return defined({ target, columns, description: f.get('description').str() });
}

/** `[from, target]` or `{from: x, target: y}`. */
function readPair(at: At): readonly [string, string] | undefined {
  if (at.kind === 'list') {
    const items = at.list();
    if (items.length !== 2) return at.fail('must be a pair [from, target]');
    const from = items[0].str();
    const target = items[1].str();
    return from !== undefined && target !== undefined ? [from, target] : undefined;
  }
  const f = at.fields(FK_PAIR_KEYS);
  const from = f.required('from').str();
  const target = f.required('target').str();
  return from !== undefined && target !== undefined ? [from, target] : undefined;
}

function readRights(at: At): RightsDescription | undefined {
  const f = at.fields(RIGHTS_KEYS);
  const releaseAt = f.get('releaseDate');
  let releaseDate = releaseAt.str();
  if (releaseDate !== undefined && (!ISO_DATE.test(releaseDate) || Number.isNaN(Date.parse(releaseDate)))) {
    releaseAt.fail(`'${releaseDate}' is not an ISO 8601 date (YYYY-MM-DD)`);
    releaseDate = undefined;
  }
  return defined({
    ownerGroup: f.get('ownerGroup').str(),
    ownerGroupColumn: f.get('ownerGroupColumn').str(),
    releaseDate,
    releaseColumn: f.get('releaseColumn').str(),
  });
}

function readRegistry(at: At): RegistryDescription | undefined {
  const f = at.fields(REGISTRY_KEYS);
  const waveband: string[] = [];
  for (const w of f.get('waveband').list({ single: true })) {
    const band = w.oneOf(WAVEBANDS, 'a VOResource waveband');
    if (band) waveband.push(band);
  }
  return defined({
    title: f.get('title').str(),
    creators: f.get('creators').strings({ single: true }),
    subjects: f.get('subjects').strings({ single: true }),
    waveband: f.has('waveband') ? waveband : undefined,
    licence: f.get('licence').str(),
    referenceUrl: f.get('referenceUrl').str(),
    contact: f.get('contact').str(),
  });
}
