// Typing and result metadata: the type (VType) of published columns and of expressions,
// which types may meet (comparison, set operations, COALESCE), and the VOTable metadata of
// each result column.

import type { Condition, Expr } from './ast.js';
import type { CatalogueColumn, ColumnMetadata, VOTableDatatype } from './catalogue.js';
import type { Meta, OutCol, Val, VType } from './context.js';
import { leftSpine } from './context.js';
import { AdqlError, type Position } from './errors.js';

export const NUM_DOUBLE: VType = { cat: 'num', meta: { datatype: 'double' } };

export function typeOfMeta(meta: Meta): VType {
  const x = meta.xtype?.toLowerCase();
  if (x === 'point' || x === 'circle' || x === 'polygon') return { cat: 'geo', geo: x, meta };
  if (x === 'adql:region' || x === 'region' || x === 'moc') return { cat: 'geo', geo: 'region', meta };
  if (x === 'timestamp') return { cat: 'time', meta };
  const scalar = !meta.arraysize || meta.arraysize === '1';
  switch (meta.datatype) {
    case 'char':
    case 'unicodeChar':
      return { cat: 'str', meta };
    case 'boolean':
      return { cat: 'bool', meta };
    case 'short':
    case 'int':
    case 'long':
    case 'unsignedByte':
    case 'bit':
      return scalar ? { cat: 'num', integer: true, meta } : { cat: 'array', meta };
    case 'float':
    case 'double':
      return scalar ? { cat: 'num', meta } : { cat: 'array', meta };
    default:
      return { cat: 'array', meta };
  }
}

/** The type of a published column: its metadata, unless its storage differs (region). */
export function columnType(c: CatalogueColumn, meta: Meta): VType {
  if (c.region === undefined) return typeOfMeta(meta);
  if (c.region === 'polygon-array') return { cat: 'geo', geo: 'polygon', meta, stcs: true };
  // A declaration error, not a query error: the catalogue promised a storage we do not know.
  throw new Error(`column ${c.name}: unknown region storage '${String(c.region)}'`);
}

/** SQL of a value as it leaves the query: region-published polygons become STC-S text. */
export function presented(sql: string, t: VType): string {
  return t.stcs ? `adql.polygon_stcs(${sql})` : sql;
}

/** TAP-63: a region published as STC-S is, like a CLOB, not comparable; say what works instead. */
export function refuseRegionCompare(vals: Val[], pos: Position, what: string): void {
  const v = vals.find((x) => x.t.stcs);
  if (!v) return;
  throw new AdqlError(
    'semantic',
    `'${v.name}' is a region (adql:REGION) and cannot be compared with ${what}; test it with CONTAINS or INTERSECTS, or compare CAST(${v.name} AS VARCHAR)`,
    pos,
    what,
  );
}

export function geoMeta(kind: 'point' | 'circle' | 'polygon'): Meta {
  return {
    datatype: 'double',
    arraysize: kind === 'point' ? '2' : kind === 'circle' ? '3' : '*',
    xtype: kind,
    unit: 'deg',
  };
}

export function numType(integer: boolean, datatype?: VOTableDatatype, extra?: Partial<Meta>): VType {
  const meta: Meta = { datatype: datatype ?? (integer ? 'long' : 'double') };
  if (extra) addMeta(meta, extra);
  return { cat: 'num', integer, meta };
}

/**
 * Copies the metadata `from` has into `to`, key by key. Metadata is never merged with an
 * object spread in the compiler: V8 (Node 20) takes microseconds for a spread followed by
 * a property the source lacks, several times the cost of the rest of a small query.
 */
export function addMeta(to: Partial<Meta>, from: Partial<Meta>): void {
  if (from.datatype !== undefined) to.datatype = from.datatype;
  if (from.arraysize !== undefined) to.arraysize = from.arraysize;
  if (from.xtype !== undefined) to.xtype = from.xtype;
  if (from.unit !== undefined) to.unit = from.unit;
  if (from.ucd !== undefined) to.ucd = from.ucd;
  if (from.utype !== undefined) to.utype = from.utype;
  if (from.description !== undefined) to.description = from.description;
  if (from.datalink !== undefined) to.datalink = from.datalink;
}

