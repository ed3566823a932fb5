// What the compiler's passes share: the values one walk over the AST produces (Val: SQL
// text, inferred type, result metadata), the relations and scopes of FROM, and Cx, the
// seam through which the passes call one another (adql/compiler.ts wires it), so that no
// pass module imports another and each can be read and changed on its own.

import type { PixelRange } from '../sky/index.js';
import type {
  CastTarget,
  Condition,
  Expr,
  Identifier,
  OrderTerm,
  QueryExpression,
  QueryTerm,
  SelectQuery,
  SetOperation,
  TableRef,
} from './ast.js';
import type { CatalogueColumn, CatalogueTable, ColumnMetadata, CompileOptions } from './catalogue.js';
import type { Dialect } from './dialect.js';
import type { Position } from './errors.js';
import type { DeclaredName } from './identifiers.js';

export type Cat = 'num' | 'str' | 'time' | 'geo' | 'bool' | 'null' | 'array';
export type GeoKind = 'point' | 'circle' | 'polygon' | 'region';
export type Meta = Omit<ColumnMetadata, 'name'>;

export interface VType {
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

export type Shape =
  | { kind: 'point'; lon: Val; lat: Val }
  | { kind: 'circle'; lon: Val; lat: Val; r: Val }
  | { kind: 'polygon'; verts: Array<[Val, Val]> }
  | { kind: 'box'; lon: Val; lat: Val; w: Val; h: Val };

export interface Val {
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
  /** The value's name (a column's) was declared delimited. */
  exact?: boolean;
}

export interface RelCol {
  name: string;
  /** Declared delimited (ADQL 2.1 §2.1.3): only the exact spelling reaches it. */
  exact: boolean;
  sql: string;
  t: VType;
  meta: ColumnMetadata;
  /**
   * The type of the column's values: `t` with the column's metadata but its name, made
   * once with the column (not per use, nor looked up per use: `*` over a FROM list of
   * thousands of tables makes a value for every column of each).
   */
  vt: VType;
}

export interface Rel {
  alias: string;
  corr?: Identifier;
  schemaName?: string;
  tableName: string;
  /** The relation's own name, as declared (a table's published name, a WITH name). */
  declared: DeclaredName;
  table?: CatalogueTable;
  columns: RelCol[];
  /** Extra computed columns (per-row crossmatch ranges), materialised once per row. */
  extras: Array<{ name: string; sql: string }>;
  baseSql: string;
  placeholder: string;
}

export interface PendingCrossmatch {
  idx: { rel: Rel; hpx: string };
  cc: { lon: string; lat: string; r: string; rels: Set<Rel> };
  exact: string;
}

/**
 * Where a WHERE or ON clause lets a crossmatch become a LATERAL filter. An object with
 * methods (query.ts, from.ts), not closures made per clause: under tsx each named closure
 * costs a defineProperty when it is made.
 */
export interface XmPlan {
  /**
   * Whether a crossmatch on indexed `idx` around a circle from `circle` may filter idx in a
   * LATERAL; with `allowMove` false, only as the FROM list is written. No side effects.
   */
  accepts(idx: Rel, circle: Set<Rel>, allowMove?: boolean): boolean;
  /** Called when the crossmatch does become idx's LATERAL filter. */
  commit?(idx: Rel, circle: Set<Rel>): void;
}

export interface XmHoist {
  plan: XmPlan;
  pending: Map<string, PendingCrossmatch>;
}

export interface StarEntry {
  val: Val;
}

/**
 * The columns `*` stands for in a FROM item: a relation stands for all its columns, made
 * into values only when a `*` or a NATURAL/USING join asks (most queries name their
 * columns, and a value per column of every table was most of a small query's work).
 */
export type StarItem = Rel | StarEntry;

/** What a FROM item compiles to. */
export interface FromItem {
  sql: string;
  star: StarItem[];
  rels: Rel[];
}

export interface OutCol {
  name: string;
  /** The name was declared delimited (a delimited alias or catalogue name). */
  exact: boolean;
  t: VType;
}

export interface Compiled {
  sql: string;
  cols: OutCol[];
}

/**
 * The relations a LATERAL item may read: the outer ones, plus a prefix of one growing list

 * (the items written before it), plus a few extra. Made in O(1) per FROM item, since a FROM
 * list of n items would otherwise copy O(n^2) relations; asked only about crossmatches.
 */
export class Visible {
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
export class RelList {
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

export class Scope {
  rels: Rel[] = [];
  /** The same relations as a set, and their columns by lower-case name: name lookups stay O(1) as FROM grows. */
  readonly relSet = new Set<Rel>();
  readonly columnsByName = new Map<string, Array<{ rel: Rel; col: RelCol }>>();
  readonly relsByName = new Map<string, Rel[]>();
  /** Columns joined by USING/NATURAL, by lower-case name: each appears once (SQL-92). */
  readonly merged = new Map<string, Array<{ decl: DeclaredName; val: Val }>>();
  constructor(readonly parent?: Scope) {}
  add(rel: Rel): void {
    this.rels.push(rel);
    this.relSet.add(rel);
    pushTo(this.relsByName, (rel.corr ? rel.corr.name : rel.tableName).toLowerCase(), rel);
    for (const col of rel.columns) pushTo(this.columnsByName, col.name.toLowerCase(), { rel, col });
  }
}

export function pushTo<K, V>(m: Map<K, V[]>, k: K, v: V): void {
  const list = m.get(k);
  if (list) list.push(v);
  else m.set(k, [v]);
}

export interface Ctx {
  scope: Scope;
  allowAgg: boolean;
  aggDepth: number;
  grouping?: Set<string>;
  /**
   * Tables whose whole primary key is grouped: their other columns may be selected too, as
   * PostgreSQL allows (functional dependency on the key; CatalogueTable.primaryKey).
   */
  groupedRels?: Set<Rel>;
  ungrouped: Array<{ name: string; pos: Position }>;
  clause: string;
}

export interface PointParts {
  lon: string;
  lat: string;
  klon?: number;
  klat?: number;
  lonV?: Val;
  latV?: Val;
}

export interface CircleParts {
  lon: string;
  lat: string;
  r: string;
  k?: [number, number, number];
  rels: Set<Rel>;
}

/** A WITH query as FROM sees it. */
export interface WithEntry {
  id: Identifier;
  alias: string;
  cols: OutCol[];
}

/**
 * The state of one compilation and the passes, callable from any of them. Each method is
 * implemented in the module named beside its group; adql/compiler.ts delegates.
 */
export interface Cx {
  readonly options: CompileOptions;
  readonly dialect: Dialect;
  readonly maxRanges: number;
  params: unknown[];
  paramIndex: Map<string, number>;
  relCount: number;
  ctes: Map<string, WithEntry>;
  /** The WITH queries by lower-case name: only names equal ignoring case can match. */
  ctesByName: Map<string, WithEntry[]>;
  tablesByName: Map<string, CatalogueTable[]>;
  allTables: CatalogueTable[];
  defaultSchema?: string;
  xmCount: number;
  rels: Rel[];
  /** Where each table reference sits in its FROM: what a LATERAL there may see, and whether only inner joins lead to it. */
  fromInfo: Map<Rel, { visible: Visible; inner: boolean }>;
  /** Crossmatch filters moved into a LATERAL subquery on the indexed relation. */
  lateral: Map<Rel, Array<{ name: string; call: string; hpx: string; exact: string }>>;
  /** Set while a top-level conjunct of WHERE/ON compiles: crossmatches there may become LATERAL. */
  xmHoist?: XmHoist;

