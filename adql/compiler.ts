// Semantic check and translation in one walk over the AST: each expression compiles to
// a Val (SQL text + inferred type + result metadata), so names, types, aggregates and
// geometry are checked exactly where the SQL for them is produced.
//
// Safety rules (why the output cannot contain user-written SQL):
//  - identifiers in the SQL come only from the catalogue (quoted) or are generated (_t1, c1);
//  - string literals become bind parameters ($n::text);
//  - numbers are re-emitted from the lexer's digit strings or from computed doubles;
//  - comments never leave the lexer.

import { coneCoverage, type PixelRange, polygonCoverage } from '../sky/index.js';
import type {
  CastTarget,
  Condition,
  Expr,
  Identifier,
  OrderTerm,
  QueryAst,
  QueryExpression,
  QueryTerm,
  SelectQuery,
  SetOperation,
  TableRef,
} from './ast.js';
import type {
  Catalogue,
  CatalogueColumn,
  CatalogueTable,
  ColumnMetadata,
  CompiledQuery,
  CompileOptions,
  VOTableDatatype,
} from './catalogue.js';
import { AdqlError, closest, type Position } from './errors.js';
import { boxVertices, num, polygonCap, polygonInfo, toVec } from './geometry.js';
import { inferredConversion, inferUnit } from './units.js';

type Cat = 'num' | 'str' | 'time' | 'geo' | 'bool' | 'null' | 'array';
type GeoKind = 'point' | 'circle' | 'polygon' | 'region';
type Meta = Omit<ColumnMetadata, 'name'>;

interface VType {
  cat: Cat;
  integer?: boolean;
  geo?: GeoKind;
  meta: Meta;
  /**
   * A DALI polygon (geo 'polygon', float8[] in SQL) published as STC-S text: geometry
   * reads the array, a result column gets adql.polygon_stcs (CatalogueColumn.region).
   */
  stcs?: true;
}

type Shape =
  | { kind: 'point'; lon: Val; lat: Val }
  | { kind: 'circle'; lon: Val; lat: Val; r: Val }
  | { kind: 'polygon'; verts: Array<[Val, Val]> }
  | { kind: 'box'; lon: Val; lat: Val; w: Val; h: Val };

interface Val {
  sql: string;
  t: VType;
  name: string;
  agg: boolean;
  rels: Set<Rel>;
  /** Numeric value when the expression is a constant known at compile time. */
  k?: number;
  shape?: Shape;
  column?: { rel: Rel; col: RelCol };
  coordsys?: string;
}

interface RelCol {
  name: string;
  sql: string;
  t: VType;
  meta: ColumnMetadata;
}

interface Rel {
  alias: string;
  corr?: Identifier;
  schemaName?: string;
  tableName: string;
  table?: CatalogueTable;
  columns: RelCol[];
  /** Extra computed columns (per-row crossmatch ranges), materialised once per row. */
  extras: Array<{ name: string; sql: string }>;
  baseSql: string;
  placeholder: string;
}

interface PendingCrossmatch {
  idx: { rel: Rel; hpx: string };
  cc: { lon: string; lat: string; r: string; rels: Set<Rel> };
  exact: string;
}

interface XmHoist {
  /**
   * Whether a crossmatch on indexed `idx` around a circle from `circle` may filter idx in a
   * LATERAL; with `allowMove` false, only as the FROM list is written. No side effects.
   */
  accepts(idx: Rel, circle: Set<Rel>, allowMove?: boolean): boolean;
  /** Called when the crossmatch does become idx's LATERAL filter. */
  commit?(idx: Rel, circle: Set<Rel>): void;
  pending: Map<string, PendingCrossmatch>;
}

interface StarEntry {
  val: Val;
}

interface OutCol {
  name: string;
  t: VType;
}

interface Compiled {
  sql: string;
  cols: OutCol[];
}

/**
 * The relations a LATERAL item may read: the outer ones, plus a prefix of one growing list
 * (the items written before it), plus a few extra. Made in O(1) per FROM item, since a FROM
 * list of n items would otherwise copy O(n^2) relations; asked only about crossmatches.
 */
class Visible {
  static readonly NONE = new Visible();
  constructor(
    private readonly outer?: Visible,
    private readonly list?: { index: Map<Rel, number> },
    private readonly upto = 0,
    private readonly extra?: ReadonlySet<Rel>,
  ) {}
  has(r: Rel): boolean {
    const at = this.list?.index.get(r);
    if (at !== undefined && at < this.upto) return true;
    if (this.extra?.has(r)) return true;
    return this.outer?.has(r) ?? false;
  }
}

/** A list of relations that knows each one's place (for Visible prefixes). */
class RelList {
  readonly rels: Rel[] = [];
  readonly index = new Map<Rel, number>();
  add(r: Rel): void {
    if (this.index.has(r)) return;
    this.index.set(r, this.rels.length);
    this.rels.push(r);
  }
  prefix(outer?: Visible): Visible {
    return new Visible(outer, this, this.rels.length);
  }
}

class Scope {
  rels: Rel[] = [];
  /** The same relations as a set, and their columns by lower-case name: name lookups stay O(1) as FROM grows. */
  readonly relSet = new Set<Rel>();
  readonly columnsByName = new Map<string, Array<{ rel: Rel; col: RelCol }>>();
  readonly relsByName = new Map<string, Rel[]>();
  merged = new Map<string, Val>();
  constructor(readonly parent?: Scope) {}
  add(rel: Rel): void {
    this.rels.push(rel);
    this.relSet.add(rel);
    pushTo(this.relsByName, (rel.corr ? rel.corr.name : rel.tableName).toLowerCase(), rel);
    for (const col of rel.columns)
      pushTo(this.columnsByName, stripQuotes(col.name).name.toLowerCase(), { rel, col });
  }
}

function pushTo<K, V>(m: Map<K, V[]>, k: K, v: V): void {
  const list = m.get(k);
  if (list) list.push(v);
  else m.set(k, [v]);
}

interface Ctx {
  scope: Scope;
  allowAgg: boolean;
  aggDepth: number;
  grouping?: Set<string>;
  ungrouped: Array<{ name: string; pos: Position }>;
  clause: string;
}

/** A column's type with its published metadata, by that metadata (values are never modified). */
const colTypes = new WeakMap<ColumnMetadata, VType>();

const DEFAULT_MAX_RANGES = 16;
const META_KEYS = ['arraysize', 'xtype', 'unit', 'ucd', 'utype', 'description'] as const;
/** Per published column, what every compile needs (published metadata is immutable per catalogue object). */
const columnCache = new WeakMap<
  CatalogueColumn,
  { name: string; phys: string; meta: ColumnMetadata; t: VType }
>();

/**
 * Coverage of constant shapes, memoised: computing it dominates compile time (hundreds of
 * microseconds), and clients repeat the same cone (paging, polling, reruns). Bounded LRU.
 */
const COVERAGE_CACHE_SIZE = 512;
const coverageCache = new Map<string, ReadonlyArray<PixelRange>>();
function cachedCoverage(key: string, compute: () => ReadonlyArray<PixelRange>): ReadonlyArray<PixelRange> {
  const hit = coverageCache.get(key);
  if (hit) {
    coverageCache.delete(key);
    coverageCache.set(key, hit);
    return hit;
  }
  let value: ReadonlyArray<PixelRange>;
  try {
    value = compute();
  } catch (e) {
    // A prefilter is an optimisation: if coverage cannot be computed, the exact test alone is still correct.
    if (e instanceof Error && e.name === 'SkyError') return [[0n, SKY_END]];
    throw e;
  }
  coverageCache.set(key, value);
  if (coverageCache.size > COVERAGE_CACHE_SIZE)
    coverageCache.delete(coverageCache.keys().next().value as string);
  return value;
}
const SKY_END = 12n << 58n;

const NUM_DOUBLE: VType = { cat: 'num', meta: { datatype: 'double' } };

function stripQuotes(name: string): { name: string; exact: boolean } {
  if (name.length >= 2 && name.startsWith('"') && name.endsWith('"')) {
    return { name: name.slice(1, -1).replace(/""/g, '"'), exact: true };
  }
  return { name, exact: false };
}

function matches(id: Identifier, published: string): boolean {
  const p = stripQuotes(published);
  return id.delimited ? id.name === p.name : id.name.toLowerCase() === p.name.toLowerCase();
}

function quoteIdent(s: string): string {
  if (s.includes('\u0000')) throw new Error('identifier with NUL');
  return `"${s.replace(/"/g, '""')}"`;
}