/** A result column's metadata: its name with the metadata of its type. */
export function columnMeta(name: string, meta: Meta): ColumnMetadata {
  const m: ColumnMetadata = { name, datatype: meta.datatype };
  addMeta(m, meta);
  return m;
}

/** A type's metadata without the column's name (the type of a column value). */
export function metaOf(c: ColumnMetadata): Meta {
  const m: Meta = { datatype: c.datatype };
  addMeta(m, c);
  return m;
}

export const STR: VType = { cat: 'str', meta: { datatype: 'char', arraysize: '*' } };

export function widerInt(a: VOTableDatatype, b: VOTableDatatype): VOTableDatatype {
  const order: VOTableDatatype[] = ['unsignedByte', 'short', 'int', 'long'];
  return order[Math.max(order.indexOf(a), order.indexOf(b), 2)] ?? 'long';
}

export function compatible(a: VType, b: VType): boolean {
  if (a.cat === 'null' || b.cat === 'null') return true;
  if (a.cat === b.cat) return a.cat !== 'geo' || a.geo === b.geo;
  return (a.cat === 'time' && b.cat === 'str') || (a.cat === 'str' && b.cat === 'time');
}

export function describeType(t: VType): string {
  switch (t.cat) {
    case 'num':
      return t.integer ? 'an integer' : 'a number';
    case 'str':
      return 'a string';
    case 'time':
      return 'a timestamp';
    case 'geo':
      return t.stcs ? 'a REGION (a polygon)' : `a ${t.geo?.toUpperCase()}`;
    case 'bool':
      return 'a boolean';
    case 'null':
      return 'NULL';
    default:
      return 'an array';
  }
}

export function hasAggregate(e: Expr): boolean {
  switch (e.kind) {
    case 'aggregate':
      return true;
    case 'unary':
    case 'paren':
    case 'cast':
      return hasAggregate(e.arg);
    case 'binary':
      return leftSpine(e, 'binary').some(hasAggregate);
    case 'call':
    case 'udf':
      return e.args.some(hasAggregate);
    case 'case':
      return (
        (e.operand !== undefined && hasAggregate(e.operand)) ||
        e.whens.some(
          (w) =>
            hasAggregate(w.result) ||
            ('kind' in w.when && isCondition(w.when)
              ? condHasAggregate(w.when)
              : hasAggregate(w.when as Expr)),
        ) ||
        (e.otherwise !== undefined && hasAggregate(e.otherwise))
      );
    default:
      return false;
  }
}

export const CONDITION_KINDS = new Set([
  'compare',
  'between',
  'in',
  'like',
  'isnull',
  'exists',
  'and',
  'or',
  'not',
  'group',
]);
export function isCondition(x: Condition | Expr): x is Condition {
  return CONDITION_KINDS.has(x.kind);
}

export function condHasAggregate(c: Condition): boolean {
  switch (c.kind) {
    case 'and':
    case 'or':
      return leftSpine(c, c.kind).some(condHasAggregate);
    case 'not':
    case 'group':
      return condHasAggregate(c.arg);
    case 'compare':
      return hasAggregate(c.left) || hasAggregate(c.right);
    case 'between':
      return hasAggregate(c.arg) || hasAggregate(c.low) || hasAggregate(c.high);
    case 'in':
      return hasAggregate(c.arg) || (c.list?.some(hasAggregate) ?? false);
    case 'like':
      return hasAggregate(c.arg) || hasAggregate(c.pattern);
    case 'isnull':
      return hasAggregate(c.arg);
    default:
      return false;
  }
}

/**
 * The VOTable metadata of the result columns. Written out key by key (not a loop over key
 * names): a select list of thousands of columns stays cheap, and the keys keep their order.
 */
export function resultColumns(cols: OutCol[]): ColumnMetadata[] {
  return cols.map((c) => {
    const meta = c.t.meta;
    const m: ColumnMetadata = { name: c.name, datatype: meta.datatype };
    if (meta.arraysize !== undefined) m.arraysize = meta.arraysize;
    if (meta.xtype !== undefined) m.xtype = meta.xtype;
    if (meta.unit !== undefined) m.unit = meta.unit;
    if (meta.ucd !== undefined) m.ucd = meta.ucd;
    if (meta.utype !== undefined) m.utype = meta.utype;
    if (meta.description !== undefined) m.description = meta.description;
    if (meta.datalink !== undefined) m.datalink = meta.datalink;
    return m;
  });
}