  param(value: string): string;
  nextAlias(): string;
  placeholderFor(rel: Rel): string;
  addRel(scope: Scope, rel: Rel, nameId: Identifier): void;
  tableRel(name: Identifier[], corr: Identifier | undefined, pos: Position): Rel;
  catalogueColumn(alias: string, c: CatalogueColumn): RelCol;
  colVal(rel: Rel, col: RelCol): Val;
  relMatches(rel: Rel, q: Identifier[]): boolean;
  findRel(q: Identifier[], scope: Scope, pos: Position, mustExist: boolean): Rel | undefined;
  scopeRelNames(scope: Scope): string[];
  tryResolve(parts: Identifier[], scope: Scope): boolean;
  resolveColumn(parts: Identifier[], scope: Scope, pos: Position): Val;
  fromItem(ref: TableRef, scope: Scope, visible: Visible, inner: boolean): FromItem;
  queryExpression(q: QueryExpression, parent: Scope | undefined, final: boolean, maxrec?: number): Compiled;
  setOrderTerm(o: OrderTerm, cols: OutCol[]): string;
  queryTerm(term: QueryTerm, parent: Scope | undefined): Compiled;
  setOperation(term: SetOperation, left: Compiled, parent: Scope | undefined): Compiled;
  outputNames(names: string[]): string[];
  select(
    sel: SelectQuery,
    parent: Scope | undefined,
    final: boolean,
    orderBy: OrderTerm[],
    offset: number | undefined,
    maxrec: number | undefined,
  ): Compiled;
  checkGrouped(c: Ctx): void;
  condition(c: Condition, ctx: Ctx): string;
  compare(c: Extract<Condition, { kind: 'compare' }>, ctx: Ctx): string;
  coerceTo(v: Val, other: Val): Val;
  checkComparable(a: Val, b: Val, pos: Position, what: string): void;
  expr(e: Expr, ctx: Ctx): Val;
  exprInner(e: Expr, ctx: Ctx): Val;
  binary(e: Extract<Expr, { kind: 'binary' }>, ctx: Ctx): Val;
  binaryStep(e: Extract<Expr, { kind: 'binary' }>, l: Val, r: Val, rels: Set<Rel>): Val;
  aggregate(e: Extract<Expr, { kind: 'aggregate' }>, ctx: Ctx): Val;
  cast(argE: Expr, target: CastTarget, pos: Position, ctx: Ctx): Val;
  caseExpr(e: Extract<Expr, { kind: 'case' }>, ctx: Ctx): Val;
  call(e: Extract<Expr, { kind: 'call' }>, ctx: Ctx): Val;
  math(e: Extract<Expr, { kind: 'call' }>, ctx: Ctx): Val;
  inUnit(e: Extract<Expr, { kind: 'call' }>, ctx: Ctx): Val;
  shape(e: Extract<Expr, { kind: 'call' }>, ctx: Ctx): Val;
  region(e: Extract<Expr, { kind: 'call' }>, ctx: Ctx): Val;
  pointParts(v: Val): PointParts;
  circleParts(v: Val): CircleParts;
  polygonArray(v: Val): string;
  area(e: Extract<Expr, { kind: 'call' }>, ctx: Ctx): Val;
  distanceArgs(
    e: Extract<Expr, { kind: 'call' }>,
    ctx: Ctx,
  ): Array<{ lon: string; lat: string; v: Val[]; lonV?: Val; latV?: Val }>;
  spatialTest(e: Extract<Expr, { kind: 'call' }>, ctx: Ctx): string;
  contains(a: Val, b: Val): string;
  indexOf(p: Val): { rel: Rel; hpx: string } | undefined;
  rangeSql(hpx: string, ranges: ReadonlyArray<PixelRange>): string | undefined;
  pointInPolygon(p: Val, poly: Val): string;
  conjuncts(c: Condition, ctx: Ctx, plan: XmPlan): string;
  distanceTest(call: Extract<Expr, { kind: 'call' }>, r: Val, strict: boolean, ctx: Ctx): string;
  pointInCircle(p: Val, c: Val, strict: boolean): string;
  crossmatchRanges(
    idx: { rel: Rel; hpx: string },
    cc: { lon: string; lat: string; r: string; rels: Set<Rel> },
  ): string;
  rangeArms(hpx: string, g: string): string;
  expandPlaceholders(sql: string, done?: Set<number>): string;
  relSql(rel: Rel): string;
}

/**
 * `v` with another SQL text, type and constant, every field written out. Not a spread
 * (`{ ...v, sql, column: undefined }`): V8 (Node 20) takes microseconds for an object
 * spread followed by a property the source lacks, which was most of a small query's
 * compile time. `column` is dropped unless given: the value is no longer the column.
 */
export function revalue(
  v: Val,
  sql: string,
  t: VType = v.t,
  k: number | undefined = v.k,
  column: Val['column'] = undefined,
  name: string = v.name,
): Val {
  return {
    sql,
    t,
    name,
    agg: v.agg,
    rels: v.rels,
    k,
    shape: v.shape,
    column,
    coordsys: v.coordsys,
    exact: v.exact,
  };
}

/** A new value of `base`'s name, aggregation and relations (written out: see revalue). */
export function newVal(base: { name: string; agg: boolean; rels: Set<Rel> }, sql: string, t: VType): Val {
  return { sql, t, name: base.name, agg: base.agg, rels: base.rels };
}

/** The relations named by any of the values. */
export function unionRels(vals: Val[]): Set<Rel> {
  const s = new Set<Rel>();
  for (const v of vals) for (const r of v.rels) s.add(r);
  return s;
}

/**
 * The operands of a left-deep chain of `kind` nodes (`a OR b OR c` -> [a, b, c]), found by
 * a loop: the parser builds chains left-deep, one level per operator, so recursing down the
 * left side would use stack in proportion to the query's length.
 */
export function leftSpine<N extends { kind: string }>(node: N, kind: string): N[] {
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