function typeOfMeta(meta: Meta): VType {
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
function columnType(c: CatalogueColumn, meta: Meta): VType {
  if (c.region === undefined) return typeOfMeta(meta);
  if (c.region === 'polygon-array') return { cat: 'geo', geo: 'polygon', meta, stcs: true };
  // A declaration error, not a query error: the catalogue promised a storage we do not know.
  throw new Error(`column ${c.name}: unknown region storage '${String(c.region)}'`);
}

/** SQL of a value as it leaves the query: region-published polygons become STC-S text. */
function presented(sql: string, t: VType): string {
  return t.stcs ? `adql.polygon_stcs(${sql})` : sql;
}

/** TAP-63: a region published as STC-S is, like a CLOB, not comparable; say what works instead. */
function refuseRegionCompare(vals: Val[], pos: Position, what: string): void {
  const v = vals.find((x) => x.t.stcs);
  if (!v) return;
  throw new AdqlError(
    'semantic',
    `'${v.name}' is a region (adql:REGION) and cannot be compared with ${what}; test it with CONTAINS or INTERSECTS, or compare CAST(${v.name} AS VARCHAR)`,
    pos,
    what,
  );
}

function geoMeta(kind: 'point' | 'circle' | 'polygon'): Meta {
  return {
    datatype: 'double',
    arraysize: kind === 'point' ? '2' : kind === 'circle' ? '3' : '*',
    xtype: kind,
    unit: 'deg',
  };
}

function numType(integer: boolean, datatype?: VOTableDatatype, extra?: Partial<Meta>): VType {
  const meta: Meta = { datatype: datatype ?? (integer ? 'long' : 'double') };
  return { cat: 'num', integer, meta: extra ? { ...meta, ...extra } : meta };
}

const STR: VType = { cat: 'str', meta: { datatype: 'char', arraysize: '*' } };

function widerInt(a: VOTableDatatype, b: VOTableDatatype): VOTableDatatype {
  const order: VOTableDatatype[] = ['unsignedByte', 'short', 'int', 'long'];
  return order[Math.max(order.indexOf(a), order.indexOf(b), 2)] ?? 'long';
}

export class Compiler {
  private params: unknown[] = [];
  private paramIndex = new Map<string, number>();
  private relCount = 0;
  private ctes = new Map<string, { id: Identifier; alias: string; cols: OutCol[] }>();
  /** The WITH queries by lower-case name: only names equal ignoring case can match. */
  private ctesByName = new Map<string, Array<{ id: Identifier; alias: string; cols: OutCol[] }>>();
  private tablesByName = new Map<string, CatalogueTable[]>();
  private allTables: CatalogueTable[] = [];
  private xmCount = 0;
  private rels: Rel[] = [];
  /** Where each table reference sits in its FROM: what a LATERAL there may see, and whether only inner joins lead to it. */
  private fromInfo = new Map<Rel, { visible: Visible; inner: boolean }>();
  /** Crossmatch filters moved into a LATERAL subquery on the indexed relation. */
  private lateral = new Map<Rel, Array<{ name: string; call: string; cond: string }>>();
  /** Set while a top-level conjunct of WHERE/ON compiles: crossmatches there may become LATERAL. */
  private xmHoist?: XmHoist;
  private readonly maxRanges: number;

  constructor(
    catalogue: Catalogue,
    private readonly options: CompileOptions = {},
  ) {
    for (const t of catalogue.tables()) {
      this.allTables.push(t);
      const key = stripQuotes(t.name).name.toLowerCase();
      const list = this.tablesByName.get(key);
      if (list) list.push(t);
      else this.tablesByName.set(key, [t]);
    }
    this.maxRanges = options.maxRanges ?? DEFAULT_MAX_RANGES;
    if (options.maxrec !== undefined && !(Number.isSafeInteger(options.maxrec) && options.maxrec >= 0)) {
      throw new RangeError(`maxrec must be a non-negative integer, got ${options.maxrec}`);
    }
  }

  compile(ast: QueryAst): CompiledQuery {
    const withSql: string[] = [];
    for (const w of ast.with) {
      for (const c of this.ctesByName.get(w.name.name.toLowerCase()) ?? []) {
        if (matches(w.name, c.id.delimited ? `"${c.id.name}"` : c.id.name) || matches(c.id, w.name.name)) {
          throw new AdqlError(
            'semantic',
            `WITH query '${w.name.name}' is defined twice`,
            w.name.pos,
            w.name.name,
          );
        }
      }
      const compiled = this.queryExpression(w.query, undefined, false);
      const alias = `_w${this.ctes.size + 1}`;
      withSql.push(`${quoteIdent(alias)} AS (${compiled.sql})`);
      const cte = { id: w.name, alias, cols: compiled.cols };
      this.ctes.set(alias, cte);
      pushTo(this.ctesByName, w.name.name.toLowerCase(), cte);
    }
    const main = this.queryExpression(ast.query, undefined, true, this.options.maxrec);
    let sql = withSql.length ? `WITH ${withSql.join(', ')} ${main.sql}` : main.sql;
    sql = this.expandPlaceholders(sql);
    // Written out key by key (not a loop over key names): a select list of thousands of
    // columns stays cheap, and the keys keep their order.
    const columns = main.cols.map((c) => {
      const meta = c.t.meta;
      const m: ColumnMetadata = { name: c.name, datatype: meta.datatype };
      if (meta.arraysize !== undefined) m.arraysize = meta.arraysize;
      if (meta.xtype !== undefined) m.xtype = meta.xtype;
      if (meta.unit !== undefined) m.unit = meta.unit;
      if (meta.ucd !== undefined) m.ucd = meta.ucd;
      if (meta.utype !== undefined) m.utype = meta.utype;
      if (meta.description !== undefined) m.description = meta.description;
      return m;
    });
    return { sql, params: this.params, columns };
  }

  /**
   * Each FROM item was written as a placeholder (its SQL depends on LATERAL filters found
   * later); here each is replaced once, by its SQL, in one pass over the text. A derived
   * table's SQL carries its inner placeholders: they are expanded in turn (nesting depth is
   * bounded by the parser).
   */
  private expandPlaceholders(sql: string, done = new Set<number>()): string {
    return sql.replace(/\u0000R(\d+)\u0000/g, (whole, n: string) => {
      const k = Number(n);
      const rel = this.rels[k - 1];
      // Each placeholder is written once; a second copy would be a compiler bug, and stays
      // as it is (NUL cannot reach PostgreSQL: the query fails rather than mean something else).
      if (!rel || done.has(k)) return whole;
      done.add(k);
      return this.expandPlaceholders(this.relSql(rel), done);
    });
  }

  private relSql(rel: Rel): string {
    const xs = this.lateral.get(rel);
    if (xs) {
      // Per row of the circle side: the ranges once (OFFSET 0 keeps the one-row subquery
      // from being flattened into the range arms), then a parameterised index scan on the
      // HEALPix column. The outer OFFSET 0 stops PostgreSQL pulling the subquery up, which
      // would free it to join the other way round and evaluate the ranges per pair.
      const a = quoteIdent(rel.alias);
      const list = [`${a}.*`, ...rel.extras.map((e) => `${e.sql} AS ${quoteIdent(e.name)}`)].join(', ');
      const from = [
        ...xs.map((x) => `(SELECT ${x.call} AS xr OFFSET 0) AS ${quoteIdent(x.name)}`),
        `${rel.baseSql} AS ${a}`,
      ].join(', ');
      return `LATERAL (SELECT ${list} FROM ${from} WHERE ${xs.map((x) => x.cond).join(' AND ')} OFFSET 0) AS ${a}`;
    }
    if (!rel.extras.length) return `${rel.baseSql} AS ${quoteIdent(rel.alias)}`;
    // OFFSET 0 keeps PostgreSQL from flattening the subquery, so the per-row ranges are
    // computed once per row rather than once per reference in the join condition.
    const extras = rel.extras.map((e) => `${e.sql} AS ${quoteIdent(e.name)}`).join(', ');
    return `(SELECT ${quoteIdent(rel.alias)}.*, ${extras} FROM ${rel.baseSql} AS ${quoteIdent(rel.alias)} OFFSET 0) AS ${quoteIdent(rel.alias)}`;
  }

  /**
   * One parameter per distinct string: an expression compiled twice (GROUP BY an alias,
   * CONTAINS in a select list) then yields identical SQL, and no parameter goes unused.
   */
  private param(value: string): string {
    let n = this.paramIndex.get(value);
    if (n === undefined) {
      this.params.push(value);
      n = this.params.length;
      this.paramIndex.set(value, n);
    }
    return `$${n}::text`;
  }

  // ------------------------------------------------------------------ queries

  private queryExpression(
    q: QueryExpression,
    parent: Scope | undefined,
    final: boolean,
    maxrec?: number,
  ): Compiled {
    if (q.body.kind === 'select') return this.select(q.body, parent, final, q.orderBy, q.offset, maxrec);
    const body = this.queryTerm(q.body, parent);
    const order = q.orderBy.map((o) => this.setOrderTerm(o, body.cols));
    const limit = maxrec !== undefined ? maxrec + 1 : undefined;
    const names = final
      ? this.outputNames(body.cols.map((c) => c.name))
      : body.cols.map((_, i) => `c${i + 1}`);
    const list = body.cols
      .map((c, i) => {
        const col = `"_q".${quoteIdent(`c${i + 1}`)}`;
        return `${final ? presented(col, c.t) : col} AS ${quoteIdent(names[i])}`;
      })
      .join(', ');
    let sql = `SELECT ${list} FROM (${body.sql}) AS "_q"`;
    if (order.length) sql += ` ORDER BY ${order.join(', ')}`;
    if (limit !== undefined) sql += ` LIMIT ${limit}`;
    if (q.offset !== undefined) sql += ` OFFSET ${q.offset}`;
    return { sql, cols: body.cols.map((c, i) => ({ name: final ? names[i] : c.name, t: c.t })) };
  }

  private setOrderTerm(o: OrderTerm, cols: OutCol[]): string {
    const dir = o.descending ? ' DESC' : '';
    const e = o.expr;
    if (e.kind === 'number' && e.integer) {
      if (e.value < 1 || e.value > cols.length) {
        throw new AdqlError(
          'semantic',
          `ORDER BY ${e.value}: the query has ${cols.length} columns`,
          e.pos,
          e.text,
        );
      }
      return `"_q"."c${e.value}"${dir}`;
    }
    if (e.kind === 'column' && e.parts.length === 1) {
      const idx = cols.findIndex((c) => matches(e.parts[0], c.name));
      if (idx >= 0) return `"_q"."c${idx + 1}"${dir}`;
      const s = closest(
        e.parts[0].name,
        cols.map((c) => c.name),
      );
      throw new AdqlError(
        'semantic',
        `no column '${e.parts[0].name}' in the result of the set operation`,
        e.pos,
        e.parts[0].name,
        s && `'${s}'`,
      );
    }
    throw new AdqlError(
      'semantic',
      'ORDER BY after a set operation must name a result column or give its position',
      o.pos,
    );
  }

  private queryTerm(term: QueryTerm, parent: Scope | undefined): Compiled {
    if (term.kind === 'select') return this.select(term, parent, false, [], undefined, undefined);
    if (term.kind === 'nested') return this.queryExpression(term.query, parent, false);
    // `q1 UNION q2 UNION ...` is left-deep: a loop over the chain, not recursion in its length.
    const nodes: SetOperation[] = [];
    let first: QueryTerm = term;
    while (first.kind === 'setop') {
      nodes.push(first);
      first = first.left;
    }
    let acc = this.queryTerm(first, parent);
    for (let i = nodes.length - 1; i >= 0; i--) acc = this.setOperation(nodes[i], acc, parent);
    return acc;
  }

  private setOperation(term: SetOperation, left: Compiled, parent: Scope | undefined): Compiled {
    const right = this.queryTerm(term.right, parent);
    if (left.cols.length !== right.cols.length) {
      throw new AdqlError(
        'semantic',
        `${term.op} operands have different numbers of columns (${left.cols.length} and ${right.cols.length})`,
        term.pos,
        term.op,
      );
    }
    left.cols.forEach((c, i) => {
      const r = right.cols[i];
      if (!compatible(c.t, r.t)) {
        throw new AdqlError(
          'semantic',
          `${term.op} column ${i + 1} has incompatible types (${describeType(c.t)} and ${describeType(r.t)})`,
          term.pos,
          term.op,
        );
      }
    });
    // ADQL-47: metadata from the left operand.
    const sql = `(${left.sql}) ${term.op}${term.all ? ' ALL' : ''} (${right.sql})`;
    return { sql, cols: left.cols };
  }

  private outputNames(names: string[]): string[] {
    const seen = new Map<string, number>();
    return names.map((n) => {
      const key = n.toLowerCase();
      const count = seen.get(key) ?? 0;
      seen.set(key, count + 1);
      if (count === 0) return n;
      let candidate = `${n}_${count + 1}`;
      while (seen.has(candidate.toLowerCase())) candidate = `${candidate}_`;
      seen.set(candidate.toLowerCase(), 1);
      return candidate;
    });
  }

  private select(
    sel: SelectQuery,
    parent: Scope | undefined,
    final: boolean,
    orderBy: OrderTerm[],
    offset: number | undefined,
    maxrec: number | undefined,
  ): Compiled {
    const scope = new Scope(parent);
    const fromSql: string[] = [];
    const star: StarEntry[] = [];
    const earlier = new RelList();
    // Plain tables of the comma list: one of them may be moved last (below).
    const plain = new Map<Rel, number>();
    for (const f of sel.from) {
      // A LATERAL item may refer to every earlier item of the FROM list.
      const r = this.fromItem(f, scope, earlier.prefix(), true);
      if (f.kind === 'table') plain.set(r.rels[0], fromSql.length);
      fromSql.push(r.sql);
      star.push(...r.star);
      for (const rel of r.rels) earlier.add(rel);
    }
    const ctx = (clause: string, allowAgg: boolean): Ctx => ({
      scope,
      allowAgg,
      aggDepth: 0,
      ungrouped: [],
      clause,
    });

    let where = '';
    if (sel.where) {
      const local = scope.relSet;
      // A WHERE crossmatch may move into the indexed table's LATERAL only if no outer join
      // can null-extend that table, and the circle's relations precede it.
      // A comma list is a cross join, whose order means nothing to the result (the select
      // list names its columns): an indexed table written before the circle's table is
      // moved to the end of the list, where it sees every other item. Once only, and not
      // when another item's LATERAL already reads it.
      let moved: Rel | undefined;
      const seesAll = (idx: Rel, circle: Set<Rel>) => {
        const info = this.fromInfo.get(idx);
        return [...circle].every((r) => !local.has(r) || info?.visible.has(r));
      };
      const accepts = (idx: Rel, circle: Set<Rel>, allowMove = true) => {
        if (!this.fromInfo.get(idx)?.inner || !local.has(idx)) return false;
        // Once moved last, no other item may read that table laterally.
        if (moved && idx !== moved && circle.has(moved)) return false;
        if (seesAll(idx, circle)) return true;
        if (!allowMove || moved || !plain.has(idx) || circle.has(idx)) return false;
        // Nor may the move take it away from an item whose LATERAL could already read it.
        for (const [rel, xs] of this.lateral)
          if (rel !== idx && local.has(rel) && xs.length > 0 && this.fromInfo.get(rel)?.visible.has(idx))
            return false;
        return true;
      };
      const commit = (idx: Rel, circle: Set<Rel>) => {
        if (seesAll(idx, circle)) return;
        moved = idx;
        const info = this.fromInfo.get(idx)!;
        this.fromInfo.set(idx, { ...info, visible: new Visible(info.visible, undefined, 0, local) });
      };
      where = ` WHERE ${this.conjuncts(sel.where, ctx('WHERE', false), accepts, commit)}`;
      if (moved && this.lateral.has(moved)) {
        const at = plain.get(moved) as number;
        fromSql.push(...fromSql.splice(at, 1));
      }
    }

    // Aggregated query? Then every column outside an aggregate must be grouped.
    const aggregated =
      sel.groupBy.length > 0 ||
      sel.items.some((it) => it.kind === 'expr' && hasAggregate(it.expr)) ||
      (sel.having !== undefined && condHasAggregate(sel.having));

    const groupSql: string[] = [];
    const grouping = new Set<string>();
    for (const g of sel.groupBy) {
      let v: Val | undefined;
      if (g.kind === 'column' && g.parts.length === 1 && !this.tryResolve(g.parts, scope)) {
        // GROUP BY an output alias (ADQL-58 `GROUP BY band`).
        const item = sel.items.find(
          (it) =>
            it.kind === 'expr' &&
            it.alias &&
            matches(g.parts[0], it.alias.delimited ? `"${it.alias.name}"` : it.alias.name),
        );
        if (item && item.kind === 'expr') v = this.expr(item.expr, ctx('GROUP BY', false));
      }
      v ??= this.expr(g, ctx('GROUP BY', false));
      groupSql.push(v.sql);
      grouping.add(v.sql);
    }

    const items: Array<{ val: Val; alias?: Identifier }> = [];
    for (const it of sel.items) {
      if (it.kind === 'all') {
        if (!it.qualifier) {
          for (const s of star) items.push({ val: s.val });
        } else {
          const rel = this.findRel(it.qualifier, scope, it.pos, true);
          for (const c of rel!.columns) items.push({ val: this.colVal(rel!, c) });
        }
        continue;
      }
      const c = ctx('SELECT', true);
      if (aggregated) c.grouping = grouping;
      const v = this.expr(it.expr, c);
      this.checkGrouped(c);
      items.push({ val: v, alias: it.alias });
    }
    if (aggregated) {
      for (const s of items) {
        if (sel.items.some((x) => x.kind === 'all') && s.val.column && !grouping.has(s.val.sql)) {
          throw new AdqlError(
            'semantic',
            `column '${s.val.name}' must appear in GROUP BY or be used in an aggregate function`,
            sel.pos,
            '*',
          );
        }
      }
    }

    let having = '';
    if (sel.having) {
      const c = ctx('HAVING', true);
      c.grouping = grouping;
      having = ` HAVING ${this.condition(sel.having, c)}`;
      this.checkGrouped(c);
    }

    const rawNames = items.map((it) => (it.alias ? it.alias.name : it.val.name));
    const names = final ? this.outputNames(rawNames) : items.map((_, i) => `c${i + 1}`);
    const list = items
      .map((it, i) => {
        let sql = final ? presented(it.val.sql, it.val.t) : it.val.sql;
        if (it.val.t.cat === 'null') sql = `CAST(${sql} AS text)`;
        return `${sql} AS ${quoteIdent(names[i])}`;
      })
      .join(', ');

    const order: string[] = [];
    for (const o of orderBy) {
      const dir = o.descending ? ' DESC' : '';
      const e = o.expr;
      if (e.kind === 'number' && e.integer) {
        if (e.value < 1 || e.value > items.length) {
          throw new AdqlError(
            'semantic',
            `ORDER BY ${e.value}: the select list has ${items.length} columns`,
            e.pos,
            e.text,
          );
        }
        order.push(`${e.value}${dir}`);
        continue;
      }
      if (e.kind === 'column' && e.parts.length === 1) {
        const idx = items.findIndex(
          (it) => it.alias && matches(e.parts[0], it.alias.delimited ? `"${it.alias.name}"` : it.alias.name),
        );
        if (idx >= 0) {
          order.push(`${idx + 1}${dir}`);
          continue;
        }
      }
      const c = ctx('ORDER BY', true);
      if (aggregated) c.grouping = grouping;
      const v = this.expr(e, c);
      this.checkGrouped(c);
      if (v.t.cat === 'geo' || v.t.cat === 'array') {
        throw new AdqlError('semantic', 'cannot ORDER BY a geometry or array value', o.pos);
      }
      const idx = items.findIndex((it) => it.val.sql === v.sql);
      if (idx >= 0) order.push(`${idx + 1}${dir}`);
      else if (sel.quantifier === 'DISTINCT') {
        throw new AdqlError(
          'semantic',
          'with SELECT DISTINCT, ORDER BY expressions must appear in the select list',
          o.pos,
        );
      } else order.push(`${v.sql}${dir}`);
    }

    let limit: number | undefined = sel.top;
    if (maxrec !== undefined) limit = limit === undefined ? maxrec + 1 : Math.min(limit, maxrec + 1);

    let sql = `SELECT ${sel.quantifier === 'DISTINCT' ? 'DISTINCT ' : ''}${list} FROM ${fromSql.join(', ')}${where}`;
    if (groupSql.length) sql += ` GROUP BY ${groupSql.join(', ')}`;
    sql += having;
    if (order.length) sql += ` ORDER BY ${order.join(', ')}`;
    if (limit !== undefined) sql += ` LIMIT ${limit}`;
    if (offset !== undefined) sql += ` OFFSET ${offset}`;
    return { sql, cols: items.map((it, i) => ({ name: final ? names[i] : rawNames[i], t: it.val.t })) };
  }

  private checkGrouped(c: Ctx): void {
    const u = c.ungrouped[0];
    if (u) {
      throw new AdqlError(
        'semantic',
        `column '${u.name}' must appear in GROUP BY or be used in an aggregate function`,
        u.pos,
        u.name,
      );
    }
  }

  // ------------------------------------------------------------------ FROM

  /**
   * `visible`: the relations a LATERAL item here may refer to; `inner`: only inner joins
   * (or the preserved side of a LEFT join) lead here, so a WHERE filter on it may be applied
   * before the joins.
   */
  private fromItem(
    ref: TableRef,
    scope: Scope,
    visible: Visible,
    inner: boolean,
  ): { sql: string; star: StarEntry[]; rels: Rel[] } {
    if (ref.kind === 'table') {
      const rel = this.tableRel(ref.name, ref.alias, ref.pos);
      this.addRel(scope, rel, ref.alias ?? ref.name[ref.name.length - 1]);
      this.fromInfo.set(rel, { visible, inner });
      return {
        sql: rel.placeholder,
        star: rel.columns.map((c) => ({ val: this.colVal(rel, c) })),
        rels: [rel],
      };
    }
    if (ref.kind === 'derived') {
      const inner = this.queryExpression(ref.query, scope.parent, false);
      const alias = this.nextAlias();
      const rel: Rel = {
        alias,
        corr: ref.alias,
        tableName: ref.alias.name,
        columns: [],
        extras: [],
        baseSql: `(${inner.sql})`,
        placeholder: '',
      };
      rel.placeholder = this.placeholderFor(rel);
      rel.columns = inner.cols.map((c, i) => ({
        name: c.name,
        sql: `${quoteIdent(alias)}.${quoteIdent(`c${i + 1}`)}`,
        t: c.t,
        meta: { name: c.name, ...c.t.meta },
      }));
      this.addRel(scope, rel, ref.alias);
      return {
        sql: rel.placeholder,
        star: rel.columns.map((c) => ({ val: this.colVal(rel, c) })),
        rels: [rel],
      };
    }
    const left = this.fromItem(
      ref.left,
      scope,
      visible,
      inner && ref.type !== 'RIGHT' && ref.type !== 'FULL',
    );
    // PostgreSQL lets the right side of an INNER or LEFT join refer laterally to its left side.
    const lateralOk = ref.type === 'CROSS' || ref.type === 'INNER' || ref.type === 'LEFT';
    const right = this.fromItem(
      ref.right,
      scope,
      lateralOk ? new Visible(visible, undefined, 0, new Set(left.rels)) : Visible.NONE,
      inner && (ref.type === 'CROSS' || ref.type === 'INNER'),
    );
    const kw = ref.type === 'CROSS' ? 'CROSS JOIN' : ref.type === 'INNER' ? 'JOIN' : `${ref.type} JOIN`;
    if (ref.type === 'CROSS') {
      return {
        sql: `${left.sql} CROSS JOIN ${right.sql}`,
        star: [...left.star, ...right.star],
        rels: [...left.rels, ...right.rels],
      };
    }
    let names: Identifier[] = [];
    if (ref.natural) {
      for (const l of left.star) {
        if (right.star.some((r) => r.val.name.toLowerCase() === l.val.name.toLowerCase())) {
          names.push({ name: l.val.name, delimited: false, pos: ref.pos });
        }
      }
      if (!names.length)
        return {
          sql: `${left.sql} CROSS JOIN ${right.sql}`,
          star: [...left.star, ...right.star],
          rels: [...left.rels, ...right.rels],
        };
    } else if (ref.using) names = ref.using;
    else {
      // An ON crossmatch on the joined table itself can filter it in a LATERAL: for INNER
      // and LEFT joins that is the same join (unmatched left rows still get NULLs).
      const target = ref.right.kind === 'table' && lateralOk ? right.rels[0] : undefined;
      const info = target && this.fromInfo.get(target);
      // An INNER join commutes, so an indexed table written first can be read per row of
      // a right operand that is one table or derived table: the two are written swapped.
      const first =
        ref.type === 'INNER' && ref.left.kind === 'table' && ref.right.kind !== 'join'
          ? left.rels[0]
          : undefined;
      const firstSees = first && new Visible(visible, undefined, 0, new Set(right.rels));
      const local = scope.relSet;
      const accepts = (idx: Rel, circle: Set<Rel>) => {
        // Never both ways round: each would have to come after the other.
        const sees =
          idx === target && !(first && this.lateral.has(first))
            ? info?.visible
            : idx === first && !(target && this.lateral.has(target))
              ? firstSees
              : undefined;
        return !!sees && [...circle].every((r) => !local.has(r) || sees.has(r));
      };
      const cond = this.conjuncts(
        ref.on!,
        {
          scope,
          allowAgg: false,
          aggDepth: 0,
          ungrouped: [],
          clause: 'ON',
        },
        accepts,
      );
      if (first && this.lateral.has(first)) {
        // Now written before `first`, the right table can no longer see it laterally.
        if (target && info) this.fromInfo.set(target, { ...info, visible });
        return {
          sql: `${right.sql} ${kw} ${left.sql} ON ${cond}`,
          star: [...left.star, ...right.star],
          rels: [...left.rels, ...right.rels],
        };
      }
      return {
        sql: `${left.sql} ${kw} ${right.sql} ON ${cond}`,
        star: [...left.star, ...right.star],
        rels: [...left.rels, ...right.rels],
      };
    }
    // USING / NATURAL: written as ON equalities; the joined column appears once (SQL-92).
    const conds: string[] = [];
    const mergedStar: StarEntry[] = [];
    const dropLeft = new Set<StarEntry>();
    const dropRight = new Set<StarEntry>();
    for (const id of names) {
      const l = left.star.filter((s) => matches(id, s.val.name));
      const r = right.star.filter((s) => matches(id, s.val.name));
      if (l.length !== 1 || r.length !== 1) {
        const side = l.length !== 1 ? 'left' : 'right';
        const n = l.length !== 1 ? l.length : r.length;
        throw new AdqlError(
          'semantic',
          n === 0
            ? `no column '${id.name}' on the ${side} side of the join`
            : `column '${id.name}' is ambiguous on the ${side} side of the join`,
          id.pos,
          id.name,
        );
      }
      if (!compatible(l[0].val.t, r[0].val.t)) {
        throw new AdqlError('semantic', `join column '${id.name}' has incompatible types`, id.pos, id.name);
      }
      conds.push(`${l[0].val.sql} = ${r[0].val.sql}`);
      dropLeft.add(l[0]);
      dropRight.add(r[0]);
      const sql =
        ref.type === 'FULL'
          ? `COALESCE(${l[0].val.sql}, ${r[0].val.sql})`
          : ref.type === 'RIGHT'
            ? r[0].val.sql
            : l[0].val.sql;
      const val: Val = {
        ...l[0].val,
        sql,
        rels: new Set([...l[0].val.rels, ...r[0].val.rels]),
        column: undefined,
      };
      scope.merged.set(l[0].val.name.toLowerCase(), val);
      mergedStar.push({ val });
    }
    return {
      sql: `${left.sql} ${kw} ${right.sql} ON ${conds.join(' AND ')}`,
      star: [
        ...mergedStar,
        ...left.star.filter((s) => !dropLeft.has(s)),
        ...right.star.filter((s) => !dropRight.has(s)),
      ],
      rels: [...left.rels, ...right.rels],
    };
  }

  private nextAlias(): string {
    return `_t${++this.relCount}`;
  }

  private placeholderFor(rel: Rel): string {
    this.rels.push(rel);
    return `\u0000R${this.rels.length}\u0000`;
  }

  private addRel(scope: Scope, rel: Rel, nameId: Identifier): void {
    // Two names can clash only if they are equal ignoring case: look at those alone.
    for (const other of scope.relsByName.get((rel.corr ? rel.corr.name : rel.tableName).toLowerCase()) ??
      []) {
      const same = rel.corr
        ? other.corr
          ? matches(rel.corr, other.corr.delimited ? `"${other.corr.name}"` : other.corr.name)
          : false
        : !other.corr &&
          other.tableName.toLowerCase() === rel.tableName.toLowerCase() &&
          other.schemaName === rel.schemaName;
      if (same) {
        throw new AdqlError(
          'semantic',
          `table name '${nameId.name}' is used twice in FROM; give one a correlation name (AS x)`,
          nameId.pos,
          nameId.name,
        );
      }
    }
    scope.add(rel);
  }

  private tableRel(name: Identifier[], corr: Identifier | undefined, pos: Position): Rel {
    const last = name[name.length - 1];
    if (name.length === 1) {
      for (const cte of this.ctesByName.get(last.name.toLowerCase()) ?? []) {
        if (matches(last, cte.id.delimited ? `"${cte.id.name}"` : cte.id.name)) {
          const alias = this.nextAlias();
          const rel: Rel = {
            alias,
            corr,
            tableName: cte.id.name,
            columns: [],
            extras: [],
            baseSql: quoteIdent(cte.alias),
            placeholder: '',
          };
          rel.placeholder = this.placeholderFor(rel);
          rel.columns = cte.cols.map((c, i) => ({
            name: c.name,
            sql: `${quoteIdent(alias)}.${quoteIdent(`c${i + 1}`)}`,
            t: c.t,
            meta: { name: c.name, ...c.t.meta },
          }));
          return rel;
        }
      }
    }
    if (name.length === 3) {
      throw new AdqlError(
        'semantic',
        `no catalog '${name[0].name}': this service publishes tables as schema.table`,
        name[0].pos,
        name[0].name,
      );
    }
    const candidates = (this.tablesByName.get(last.name.toLowerCase()) ?? []).filter(
      (t) => matches(last, t.name) && (name.length === 1 || matches(name[0], t.schema)),
    );
    if (candidates.length === 0) {
      const full = name.map((n) => n.name).join('.');
      const all = this.allTables.map((t) =>
        name.length === 1 ? stripQuotes(t.name).name : `${t.schema}.${stripQuotes(t.name).name}`,
      );
      const s = closest(full, all);
      const schemaHint = /^(pg_|information_schema)/i.test(name[0].name)
        ? ' (system catalogues are not published)'
        : '';
      throw new AdqlError('semantic', `no table '${full}'${schemaHint}`, name[0].pos, full, s && `'${s}'`);
    }
    if (candidates.length > 1) {
      throw new AdqlError(
        'semantic',
        `table name '${last.name}' is ambiguous: ${candidates.map((t) => `${t.schema}.${t.name}`).join(', ')}`,
        last.pos,
        last.name,
        `${candidates[0].schema}.${candidates[0].name}`,
      );
    }
    const t = candidates[0];
    const alias = this.nextAlias();
    const rel: Rel = {
      alias,
      corr,
      schemaName: t.schema,
      tableName: stripQuotes(t.name).name,
      table: t,
      columns: [],
      extras: [],
      baseSql: `${quoteIdent(t.sql.schema)}.${quoteIdent(t.sql.table)}`,
      placeholder: '',
    };
    rel.placeholder = this.placeholderFor(rel);
    rel.columns = t.columns.map((c) => this.catalogueColumn(alias, c));
    void pos;
    return rel;
  }

  private catalogueColumn(alias: string, c: CatalogueColumn): RelCol {
    let base = columnCache.get(c);
    if (!base) {
      const plain = stripQuotes(c.name).name;
      const meta: ColumnMetadata = { name: plain, datatype: c.datatype };
      for (const k of META_KEYS) {
        const v = c[k];
        if (v !== undefined && v !== null) meta[k] = v;
      }
      base = { name: plain, phys: quoteIdent(c.sqlName ?? plain), meta, t: columnType(c, meta) };
      columnCache.set(c, base);
    }
    return { name: base.name, sql: `${quoteIdent(alias)}.${base.phys}`, t: base.t, meta: base.meta };
  }

  private colVal(rel: Rel, col: RelCol): Val {
    // The type with the column's metadata, made once per column (not per use): `*` over a
    // FROM list of thousands of tables makes a value for every column of each.
    let t = colTypes.get(col.meta);
    if (!t) {
      const { name: _n, ...meta } = col.meta;
      t = { ...col.t, meta };
      colTypes.set(col.meta, t);
    }
    return {
      sql: col.sql,
      t,
      name: col.name,
      agg: false,
      rels: new Set([rel]),
      column: { rel, col },
    };
  }

  private relMatches(rel: Rel, q: Identifier[]): boolean {
    if (q.length === 1) {
      if (rel.corr) return matches(q[0], rel.corr.delimited ? `"${rel.corr.name}"` : rel.corr.name);
      return rel.table
        ? matches(q[0], rel.table.name)
        : q[0].name.toLowerCase() === rel.tableName.toLowerCase();
    }
    if (rel.corr || !rel.table) return false;
    if (q.length === 2) return matches(q[0], rel.table.schema) && matches(q[1], rel.table.name);
    return false;
  }

  private findRel(q: Identifier[], scope: Scope, pos: Position, mustExist: boolean): Rel | undefined {
    for (let s: Scope | undefined = scope; s; s = s.parent) {
      const found = (s.relsByName.get(q[q.length - 1].name.toLowerCase()) ?? []).filter((r) =>
        this.relMatches(r, q),
      );
      if (found.length > 1) {
        throw new AdqlError(
          'semantic',
          `'${q.map((x) => x.name).join('.')}' is ambiguous in FROM`,
          pos,
          q.map((x) => x.name).join('.'),
        );
      }
      if (found.length === 1) return found[0];
    }
    if (!mustExist) return undefined;
    const names = this.scopeRelNames(scope);
    const text = q.map((x) => x.name).join('.');
    throw new AdqlError(
      'semantic',
      `no table or correlation name '${text}' in FROM`,
      pos,
      text,
      closest(text, names) && `'${closest(text, names)}'`,
    );
  }

  private scopeRelNames(scope: Scope): string[] {
    const names: string[] = [];
    for (let s: Scope | undefined = scope; s; s = s.parent) {
      for (const r of s.rels) names.push(r.corr ? r.corr.name : r.tableName);
    }
    return names;
  }

  private tryResolve(parts: Identifier[], scope: Scope): boolean {
    try {
      this.resolveColumn(parts, scope, parts[0].pos);
      return true;
    } catch (e) {
      if (e instanceof AdqlError) return false;
      throw e;
    }
  }

  private resolveColumn(parts: Identifier[], scope: Scope, pos: Position): Val {
    const colId = parts[parts.length - 1];
    if (colId.delimited && /[\u0000-\u001f]/.test(colId.name)) {
      throw new AdqlError(
        'semantic',
        'control characters are not allowed in identifiers',
        colId.pos,
        colId.name,
      );
    }
    if (parts.length === 1) {
      for (let s: Scope | undefined = scope; s; s = s.parent) {
        for (const [k, v] of s.merged) if (matches(colId, k)) return v;
        // Only columns equal to the name ignoring case can match (in FROM order, as written).
        const found = (s.columnsByName.get(colId.name.toLowerCase()) ?? []).filter((f) =>
          matches(colId, f.col.name),
        );
        if (found.length > 1) {
          const where = found.map((f) => f.rel.corr?.name ?? f.rel.tableName).join(', ');
          throw new AdqlError(
            'semantic',
            `column '${colId.name}' is ambiguous (in ${where}); qualify it`,
            colId.pos,
            colId.name,
            `${found[0].rel.corr?.name ?? found[0].rel.tableName}.${found[0].col.name}`,
          );
        }
        if (found.length === 1) return this.colVal(found[0].rel, found[0].col);
      }
      const rels = scope.rels;
      const all = rels.flatMap((r) => r.columns.map((c) => c.name));
      const s = closest(colId.name, all);
      const where =
        rels.length === 1
          ? ` in ${rels[0].schemaName ? `${rels[0].schemaName}.` : ''}${rels[0].tableName}`
          : '';
      throw new AdqlError(
        'semantic',
        `no column '${colId.name}'${where}`,
        colId.pos,
        colId.name,
        s && `'${s}'`,
      );
    }
    const rel = this.findRel(parts.slice(0, -1), scope, pos, true)!;
    const cols = rel.columns.filter((c) => matches(colId, c.name));
    if (cols.length === 1) return this.colVal(rel, cols[0]);
    if (cols.length > 1)
      throw new AdqlError(
        'semantic',
        `column '${colId.name}' is ambiguous in ${rel.tableName}`,
        colId.pos,
        colId.name,
      );
    const s = closest(
      colId.name,
      rel.columns.map((c) => c.name),
    );
    const tname = rel.corr ? rel.corr.name : `${rel.schemaName ? `${rel.schemaName}.` : ''}${rel.tableName}`;
    throw new AdqlError(
      'semantic',
      `no column '${colId.name}' in ${tname}`,
      colId.pos,
      colId.name,
      s && `'${s}'`,
    );
  }

  // ------------------------------------------------------------------ conditions

  /**
   * A WHERE or ON condition, conjunct by conjunct: a conjunct that is exactly a crossmatch
   * accepted by `accepts` becomes a filter inside the indexed table's LATERAL subquery and
   * `true` here; any other crossmatch keeps the range join condition.
   */
  private conjuncts(c: Condition, ctx: Ctx, accepts: XmHoist['accepts'], commit?: XmHoist['commit']): string {
    if (c.kind === 'and')
      return leftSpine(c, 'and')
        .map((x) => this.conjuncts(x, ctx, accepts, commit))
        .join(' AND ');
    if (c.kind === 'group') return `(${this.conjuncts(c.arg, ctx, accepts, commit)})`;
    if (this.options.crossmatch === 'join') return this.condition(c, ctx);
    const saved = this.xmHoist;
    const hoist: XmHoist = { accepts, commit, pending: new Map() };
    this.xmHoist = hoist;
    let sql: string;
    try {
      sql = this.condition(c, ctx);
    } finally {
      this.xmHoist = saved;
    }
    if (hoist.pending.size === 1) {
      const [[token, xm]] = hoist.pending;
      if (sql === token || sql === `(${token})`) {
        const name = `_xr${++this.xmCount}`;
        const xr = `${quoteIdent(name)}.xr`;
        hoist.commit?.(xm.idx.rel, xm.cc.rels);
        const list = this.lateral.get(xm.idx.rel) ?? [];
        list.push({
          name,
          call: `adql.xmatch_ranges(${xm.cc.lon}, ${xm.cc.lat}, ${xm.cc.r})`,
          cond: `(${this.rangeArms(xm.idx.hpx, xr)}) AND ${xm.exact}`,
        });
        this.lateral.set(xm.idx.rel, list);
        return 'true';
      }
    }
    for (const [token, xm] of hoist.pending)
      sql = sql.replace(token, () => `(${this.crossmatchRanges(xm.idx, xm.cc)}) AND ${xm.exact}`);
    return sql;
  }

  condition(c: Condition, ctx: Ctx): string {
    switch (c.kind) {
      case 'and':
      case 'or': {
        // A chain `x OR y OR ...` is a left-deep tree as long as the query: walked by a
        // loop, left to right, so its length cannot overflow the stack.
        const sep = ` ${c.kind.toUpperCase()} `;
        const parts = leftSpine(c, c.kind).map((x) => this.condition(x, ctx));
        return parts.join(sep);
      }
      case 'not':
        return `NOT (${this.condition(c.arg, ctx)})`;
      case 'group':
        return `(${this.condition(c.arg, ctx)})`;
      case 'exists': {
        const q = this.queryExpression(c.query, ctx.scope, false);
        return `EXISTS (${q.sql})`;
      }
      case 'isnull': {
        const v = this.expr(c.arg, ctx);
        return `(${v.sql}) IS ${c.not ? 'NOT ' : ''}NULL`;
      }
      case 'like': {
        const a = this.expr(c.arg, ctx);
        const p = this.expr(c.pattern, ctx);
        refuseRegionCompare([a, p], c.pos, c.insensitive ? 'ILIKE' : 'LIKE');
        for (const v of [a, p]) {
          if (v.t.cat !== 'str' && v.t.cat !== 'null') {
            throw new AdqlError(
              'semantic',
              `${c.insensitive ? 'ILIKE' : 'LIKE'} needs strings, got ${describeType(v.t)}`,
              c.pos,
              v.name,
            );
          }
        }
        // ADQL-61: ADQL LIKE has no escape character; PostgreSQL's default is backslash.
        return `${a.sql} ${c.not ? 'NOT ' : ''}${c.insensitive ? 'ILIKE' : 'LIKE'} ${p.sql} ESCAPE ''`;
      }
      case 'between': {
        const a = this.expr(c.arg, ctx);
        const lo = this.coerceTo(this.expr(c.low, ctx), a);
        const hi = this.coerceTo(this.expr(c.high, ctx), a);
        for (const v of [lo, hi]) this.checkComparable(a, v, c.pos, 'BETWEEN');
        return `${a.sql} ${c.not ? 'NOT ' : ''}BETWEEN ${lo.sql} AND ${hi.sql}`;
      }
      case 'in': {
        const a = this.expr(c.arg, ctx);
        if (c.query) {
          const q = this.queryExpression(c.query, ctx.scope, false);
          if (q.cols.length !== 1) {
            throw new AdqlError(
              'semantic',
              `the subquery of IN must return one column, not ${q.cols.length}`,
              c.pos,
              'IN',
            );
          }
          this.checkComparable(a, { ...a, t: q.cols[0].t, name: q.cols[0].name }, c.pos, 'IN');
          return `${a.sql} ${c.not ? 'NOT ' : ''}IN (${q.sql})`;
        }
        const items = c.list!.map((e) => {
          const v = this.coerceTo(this.expr(e, ctx), a);
          this.checkComparable(a, v, e.pos, 'IN');
          return v.sql;
        });
        return `${a.sql} ${c.not ? 'NOT ' : ''}IN (${items.join(', ')})`;
      }
      case 'compare':
        return this.compare(c, ctx);
    }
  }

  private compare(c: Extract<Condition, { kind: 'compare' }>, ctx: Ctx): string {
    const op = c.op === '!=' ? '<>' : c.op;
    // 1 = CONTAINS(...), INTERSECTS(...) = 0 and friends become boolean spatial tests.
    const spatial = (e: Expr): e is Extract<Expr, { kind: 'call' }> =>
      e.kind === 'call' && (e.name === 'CONTAINS' || e.name === 'INTERSECTS');
    const bit = (e: Expr): number | undefined =>
      e.kind === 'number' && e.integer && (e.value === 0 || e.value === 1) ? e.value : undefined;
    for (const [call, other] of [
      [c.left, c.right],
      [c.right, c.left],
    ] as const) {
      const b = bit(other);
      if (spatial(call) && b !== undefined && (op === '=' || op === '<>')) {
        const test = this.spatialTest(call, ctx);
        const positive = (op === '=') === (b === 1);
        return positive ? `(${test})` : `NOT (${test})`;
      }
    }
    // DISTANCE(p, q) < r (and r > DISTANCE(...)) is a cone/crossmatch: ADQL-39.
    const dist = (e: Expr) => e.kind === 'call' && e.name === 'DISTANCE';
    if (dist(c.left) && (op === '<' || op === '<=')) {
      const r = this.expr(c.right, ctx);
      if (r.t.cat === 'num' && !r.agg)
        return this.distanceTest(c.left as Extract<Expr, { kind: 'call' }>, r, op === '<', ctx);
    }
    if (dist(c.right) && (op === '>' || op === '>=')) {
      const r = this.expr(c.left, ctx);
      if (r.t.cat === 'num' && !r.agg)
        return this.distanceTest(c.right as Extract<Expr, { kind: 'call' }>, r, op === '>', ctx);
    }
    let l = this.expr(c.left, ctx);
    let r = this.expr(c.right, ctx);
    l = this.coerceTo(l, r);
    r = this.coerceTo(r, l);
    refuseRegionCompare([l, r], c.pos, c.op);
    this.checkComparable(l, r, c.pos, c.op);
    if (l.t.cat === 'geo' || r.t.cat === 'geo' || l.t.cat === 'array' || r.t.cat === 'array') {
      if (op !== '=' && op !== '<>') {
        throw new AdqlError('semantic', `cannot compare geometries with ${c.op}`, c.pos, c.op);
      }
    }
    return `${l.sql} ${op} ${r.sql}`;
  }

  /** A string literal compared with a TIMESTAMP is read as a timestamp (ADQL-23). */
  private coerceTo(v: Val, other: Val): Val {
    if (other.t.cat === 'time' && v.t.cat === 'str' && v.sql.startsWith('$')) {
      return { ...v, sql: `CAST(${v.sql} AS timestamp)`, t: other.t };
    }
    return v;
  }

  private checkComparable(a: Val, b: Val, pos: Position, what: string): void {
    refuseRegionCompare([a, b], pos, what);
    if (!compatible(a.t, b.t)) {
      throw new AdqlError(
        'semantic',
        `cannot compare ${describeType(a.t)} with ${describeType(b.t)} (${what})`,
        pos,
        what,
      );
    }
  }

  // ------------------------------------------------------------------ expressions

  expr(e: Expr, ctx: Ctx): Val {
    const mark = ctx.ungrouped.length;
    const v = this.exprInner(e, ctx);
    if (ctx.grouping && ctx.ungrouped.length > mark && ctx.grouping.has(v.sql)) ctx.ungrouped.length = mark;
    return v;
  }

  private exprInner(e: Expr, ctx: Ctx): Val {
    switch (e.kind) {
      case 'number': {
        // Plain object literals (no spread): number literals are the bulk of a long IN list
        // or polygon, and a spread here cost several times the rest of their compilation.
        if (e.integer) {
          if (e.value <= 2147483647)
            return {
              agg: false,
              rels: new Set<Rel>(),
              sql: e.text.replace(/^0+(?=\d)/, ''),
              t: numType(true, 'int'),
              name: 'expr',
              k: e.value,
            };
          if (BigInt(e.text) <= 9223372036854775807n)
            return {
              agg: false,
              rels: new Set<Rel>(),
              sql: `${BigInt(e.text)}::bigint`,
              t: numType(true, 'long'),
              name: 'expr',
              k: e.value,
            };
        }
        if (!Number.isFinite(e.value)) throw new AdqlError('semantic', 'number out of range', e.pos, e.text);
        const text = /^\./.test(e.text) ? `0${e.text}` : e.text;
        return {
          agg: false,
          rels: new Set<Rel>(),
          sql: `${text.replace(/\.$/, '')}::float8`,
          t: numType(false, 'double'),
          name: 'expr',
          k: e.value,
        };
      }
      case 'string':
        return { agg: false, rels: new Set<Rel>(), sql: this.param(e.value), t: STR, name: 'expr' };
      case 'null':
        return {
          agg: false,
          rels: new Set<Rel>(),
          sql: 'NULL',
          t: { cat: 'null', meta: { datatype: 'char', arraysize: '*' } },
          name: 'expr',
        };
      case 'column': {
        const v = this.resolveColumn(e.parts, ctx.scope, e.pos);
        if (
          ctx.grouping &&
          ctx.aggDepth === 0 &&
          !ctx.grouping.has(v.sql) &&
          v.rels.size &&
          [...v.rels].some((r) => ctx.scope.relSet.has(r))
        ) {
          ctx.ungrouped.push({ name: e.parts.map((p) => p.name).join('.'), pos: e.pos });
        }
        return v;
      }
      case 'paren': {
        const v = this.expr(e.arg, ctx);
        return { ...v, sql: `(${v.sql})`, column: undefined };
      }
      case 'unary': {
        const v = this.expr(e.arg, ctx);
        if (v.t.cat !== 'num' && v.t.cat !== 'null')
          throw new AdqlError(
            'semantic',
            `unary ${e.op} needs a number, got ${describeType(v.t)}`,
            e.pos,
            e.op,
          );
        if (e.op === '+') return { ...v, column: undefined };
        return {
          ...v,
          sql: `(-${v.sql})`,
          k: v.k === undefined ? undefined : -v.k,
          column: undefined,
          name: v.name,
        };
      }
      case 'binary':
        return this.binary(e, ctx);
      case 'aggregate':
        return this.aggregate(e, ctx);
      case 'cast':
        return this.cast(e.arg, e.target, e.pos, ctx);
      case 'case':
        return this.caseExpr(e, ctx);
      case 'scalar': {
        const q = this.queryExpression(e.query, ctx.scope, false);
        if (q.cols.length !== 1)
          throw new AdqlError(
            'semantic',
            `a scalar subquery must return one column, not ${q.cols.length}`,
            e.pos,
            '(',
          );
        return { agg: false, rels: new Set<Rel>(), sql: `(${q.sql})`, t: q.cols[0].t, name: q.cols[0].name };
      }
      case 'udf': {
        const s = closest(e.name.name.toUpperCase(), [
          'ABS',
          'CEILING',
          'DEGREES',
          'EXP',
          'FLOOR',
          'LOG',
          'LOG10',
          'RADIANS',
          'SQRT',
          'MOD',
          'POWER',
          'PI',
          'RAND',
          'ROUND',
          'TRUNCATE',
          'ACOS',
          'ASIN',
          'ATAN',
          'ATAN2',
          'COS',
          'COT',
          'SIN',
          'TAN',
          'LOWER',
          'UPPER',
          'COALESCE',
          'DISTANCE',
          'CONTAINS',
          'INTERSECTS',
          'POINT',
          'CIRCLE',
          'POLYGON',
          'AREA',
          'CENTROID',
          'COORD1',
          'COORD2',
        ]);
        throw new AdqlError(
          'semantic',
          `unknown function '${e.name.name}' (this service declares no user-defined functions)`,
          e.pos,
          e.name.name,
          s,
        );
      }
      case 'call':
        return this.call(e, ctx);
    }
  }

  /**
   * A chain `a + b - c * d ...` is a left-deep tree as long as the query: compiled by a loop
   * over its left spine (no recursion in its length), each step exactly what compiling that
   * node alone gives, the GROUP BY check of expr() included. The relations of the chain
   * gather in one set, so a chain over many tables stays linear.
   */
  private binary(e: Extract<Expr, { kind: 'binary' }>, ctx: Ctx): Val {
    const nodes: Array<Extract<Expr, { kind: 'binary' }>> = [];
    let first: Expr = e;
    while (first.kind === 'binary') {
      nodes.push(first);
      first = first.left;
    }
    const mark = ctx.ungrouped.length;
    let acc = this.expr(first, ctx);
    const rels = new Set(acc.rels);
    for (let i = nodes.length - 1; i >= 0; i--) {
      const node = nodes[i];
      const r = this.expr(node.right, ctx);
      for (const rel of r.rels) rels.add(rel);
      acc = this.binaryStep(node, acc, r, rels);
      if (i > 0 && ctx.grouping && ctx.ungrouped.length > mark && ctx.grouping.has(acc.sql))
        ctx.ungrouped.length = mark;
    }
    return acc;
  }

  private binaryStep(e: Extract<Expr, { kind: 'binary' }>, l: Val, r: Val, rels: Set<Rel>): Val {
    const agg = l.agg || r.agg;
    if (e.op === '||') {
      for (const v of [l, r]) {
        if (v.t.cat === 'geo' || v.t.cat === 'array' || v.t.cat === 'bool') {
          throw new AdqlError('semantic', `|| cannot join ${describeType(v.t)}`, e.pos, '||');
        }
      }
      const txt = (v: Val) => (v.t.cat === 'str' ? v.sql : `CAST(${v.sql} AS text)`);
      return { sql: `(${txt(l)} || ${txt(r)})`, t: STR, name: 'expr', agg, rels };
    }
    for (const v of [l, r]) {
      if (v.t.cat !== 'num' && v.t.cat !== 'null') {
        throw new AdqlError(
          'semantic',
          `operator ${e.op} needs numbers, got ${describeType(v.t)}`,
          e.pos,
          e.op,
          v.t.cat === 'str' ? 'CAST(... AS DOUBLE PRECISION)' : undefined,
        );
      }
    }
    const integer = !!l.t.integer && !!r.t.integer;
    const datatype = integer ? widerInt(l.t.meta.datatype, r.t.meta.datatype) : 'double';
    let unit: string | undefined;
    if (
      (e.op === '+' || e.op === '-') &&
      l.t.meta.unit &&
      (r.t.meta.unit === l.t.meta.unit || r.k !== undefined)
    )
      unit = l.t.meta.unit;
    if ((e.op === '+' || e.op === '-') && r.t.meta.unit && l.k !== undefined) unit = r.t.meta.unit;
    if ((e.op === '*' || e.op === '/') && l.t.meta.unit && r.k !== undefined) unit = l.t.meta.unit;
    if (e.op === '*' && r.t.meta.unit && l.k !== undefined) unit = r.t.meta.unit;
    let k: number | undefined;
    if (l.k !== undefined && r.k !== undefined) {
      k =
        e.op === '+'
          ? l.k + r.k
          : e.op === '-'
            ? l.k - r.k
            : e.op === '*'
              ? l.k * r.k
              : integer
                ? Math.trunc(l.k / r.k)
                : l.k / r.k;
      if (!Number.isFinite(k)) k = undefined;
    }
    // ADQL does not define integer division; like SQL, integer / integer truncates (documented in README).
    return {
      sql: `(${l.sql} ${e.op} ${r.sql})`,
      t: unit ? { cat: 'num', integer, meta: { datatype, unit } } : numType(integer, datatype),
      name: 'expr',
      agg,
      rels,
      k,
    };
  }

  private aggregate(e: Extract<Expr, { kind: 'aggregate' }>, ctx: Ctx): Val {
    if (!ctx.allowAgg)
      throw new AdqlError(
        'semantic',
        `aggregate function ${e.name} is not allowed in ${ctx.clause}`,
        e.pos,
        e.name,
      );
    if (ctx.aggDepth > 0)
      throw new AdqlError(
        'semantic',
        `aggregate function ${e.name} cannot be nested inside another aggregate`,
        e.pos,
        e.name,
      );
    const name = e.name.toLowerCase();
    if (!e.arg)
      return {
        sql: 'count(*)',
        t: numType(true, 'long', { ucd: 'meta.number' }),
        name,
        agg: true,
        rels: new Set(),
      };
    ctx.aggDepth++;
    const a = this.expr(e.arg, ctx);
    ctx.aggDepth--;
    const q = e.quantifier === 'DISTINCT' ? 'DISTINCT ' : '';
    const base = { name, agg: true, rels: a.rels };
    switch (e.name) {
      case 'COUNT':
        return { ...base, sql: `count(${q}${a.sql})`, t: numType(true, 'long', { ucd: 'meta.number' }) };
      case 'MIN':
      case 'MAX':
        if (a.t.cat === 'geo' || a.t.cat === 'array')
          throw new AdqlError(
            'semantic',
            `${e.name} needs an orderable value, got ${describeType(a.t)}`,
            e.pos,
            e.name,
          );
        return {
          ...base,
          sql: `${name}(${q}${a.sql})`,
          t: { ...a.t, meta: { ...a.t.meta, description: undefined } },
        };
      default: {
        if (a.t.cat !== 'num' && a.t.cat !== 'null')
          throw new AdqlError('semantic', `${e.name} needs numbers, got ${describeType(a.t)}`, e.pos, e.name);
        const meta: Partial<Meta> = {};
        if (a.t.meta.unit) meta.unit = a.t.meta.unit;
        if (a.t.meta.ucd && e.name === 'AVG') meta.ucd = `stat.mean;${a.t.meta.ucd}`;
        if (e.name === 'SUM' && a.t.integer)
          return { ...base, sql: `CAST(sum(${q}${a.sql}) AS bigint)`, t: numType(true, 'long', meta) };
        return {
          ...base,
          sql: `CAST(${name}(${q}${a.sql}) AS double precision)`,
          t: numType(false, 'double', meta),
        };
      }
    }
  }

  private cast(argE: Expr, target: CastTarget, pos: Position, ctx: Ctx): Val {
    const a = this.expr(argE, ctx);
    const base = { name: a.name, agg: a.agg, rels: a.rels };
    const from = a.t.cat;
    const fail = (): never => {
      throw new AdqlError('semantic', `cannot CAST ${describeType(a.t)} to ${target.type}`, pos, 'CAST');
    };
    switch (target.type) {
      case 'SMALLINT':
      case 'INTEGER':
      case 'BIGINT':
      case 'REAL':
      case 'DOUBLE PRECISION': {
        if (from !== 'num' && from !== 'str' && from !== 'null') fail();
        const dt: Record<string, VOTableDatatype> = {
          SMALLINT: 'short',
          INTEGER: 'int',
          BIGINT: 'long',
          REAL: 'float',
          'DOUBLE PRECISION': 'double',
        };
        const integer = ['SMALLINT', 'INTEGER', 'BIGINT'].includes(target.type);
        const pg = target.type.toLowerCase();
        return {
          ...base,
          sql: `CAST(${a.sql} AS ${pg})`,
          t: numType(integer, dt[target.type], a.t.meta.unit ? { unit: a.t.meta.unit } : undefined),
        };
      }
      case 'CHAR':
      case 'VARCHAR': {
        if ((from === 'geo' && !a.t.stcs) || from === 'array') fail();
        const pg = target.length
          ? `${target.type === 'CHAR' ? 'char' : 'varchar'}(${target.length})`
          : 'text';
        const arraysize = target.length ? `${target.length}${target.type === 'VARCHAR' ? '*' : ''}` : '*';
        const sql =
          from === 'time' ? `to_char(${a.sql}, 'YYYY-MM-DD"T"HH24:MI:SS.MS')` : presented(a.sql, a.t);
        return {
          ...base,
          sql: `CAST(${sql} AS ${pg})`,
          t: { cat: 'str', meta: { datatype: 'char', arraysize } },
        };
      }
      case 'TIMESTAMP':
        if (from !== 'str' && from !== 'time' && from !== 'null') fail();
        return {
          ...base,
          sql: `CAST(${a.sql} AS timestamp)`,
          t: { cat: 'time', meta: { datatype: 'char', arraysize: '*', xtype: 'timestamp' } },
        };
      default: {
        const kind = target.type.toLowerCase() as 'point' | 'circle' | 'polygon';
        // CAST(region AS POLYGON) hands out the stored DALI polygon itself.
        if (from === 'geo' && a.t.geo === kind && a.t.stcs)
          return { ...a, t: { cat: 'geo', geo: kind, meta: geoMeta(kind) }, column: undefined };
        if (from === 'geo' && a.t.geo === kind) return { ...a, column: undefined };
        if (from !== 'str' && from !== 'null') fail();
        return {
          ...base,
          sql: `adql.parse_dali(${a.sql}, '${kind}')`,
          t: { cat: 'geo', geo: kind, meta: geoMeta(kind) },
        };
      }
    }
  }

  private caseExpr(e: Extract<Expr, { kind: 'case' }>, ctx: Ctx): Val {
    const rels = new Set<Rel>();
    let agg = false;
    let t: VType | undefined;
    const track = (v: Val) => {
      for (const r of v.rels) rels.add(r);
      agg ||= v.agg;
    };
    const operand = e.operand ? this.expr(e.operand, ctx) : undefined;
    if (operand) track(operand);
    const parts: string[] = [];
    const results: Val[] = [];
    for (const w of e.whens) {
      let when: string;
      if (operand) {
        const v = this.coerceTo(this.expr(w.when as Expr, ctx), operand);
        this.checkComparable(operand, v, e.pos, 'CASE');
        track(v);
        when = v.sql;
      } else when = this.condition(w.when as Condition, ctx);
      const then = this.expr(w.result, ctx);
      track(then);
      results.push(then);
      parts.push(`WHEN ${when} THEN ${then.sql}`);
    }
    if (e.otherwise) {
      const v = this.expr(e.otherwise, ctx);
      track(v);
      results.push(v);
      parts.push(`ELSE ${v.sql}`);
    }
    for (const r of results) {
      if (r.t.cat === 'null') continue;
      if (!t) t = r.t;
      else if (!compatible(t, r.t))
        throw new AdqlError('semantic', 'CASE branches have incompatible types', e.pos, 'CASE');
      else if (t.cat === 'num' && t.integer && !r.t.integer) t = r.t;
    }
    t ??= results[0].t;
    return {
      sql: `CASE ${operand ? `${operand.sql} ` : ''}${parts.join(' ')} END`,
      t: { ...t, meta: { datatype: t.meta.datatype, arraysize: t.meta.arraysize, xtype: t.meta.xtype } },
      name: 'expr',
      agg,
      rels,
    };
  }

  // ------------------------------------------------------------------ functions

  private call(e: Extract<Expr, { kind: 'call' }>, ctx: Ctx): Val {
    const n = e.name;
    switch (n) {
      case 'POINT':
      case 'CIRCLE':
      case 'BOX':
      case 'POLYGON':
        return this.shape(e, ctx);
      case 'REGION':
        return this.region(e, ctx);
      case 'CONTAINS':
      case 'INTERSECTS': {
        const test = this.spatialTest(e, ctx);
        const args = e.args.map((a) => this.expr(a, ctx));
        return {
          sql: `CASE WHEN ${test} THEN 1 ELSE 0 END`,
          t: numType(true, 'int'),
          name: n.toLowerCase(),
          agg: args.some((a) => a.agg),
          rels: unionRels(args),
        };
      }
      case 'DISTANCE': {
        const [p, q] = this.distanceArgs(e, ctx);
        return {
          sql: `adql.distance(${p.lon}, ${p.lat}, ${q.lon}, ${q.lat})`,
          t: numType(false, 'double', { unit: 'deg', ucd: 'pos.angDistance' }),
          name: 'distance',
          agg: p.v.some((v) => v.agg) || q.v.some((v) => v.agg),
          rels: unionRels([...p.v, ...q.v]),
        };
      }
      case 'COORD1':
      case 'COORD2': {
        const g = this.expr(e.args[0], ctx);
        if (g.t.cat === 'null') return { ...g, name: n.toLowerCase() };
        if (g.t.geo !== 'point')
          throw new AdqlError('semantic', `${n} needs a POINT, got ${describeType(g.t)}`, e.args[0].pos, n);
        const p = this.pointParts(g);
        const ucd = n === 'COORD1' ? 'pos.eq.ra' : 'pos.eq.dec';
        return {
          sql: n === 'COORD1' ? p.lon : p.lat,
          t: numType(false, 'double', { unit: 'deg', ucd }),
          name: n.toLowerCase(),
          agg: g.agg,
          rels: g.rels,
          k: n === 'COORD1' ? p.klon : p.klat,
        };
      }
      case 'COORDSYS': {
        const g = this.expr(e.args[0], ctx);
        if (g.t.cat !== 'geo' && g.t.cat !== 'null')
          throw new AdqlError(
            'semantic',
            `COORDSYS needs a geometry, got ${describeType(g.t)}`,
            e.args[0].pos,
            n,
          );
        return { sql: this.param(g.coordsys || 'ICRS'), t: STR, name: 'coordsys', agg: g.agg, rels: g.rels };
      }
      case 'AREA':
        return this.area(e, ctx);
      case 'CENTROID': {
        const g = this.expr(e.args[0], ctx);
        if (g.t.cat !== 'geo')
          throw new AdqlError(
            'semantic',
            `CENTROID needs a geometry, got ${describeType(g.t)}`,
            e.args[0].pos,
            n,
          );
        const meta = geoMeta('point');
        if (g.t.geo === 'point') return { ...g, name: 'centroid', column: undefined };
        if (g.t.geo === 'circle') {
          const c = this.circleParts(g);
          return {
            sql: `ARRAY[${c.lon}, ${c.lat}]::float8[]`,
            t: { cat: 'geo', geo: 'point', meta },
            name: 'centroid',
            agg: g.agg,
            rels: g.rels,
          };
        }
        if (g.t.geo === 'polygon')
          return {
            sql: `adql.polygon_centroid(${this.polygonArray(g)})`,
            t: { cat: 'geo', geo: 'point', meta },
            name: 'centroid',
            agg: g.agg,
            rels: g.rels,
          };
        throw new AdqlError('unsupported', 'CENTROID of a region is not supported', e.pos, n);
      }
      case 'IN_UNIT':
        return this.inUnit(e, ctx);
      case 'COALESCE': {
        const args = e.args.map((a) => this.expr(a, ctx));
        let t = args[0].t;
        for (const a of args) {
          if (t.cat === 'null') t = a.t;
          if (!compatible(t, a.t)) {
            throw new AdqlError(
              'semantic',
              `COALESCE arguments must have the same type (${describeType(t)} and ${describeType(a.t)})`,
              e.pos,
              'COALESCE',
            );
          }
          if (t.cat === 'num' && t.integer && !a.t.integer && a.t.cat === 'num') t = a.t;
        }
        return {
          sql: `COALESCE(${args.map((a) => a.sql).join(', ')})`,
          t,
          name: args[0].name,
          agg: args.some((a) => a.agg),
          rels: unionRels(args),
        };
      }
      case 'LOWER':
      case 'UPPER': {
        const a = this.expr(e.args[0], ctx);
        if (a.t.cat !== 'str' && a.t.cat !== 'null')
          throw new AdqlError('semantic', `${n} needs a string, got ${describeType(a.t)}`, e.args[0].pos, n);
        return {
          sql: `${n.toLowerCase()}(${a.sql})`,
          t: { ...a.t, meta: { datatype: a.t.meta.datatype, arraysize: a.t.meta.arraysize } },
          name: n.toLowerCase(),
          agg: a.agg,
          rels: a.rels,
        };
      }
      default:
        return this.math(e, ctx);
    }
  }

  private math(e: Extract<Expr, { kind: 'call' }>, ctx: Ctx): Val {
    const n = e.name;
    const args = e.args.map((a) => this.expr(a, ctx));
    args.forEach((a, i) => {
      if (a.t.cat !== 'num' && a.t.cat !== 'null') {
        throw new AdqlError(
          'semantic',
          `${n} needs numeric arguments; argument ${i + 1} is ${describeType(a.t)}`,
          e.args[i].pos,
          n,
        );
      }
    });
    const d = (a: Val) => (a.t.integer || a.t.cat === 'null' ? `CAST(${a.sql} AS double precision)` : a.sql);
    const agg = args.some((a) => a.agg);
    const rels = unionRels(args);
    const name = n.toLowerCase();
    const dbl = (sql: string, meta?: Partial<Meta>): Val => ({
      sql,
      t: numType(false, 'double', meta),
      name,
      agg,
      rels,
    });
    const a = args[0];
    switch (n) {
      case 'ABS':
        return {
          sql: `abs(${a.sql})`,
          t: { ...a.t, meta: { datatype: a.t.meta.datatype, unit: a.t.meta.unit } },
          name,
          agg,
          rels,
          k: a.k !== undefined ? Math.abs(a.k) : undefined,
        };
      case 'CEILING':
        return dbl(`ceil(${d(a)})`, a.t.meta.unit ? { unit: a.t.meta.unit } : undefined);
      case 'FLOOR':
        return dbl(`floor(${d(a)})`, a.t.meta.unit ? { unit: a.t.meta.unit } : undefined);
      case 'DEGREES':
        return dbl(`degrees(${d(a)})`, { unit: 'deg' });
      case 'RADIANS':
        return dbl(`radians(${d(a)})`, { unit: 'rad' });
      case 'EXP':
        return dbl(`exp(${d(a)})`);
      case 'LOG': // ADQL-60: natural logarithm; PostgreSQL's log() is base 10.
        return dbl(`ln(${d(a)})`);
      case 'LOG10':
        return dbl(`log(${d(a)})`);
      case 'SQRT':
        return dbl(`sqrt(${d(a)})`);
      case 'PI':
        return { ...dbl('pi()'), k: Math.PI };
      case 'RAND':
        // ADQL-18: the seed's meaning is undefined; PostgreSQL's random() cannot take one per call.
        return dbl('random()');
      case 'POWER':
        return dbl(`power(${d(a)}, ${d(args[1])})`);
      case 'MOD': {
        // ADQL-18: remainder with the sign of x; PostgreSQL mod() does this for integers and numeric.
        if (a.t.integer && args[1].t.integer) {
          return {
            sql: `mod(${a.sql}, ${args[1].sql})`,
            t: numType(true, widerInt(a.t.meta.datatype, args[1].t.meta.datatype)),
            name,
            agg,
            rels,
          };
        }
        return dbl(
          `CAST(mod(CAST(${a.sql} AS numeric), CAST(${args[1].sql} AS numeric)) AS double precision)`,
        );
      }
      case 'ROUND':
      case 'TRUNCATE': {
        const digits = args[1] ? args[1].sql.replace(/[()]/g, '') : '0';
        const fn = n === 'ROUND' ? 'round' : 'trunc';
        // Through numeric so that ROUND(2.5) = 3 and digits < 0 work (ADQL-60).
        return dbl(
          `CAST(${fn}(CAST(${a.sql} AS numeric), ${digits}) AS double precision)`,
          a.t.meta.unit ? { unit: a.t.meta.unit } : undefined,
        );
      }
      case 'ACOS':
      case 'ASIN':
      case 'ATAN':
        return dbl(`${name}(${d(a)})`, { unit: 'rad' });
      case 'COS':
      case 'SIN':
      case 'TAN':
      case 'COT':
        return dbl(`${name}(${d(a)})`);
      case 'ATAN2':
        return dbl(`atan2(${d(a)}, ${d(args[1])})`, { unit: 'rad' });
      default:
        throw new AdqlError('unsupported', `function ${n} is not supported`, e.pos, n);
    }
  }

  private inUnit(e: Extract<Expr, { kind: 'call' }>, ctx: Ctx): Val {
    const a = this.expr(e.args[0], ctx);
    const target = (e.args[1] as Extract<Expr, { kind: 'string' }>).value;
    if (a.t.cat !== 'num')
      throw new AdqlError(
        'semantic',
        `IN_UNIT needs a number, got ${describeType(a.t)}`,
        e.args[0].pos,
        'IN_UNIT',
      );
    // ADQL-50 with unit inference (adql/units.ts): the unit of any numeric expression.
    const from = inferUnit(e.args[0], (c) => this.resolveColumn(c.parts, ctx.scope, c.pos).t.meta.unit);
    const f = inferredConversion(from, target);
    if (typeof f !== 'number') {
      const [pos, token] = from.kind === 'number' ? [e.args[0].pos, 'IN_UNIT'] : [e.args[1].pos, target];
      throw new AdqlError('semantic', `IN_UNIT: ${f.error}`, pos, token);
    }
    const meta: Partial<Meta> = { unit: target };
    if (a.t.meta.ucd) meta.ucd = a.t.meta.ucd;
    return {
      sql: `(CAST(${a.sql} AS double precision) * ${num(f)})`,
      t: numType(false, 'double', meta),
      name: a.name,
      agg: a.agg,
      rels: a.rels,
    };
  }

  // ------------------------------------------------------------------ geometry

  private shape(e: Extract<Expr, { kind: 'call' }>, ctx: Ctx): Val {
    const args = e.args.map((a) => this.expr(a, ctx));
    const agg = args.some((a) => a.agg);
    const rels = unionRels(args);
    const needNum = (v: Val, i: number, what: string) => {
      if (v.t.cat !== 'num' && v.t.cat !== 'null') {
        throw new AdqlError(
          'semantic',
          `${e.name}: ${what} must be a number, got ${describeType(v.t)}`,
          e.args[i].pos,
          e.name,
        );
      }
    };
    const needPoint = (v: Val, i: number) => {
      if (v.t.geo !== 'point' && v.t.cat !== 'null') {
        throw new AdqlError(
          'semantic',
          `${e.name}: argument ${i + 1} must be a POINT or a number pair, got ${describeType(v.t)}`,
          e.args[i].pos,
          e.name,
        );
      }
    };
    const pointOf = (v: Val): [Val, Val] => {
      const p = this.pointParts(v);
      return [
        { ...v, sql: p.lon, t: NUM_DOUBLE, k: p.klon, column: undefined },
        { ...v, sql: p.lat, t: NUM_DOUBLE, k: p.klat, column: undefined },
      ];
    };
    const common = { agg, rels, coordsys: e.coordsys };
    switch (e.name) {
      case 'POINT': {
        for (const [i, a] of args.entries()) needNum(a, i, i === 0 ? 'the longitude' : 'the latitude');
        const [lon, lat] = args;
        if (lat.k !== undefined && Math.abs(lat.k) > 90)
          throw new AdqlError('semantic', `latitude ${lat.k} is outside [-90, 90]`, e.args[1].pos, e.name);
        return {
          ...common,
          sql: `ARRAY[${lon.sql}, ${lat.sql}]::float8[]`,
          t: { cat: 'geo', geo: 'point', meta: geoMeta('point') },
          name: 'point',
          shape: { kind: 'point', lon, lat },
        };
      }
      case 'CIRCLE': {
        let lon: Val;
        let lat: Val;
        let r: Val;
        if (args.length === 2) {
          needPoint(args[0], 0);
          [lon, lat] = pointOf(args[0]);
          r = args[1];
          needNum(r, 1, 'the radius');
        } else {
          for (const [i, a] of args.entries()) needNum(a, i, i === 2 ? 'the radius' : 'a centre coordinate');
          [lon, lat, r] = args;
        }
        if (r.k !== undefined && r.k < 0)
          throw new AdqlError('semantic', `CIRCLE radius ${r.k} is negative`, e.pos, e.name);
        if (lat.k !== undefined && Math.abs(lat.k) > 90)
          throw new AdqlError('semantic', `latitude ${lat.k} is outside [-90, 90]`, e.pos, e.name);
        return {
          ...common,
          sql: `ARRAY[${lon.sql}, ${lat.sql}, ${r.sql}]::float8[]`,
          t: { cat: 'geo', geo: 'circle', meta: geoMeta('circle') },
          name: 'circle',
          shape: { kind: 'circle', lon, lat, r },
        };
      }
      case 'BOX': {
        let lon: Val;
        let lat: Val;
        let w: Val;
        let h: Val;
        if (args.length === 3) {
          needPoint(args[0], 0);
          [lon, lat] = pointOf(args[0]);
          [w, h] = args.slice(1);
          needNum(w, 1, 'the width');
          needNum(h, 2, 'the height');
        } else {
          for (const [i, a] of args.entries()) needNum(a, i, 'a BOX argument');
          [lon, lat, w, h] = args;
        }
        for (const v of [w, h]) {
          if (v.k !== undefined && (v.k < 0 || v.k >= 180))
            throw new AdqlError('semantic', `BOX size ${v.k} must be in [0, 180)`, e.pos, e.name);
        }
        const shape: Shape = { kind: 'box', lon, lat, w, h };
        const verts = constVerts(shape);
        const sql = verts
          ? `ARRAY[${verts.flat().map(num).join(', ')}]::float8[]`
          : `adql.box_polygon(${lon.sql}, ${lat.sql}, ${w.sql}, ${h.sql})`;
        return {
          ...common,
          sql,
          t: { cat: 'geo', geo: 'polygon', meta: geoMeta('polygon') },
          name: 'box',
          shape,
        };
      }
      default: {
        const verts: Array<[Val, Val]> = [];
        const points = args.every((a) => a.t.geo === 'point');
        if (points) {
          for (const a of args) verts.push(pointOf(a));
        } else {
          if (args.some((a) => a.t.cat === 'geo'))
            throw new AdqlError(
              'semantic',
              'POLYGON vertices must be all POINTs or all number pairs',
              e.pos,
              e.name,
            );
          if (args.length % 2 !== 0 || args.length < 6) {
            throw new AdqlError(
              'syntax',
              `POLYGON needs at least 3 vertices as number pairs; got ${args.length} numbers`,
              e.pos,
              e.name,
            );
          }
          for (const [i, a] of args.entries()) needNum(a, i, 'a vertex coordinate');
          for (let i = 0; i < args.length; i += 2) verts.push([args[i], args[i + 1]]);
        }
        const shape: Shape = { kind: 'polygon', verts };
        const cv = constVerts(shape);
        if (cv) {
          try {
            polygonInfo(cv);
          } catch (err) {
            throw new AdqlError('semantic', `invalid POLYGON: ${(err as Error).message}`, e.pos, e.name);
          }
        }
        const sql = `ARRAY[${verts.flatMap(([a, b]) => [a.sql, b.sql]).join(', ')}]::float8[]`;
        return {
          ...common,
          sql,
          t: { cat: 'geo', geo: 'polygon', meta: geoMeta('polygon') },
          name: 'polygon',
          shape,
        };
      }
    }
  }

  /** REGION('STC-S'): the common shapes are rewritten into the constructors. */
  private region(e: Extract<Expr, { kind: 'call' }>, ctx: Ctx): Val {
    const text = (e.args[0] as Extract<Expr, { kind: 'string' }>).value;
    const words = text.trim().split(/\s+/);
    const shape = words.shift()?.toUpperCase() ?? '';
    const name = { POSITION: 'POINT', CIRCLE: 'CIRCLE', BOX: 'BOX', POLYGON: 'POLYGON' }[shape];
    if (!name) {
      throw new AdqlError(
        'unsupported',
        `REGION: only POSITION, CIRCLE, BOX and POLYGON are supported, not '${shape}'`,
        e.args[0].pos,
        shape,
      );
    }
    const nums: number[] = [];
    for (const w of words) {
      if (/^[A-Za-z]/.test(w)) {
        if (nums.length)
          throw new AdqlError('unsupported', `REGION: cannot read '${w}' in '${text}'`, e.args[0].pos, w);
        continue;
      }
      const v = Number(w);
      if (!Number.isFinite(v))
        throw new AdqlError('semantic', `REGION: '${w}' is not a number`, e.args[0].pos, w);
      nums.push(v);
    }
    const counts: Record<string, (n: number) => boolean> = {
      POINT: (n) => n === 2,
      CIRCLE: (n) => n === 3,
      BOX: (n) => n === 4,
      POLYGON: (n) => n >= 6 && n % 2 === 0,
    };
    if (!name)
      throw new AdqlError(
        'unsupported',
        `REGION: only POSITION, CIRCLE, BOX and POLYGON are supported, not '${shape}'`,
        e.args[0].pos,
        shape,
      );
    if (!counts[name](nums.length))
      throw new AdqlError('semantic', `REGION: wrong number of values for ${shape}`, e.args[0].pos, shape);
    const args: Expr[] = nums.map((v) =>
      v < 0
        ? {
            kind: 'unary',
            pos: e.pos,
            op: '-',
            arg: { kind: 'number', pos: e.pos, text: String(-v), value: -v, integer: false },
          }
        : { kind: 'number', pos: e.pos, text: String(v), value: v, integer: false },
    );
    return this.shape(
      { kind: 'call', pos: e.pos, name, args, coordsys: words.find((w) => /^[A-Za-z]/.test(w)) },
      ctx,
    );
  }

  private pointParts(v: Val): {
    lon: string;
    lat: string;
    klon?: number;
    klat?: number;
    lonV?: Val;
    latV?: Val;
  } {
    if (v.shape?.kind === 'point')
      return {
        lon: v.shape.lon.sql,
        lat: v.shape.lat.sql,
        klon: v.shape.lon.k,
        klat: v.shape.lat.k,
        lonV: v.shape.lon,
        latV: v.shape.lat,
      };
    return { lon: `(${v.sql})[1]`, lat: `(${v.sql})[2]` };
  }

  private circleParts(v: Val): {
    lon: string;
    lat: string;
    r: string;
    k?: [number, number, number];
    rels: Set<Rel>;
  } {
    if (v.shape?.kind === 'circle') {
      const { lon, lat, r } = v.shape;
      const k: [number, number, number] | undefined =
        lon.k !== undefined && lat.k !== undefined && r.k !== undefined ? [lon.k, lat.k, r.k] : undefined;
      return { lon: lon.sql, lat: lat.sql, r: r.sql, k, rels: unionRels([lon, lat, r]) };
    }
    return { lon: `(${v.sql})[1]`, lat: `(${v.sql})[2]`, r: `(${v.sql})[3]`, rels: v.rels };
  }

  private polygonArray(v: Val): string {
    return v.sql;
  }

  private area(e: Extract<Expr, { kind: 'call' }>, ctx: Ctx): Val {
    const g = this.expr(e.args[0], ctx);
    if (g.t.cat !== 'geo')
      throw new AdqlError(
        'semantic',
        `AREA needs a geometry, got ${describeType(g.t)}`,
        e.args[0].pos,
        'AREA',
      );
    const t = numType(false, 'double', { unit: 'deg**2', ucd: 'phys.area' });
    const base = { t, name: 'area', agg: g.agg, rels: g.rels };
    if (g.t.geo === 'point') return { ...base, sql: '0::float8', k: 0 };
    if (g.t.geo === 'circle') {
      const c = this.circleParts(g);
      // Spherical cap: 2π(1 − cos r) steradians, in square degrees.
      return { ...base, sql: `(2 * pi() * (1 - cosd(least(${c.r}, 180))) * power(180 / pi(), 2))` };
    }
    if (g.t.geo === 'polygon') return { ...base, sql: `adql.polygon_area(${g.sql})` };
    throw new AdqlError('unsupported', 'AREA of a region is not supported', e.pos, 'AREA');
  }

  private distanceArgs(
    e: Extract<Expr, { kind: 'call' }>,
    ctx: Ctx,
  ): Array<{ lon: string; lat: string; v: Val[]; lonV?: Val; latV?: Val }> {
    const args = e.args.map((a) => this.expr(a, ctx));
    if (args.length === 4) {
      args.forEach((a, i) => {
        if (a.t.cat !== 'num' && a.t.cat !== 'null')
          throw new AdqlError(
            'semantic',
            `DISTANCE: argument ${i + 1} must be a number, got ${describeType(a.t)}`,
            e.args[i].pos,
            'DISTANCE',
          );
        if ((i === 1 || i === 3) && a.k !== undefined && Math.abs(a.k) > 90) {
          throw new AdqlError('semantic', `latitude ${a.k} is outside [-90, 90]`, e.args[i].pos, 'DISTANCE');
        }
      });
      return [
        { lon: args[0].sql, lat: args[1].sql, v: [args[0], args[1]], lonV: args[0], latV: args[1] },
        { lon: args[2].sql, lat: args[3].sql, v: [args[2], args[3]], lonV: args[2], latV: args[3] },
      ];
    }
    return args.map((a, i) => {
      if (a.t.geo !== 'point' && a.t.cat !== 'null') {
        throw new AdqlError(
          'semantic',
          `DISTANCE: argument ${i + 1} must be a POINT, got ${describeType(a.t)}`,
          e.args[i].pos,
          'DISTANCE',
        );
      }
      const p = this.pointParts(a);
      return { lon: p.lon, lat: p.lat, v: [a], lonV: p.lonV, latV: p.latV };
    });
  }

  private distanceTest(call: Extract<Expr, { kind: 'call' }>, r: Val, strict: boolean, ctx: Ctx): string {
    const [p, q] = this.distanceArgs(call, ctx);
    // Either point may be the indexed one.
    const asVal = (x: { lon: string; lat: string; v: Val[]; lonV?: Val; latV?: Val }): Val => ({
      sql: `ARRAY[${x.lon}, ${x.lat}]::float8[]`,
      t: { cat: 'geo', geo: 'point', meta: geoMeta('point') },
      name: 'point',
      agg: false,
      rels: unionRels(x.v),
      shape: x.lonV && x.latV ? { kind: 'point', lon: x.lonV, lat: x.latV } : undefined,
    });
    const pv = asVal(p);
    const qv = asVal(q);
    const circleAround = (c: Val): Val => {
      const cp = this.pointParts(c);
      const lon: Val = { ...c, sql: cp.lon, t: NUM_DOUBLE, k: cp.klon, shape: undefined };
      const lat: Val = { ...c, sql: cp.lat, t: NUM_DOUBLE, k: cp.klat, shape: undefined };
      return {
        ...c,
        t: { cat: 'geo', geo: 'circle', meta: geoMeta('circle') },
        shape: { kind: 'circle', lon, lat, r },
        rels: new Set([...c.rels, ...r.rels]),
      };
    };
    if (this.indexOf(qv) && !this.indexOf(pv)) return this.pointInCircle(qv, circleAround(pv), strict);
    // Both indexed (a self-join): index the side a LATERAL can reach, if only one can.
    const qi = this.indexOf(qv);
    const h = this.xmHoist;
    if (qi && h) {
      const pRel = this.indexOf(pv)!.rel;
      // Prefer a side a LATERAL reaches as the FROM list is written; only then one reached
      // by moving a table of a comma list.
      const pNow = h.accepts(pRel, qv.rels, false);
      const qNow = h.accepts(qi.rel, pv.rels, false);
      const useQ = pNow ? false : qNow || (!h.accepts(pRel, qv.rels) && h.accepts(qi.rel, pv.rels));
      if (useQ) return this.pointInCircle(qv, circleAround(pv), strict);
    }
    return this.pointInCircle(pv, circleAround(qv), strict);
  }

  /** The boolean SQL of CONTAINS/INTERSECTS (ADQL-37, ADQL-38). */
  private spatialTest(e: Extract<Expr, { kind: 'call' }>, ctx: Ctx): string {
    const a = this.expr(e.args[0], ctx);
    const b = this.expr(e.args[1], ctx);
    e.args.forEach((arg, i) => {
      const v = i === 0 ? a : b;
      if (v.t.cat !== 'geo' && v.t.cat !== 'null')
        throw new AdqlError(
          'semantic',
          `${e.name}: argument ${i + 1} must be a geometry, got ${describeType(v.t)}`,
          arg.pos,
          e.name,
        );
      if (v.t.geo === 'region')
        throw new AdqlError('unsupported', `${e.name} on a region column is not supported`, arg.pos, e.name);
    });
    if (a.t.cat === 'null' || b.t.cat === 'null') return 'NULL::boolean';
    if (a.t.geo === 'polygon' && b.t.geo === 'polygon') return this.polygonPair(e.name, a, b, ctx);
    if (e.name === 'INTERSECTS') {
      // ADQL-38: with a POINT, INTERSECTS is CONTAINS with the point first.
      if (b.t.geo === 'point' && a.t.geo !== 'point') return this.contains(b, a);
      if (a.t.geo === 'point') return this.contains(a, b);
      if (a.t.geo === 'circle' && b.t.geo === 'circle') {
        const c1 = this.circleParts(a);
        const c2 = this.circleParts(b);
        return `adql.chord2(${c1.lon}, ${c1.lat}, ${c2.lon}, ${c2.lat}) <= adql.chord2_of(${c1.r} + ${c2.r})`;
      }
      return `adql.geom_intersects(${a.sql}, '${a.t.geo}', ${b.sql}, '${b.t.geo}')`;
    }
    return this.contains(a, b);
  }

  private contains(a: Val, b: Val): string {
    if (a.t.geo === 'point' && b.t.geo === 'circle') return this.pointInCircle(a, b, false);
    if (a.t.geo === 'point' && b.t.geo === 'polygon') return this.pointInPolygon(a, b);
    return `adql.geom_contains(${a.sql}, '${a.t.geo}', ${b.sql}, '${b.t.geo}')`;
  }

  /**
   * Polygon against polygon (ADQL-37, ADQL-38): bounding caps first, a few multiplications
   * per pair (sql/037_adql_polygon_filter.sql), then the exact O(n*m) test only for pairs
   * whose caps meet. A constant polygon's cap is computed here; in a join condition a
   * column polygon's cap is computed once per row of its table (an extra column, as
   * crossmatch ranges are) rather than once per pair.
   */
  private polygonPair(name: string, a: Val, b: Val, ctx: Ctx): string {
    const fn = name === 'CONTAINS' ? 'adql.geom_contains' : 'adql.geom_intersects';
    const cap = (p: Val, other: Val): string => {
      const verts = p.shape ? constVerts(p.shape) : undefined;
      if (verts) return polygonCapSql(verts);
      const [rel, more] = [...p.rels];
      // Only a join needs it: against a constant the cap is computed once per row anyway,
      // and the subquery holding the extra column would hide the table's indexes.
      const hoist = (ctx.clause === 'WHERE' || ctx.clause === 'ON') && !p.agg && !more && other.rels.size > 0;
      if (!hoist || !rel?.table || !this.rels.includes(rel) || other.rels.has(rel))
        return `adql.polygon_cap(${p.sql})`;
      const col = `_pc${++this.xmCount}`;
      rel.extras.push({ name: col, sql: `adql.polygon_cap(${p.sql})` });
      return `${quoteIdent(rel.alias)}.${quoteIdent(col)}`;
    };
    return `adql.caps_meet(${cap(a, b)}, ${cap(b, a)}) AND ${fn}(${a.sql}, 'polygon', ${b.sql}, 'polygon')`;
  }

  /** The relation and HEALPix column when `p` is POINT(t.lon, t.lat) of a table with a spatial index. */
  private indexOf(p: Val): { rel: Rel; hpx: string } | undefined {
    if (p.shape?.kind !== 'point') return undefined;
    const lon = p.shape.lon.column;
    const lat = p.shape.lat.column;
    if (!lon || !lat || lon.rel !== lat.rel) return undefined;
    const rel = lon.rel;
    const si = rel.table?.spatialIndex;
    if (!si) return undefined;
    const same = (a: string, b: string) => stripQuotes(a).name.toLowerCase() === b.toLowerCase();
    if (!same(si.lon, lon.col.name) || !same(si.lat, lat.col.name)) return undefined;
    const col = rel.table!.columns.find((c) => same(c.name, stripQuotes(si.column).name));
    const phys = col?.sqlName ?? stripQuotes(col?.name ?? si.column).name;
    return { rel, hpx: `${quoteIdent(rel.alias)}.${quoteIdent(phys)}` };
  }

  private rangeSql(hpx: string, ranges: ReadonlyArray<PixelRange>): string | undefined {
    if (ranges.length === 0) return 'false';
    if (ranges.length === 1 && ranges[0][0] === 0n && ranges[0][1] >= SKY_END) return undefined;
    return ranges
      .map(([lo, hi]) => (hi - lo === 1n ? `${hpx} = ${lo}` : `(${hpx} >= ${lo} AND ${hpx} < ${hi})`))
      .join(' OR ');
  }

  private pointInCircle(p: Val, c: Val, strict: boolean): string {
    const pp = this.pointParts(p);
    const cc = this.circleParts(c);
    const cmp = strict ? '<' : '<=';
    let exact: string;
    let ranges: string | undefined;
    const idx = this.indexOf(p);
    if (cc.k) {
      const [lon, lat, r] = cc.k;
      // Constructors check their literal latitudes; this catches DISTANCE(ra, dec, 10, 95).
      if (Math.abs(lat) > 90) return 'false';
      const v = toVec(lon, lat);
      // Squared chord: keeps precision for arcsecond radii where 1 − cos r underflows.
      const k = r >= 180 ? 5 : (2 * Math.sin(((Math.max(r, 0) / 2) * Math.PI) / 180)) ** 2;
      exact = `adql.chord2v(${pp.lon}, ${pp.lat}, ${num(v[0])}, ${num(v[1])}, ${num(v[2])}) ${cmp} ${num(k)}`;
      if (idx)
        ranges = this.rangeSql(
          idx.hpx,
          cachedCoverage(`c ${lon} ${lat} ${r} ${this.maxRanges}`, () =>
            coneCoverage(lon, lat, Math.max(r, 0), { maxRanges: this.maxRanges }),
          ),
        );
    } else {
      exact = `adql.chord2(${pp.lon}, ${pp.lat}, ${cc.lon}, ${cc.lat}) ${cmp} adql.chord2_of(${cc.r})`;
      if (idx && !cc.rels.has(idx.rel)) {
        const hoist = this.xmHoist;
        if (hoist?.accepts(idx.rel, cc.rels)) {
          // Decided by conjuncts() once it sees whether this test is the whole conjunct.
          const token = `\u0000X${++this.xmCount}\u0000`;
          hoist.pending.set(token, { idx, cc, exact });
          return token;
        }
        ranges = this.crossmatchRanges(idx, cc);
      }
    }
    return ranges ? `(${ranges}) AND ${exact}` : exact;
  }

  /**
   * Crossmatch: the circle moves with the rows of another relation. Per row of that
   * relation, adql.xmatch_ranges gives up to 4 order-29 ranges covering the circle;
   * `hpx >= lo AND hpx < hi` arms let PostgreSQL run a parameterised index scan on the
   * indexed side for each row of the other side.
   */
  private crossmatchRanges(
    idx: { rel: Rel; hpx: string },
    cc: { lon: string; lat: string; r: string; rels: Set<Rel> },
  ): string {
    const call = `adql.xmatch_ranges(${cc.lon}, ${cc.lat}, ${cc.r})`;
    let g = `(${call})`;
    const others = [...cc.rels];
    if (others.length === 1 && others[0].table && others[0] !== idx.rel && this.rels.includes(others[0])) {
      const name = `_xm${++this.xmCount}`;
      others[0].extras.push({ name, sql: call });
      g = `${quoteIdent(others[0].alias)}.${quoteIdent(name)}`;
    }
    return this.rangeArms(idx.hpx, g);
  }

  /** `hpx` within one of the 4 ranges of an adql.xmatch_ranges array `g`. */
  private rangeArms(hpx: string, g: string): string {
    const arms: string[] = [];
    for (let i = 0; i < 4; i++) arms.push(`(${hpx} >= ${g}[${2 * i + 1}] AND ${hpx} < ${g}[${2 * i + 2}])`);
    return arms.join(' OR ');
  }

  private pointInPolygon(p: Val, poly: Val): string {
    const pp = this.pointParts(p);
    const verts = poly.shape ? constVerts(poly.shape) : undefined;
    const idx = this.indexOf(p);
    if (!verts) return `adql.polygon_contains(${poly.sql}, ${pp.lon}, ${pp.lat})`;
    const info = polygonInfo(verts);
    const exact = info.convexNormals
      ? info.convexNormals
          .map((n) => `adql.dotv(${pp.lon}, ${pp.lat}, ${num(n[0])}, ${num(n[1])}, ${num(n[2])}) >= 0`)
          .join(' AND ')
      : `adql.polygon_contains(${poly.sql}, ${pp.lon}, ${pp.lat})`;
    const ranges = idx
      ? this.rangeSql(
          idx.hpx,
          cachedCoverage(`p ${verts.join(' ')} ${this.maxRanges}`, () =>
            polygonCoverage(verts, { maxRanges: this.maxRanges }),
          ),
        )
      : undefined;
    return ranges ? `(${ranges}) AND ${exact}` : exact;
  }
}

/** The cap of adql.polygon_cap for a constant polygon, as a literal (same construction). */
function polygonCapSql(verts: Array<[number, number]>): string {
  const c = polygonCap(verts);
  return `ARRAY[${c.map(num).join(', ')}]::float8[]`;
}

function constVerts(shape: Shape): Array<[number, number]> | undefined {
  if (shape.kind === 'box') {
    const { lon, lat, w, h } = shape;
    if (lon.k === undefined || lat.k === undefined || w.k === undefined || h.k === undefined)
      return undefined;
    return boxVertices(lon.k, lat.k, w.k, h.k);
  }
  if (shape.kind !== 'polygon') return undefined;
  const out: Array<[number, number]> = [];
  for (const [a, b] of shape.verts) {
    if (a.k === undefined || b.k === undefined) return undefined;
    out.push([a.k, b.k]);
  }
  return out;
}

function unionRels(vals: Val[]): Set<Rel> {
  const s = new Set<Rel>();
  for (const v of vals) for (const r of v.rels) s.add(r);
  return s;
}

function compatible(a: VType, b: VType): boolean {
  if (a.cat === 'null' || b.cat === 'null') return true;
  if (a.cat === b.cat) return a.cat !== 'geo' || a.geo === b.geo;
  return (a.cat === 'time' && b.cat === 'str') || (a.cat === 'str' && b.cat === 'time');
}

function describeType(t: VType): string {
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

/**
 * The operands of a left-deep chain of `kind` nodes (`a OR b OR c` -> [a, b, c]), found by
 * a loop: the parser builds chains left-deep, one level per operator, so recursing down the
 * left side would use stack in proportion to the query's length.
 */
function leftSpine<N extends { kind: string }>(node: N, kind: string): N[] {
  const rights: N[] = [];
  let n = node;
  while (n.kind === kind) {
    const b = n as unknown as { left: N; right: N };
    rights.push(b.right);
    n = b.left;
  }
  rights.push(n);
  return rights.reverse();
}

function hasAggregate(e: Expr): boolean {
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

const CONDITION_KINDS = new Set([
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
function isCondition(x: Condition | Expr): x is Condition {
  return CONDITION_KINDS.has(x.kind);
}

function condHasAggregate(c: Condition): boolean {
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
