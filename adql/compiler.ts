// ADQL AST -> PostgreSQL: the passes of the compiler, wired together. One walk over the AST
// does name resolution (names.ts, from.ts), typing (expressions.ts, functions.ts,
// conditions.ts, types.ts), spatial and crossmatch planning (spatial.ts, crossmatch.ts) and
// query structure (query.ts); each pass module produces SQL text through a Dialect
// (dialect.ts). The modules call one another only through Cx (context.ts), implemented here.
//
// Safety rules (why the output cannot contain user-written SQL):
//  - identifiers in the SQL come only from the catalogue (quoted) or are generated (_t1, c1);
//  - string literals become bind parameters ($n::text);
//  - numbers are re-emitted from the lexer's digit strings or from computed doubles;
//  - comments never leave the lexer.

import type { PixelRange } from '../sky/index.js';
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
  CompiledQuery,
  CompileOptions,
} from './catalogue.js';
import { checkComparable, coerceTo, compare, condition } from './conditions.js';
import type {
  CircleParts,
  Compiled,
  Ctx,
  Cx,
  FromItem,
  OutCol,
  PointParts,
  Rel,
  RelCol,
  Scope,
  Val,
  Visible,
  WithEntry,
  XmHoist,
  XmPlan,
} from './context.js';
import {
  conjuncts,
  crossmatchRanges,
  distanceTest,
  expandPlaceholders,
  pointInCircle,
  rangeArms,
  relSql,
} from './crossmatch.js';
import { type Dialect, POSTGRES } from './dialect.js';
import type { Position } from './errors.js';
import { aggregate, binary, binaryStep, caseExpr, cast, expr, exprInner } from './expressions.js';
import { fromItem } from './from.js';
import { call, inUnit, math } from './functions.js';
import {
  addRel,
  catalogueColumn,
  checkNewWith,
  colVal,
  declareWith,
  findRel,
  indexCatalogue,
  nextAlias,
  placeholderFor,
  relMatches,
  resolveColumn,
  scopeRelNames,
  tableRel,
  tryResolve,
} from './names.js';
import {
  checkGrouped,
  outputNames,
  queryExpression,
  queryTerm,
  select,
  setOperation,
  setOrderTerm,
} from './query.js';
import {
  area,
  circleParts,
  contains,
  distanceArgs,
  indexOf,
  pointInPolygon,
  pointParts,
  polygonArray,
  rangeSql,
  region,
  shape,
  spatialTest,
} from './spatial.js';
import { resultColumns } from './types.js';

/**
 * The pass functions in one plain object, read once: calls through it stay cheap where a
 * module loader turns each imported binding into a getter (tsx does).
 */
const PASSES = {
  addRel,
  aggregate,
  area,
  binary,
  binaryStep,
  call,
  caseExpr,
  cast,
  catalogueColumn,
  checkComparable,
  checkGrouped,
  circleParts,
  coerceTo,
  colVal,
  compare,
  condition,
  conjuncts,
  contains,
  crossmatchRanges,
  distanceArgs,
  distanceTest,
  expandPlaceholders,
  expr,
  exprInner,
  findRel,
  fromItem,
  indexOf,
  inUnit,
  math,
  nextAlias,
  outputNames,
  placeholderFor,
  pointInCircle,
  pointInPolygon,
  pointParts,
  polygonArray,
  queryExpression,
  queryTerm,
  rangeArms,
  rangeSql,
  region,
  relMatches,
  relSql,
  resolveColumn,
  scopeRelNames,
  select,
  setOperation,
  setOrderTerm,
  shape,
  spatialTest,
  tableRel,
  tryResolve,
};

const DEFAULT_MAX_RANGES = 16;

export class Compiler implements Cx {
  params: unknown[] = [];
  paramIndex = new Map<string, number>();
  relCount = 0;
  ctes = new Map<string, WithEntry>();
  ctesByName = new Map<string, WithEntry[]>();
  tablesByName = new Map<string, CatalogueTable[]>();
  allTables: CatalogueTable[] = [];
  defaultSchema?: string;
  xmCount = 0;
  rels: Rel[] = [];
  fromInfo = new Map<Rel, { visible: Visible; inner: boolean }>();
  lateral = new Map<Rel, Array<{ name: string; call: string; hpx: string; exact: string }>>();
  xmHoist?: XmHoist;
  readonly maxRanges: number;

  constructor(
    catalogue: Catalogue,
    readonly options: CompileOptions = {},
    readonly dialect: Dialect = POSTGRES,
  ) {
    indexCatalogue(this, catalogue);
    this.maxRanges = options.maxRanges ?? DEFAULT_MAX_RANGES;
    if (options.maxrec !== undefined && !(Number.isSafeInteger(options.maxrec) && options.maxrec >= 0)) {
      throw new RangeError(`maxrec must be a non-negative integer, got ${options.maxrec}`);
    }
  }

  compile(ast: QueryAst): CompiledQuery {
    const withSql: string[] = [];
    for (const w of ast.with) {
      checkNewWith(this, w.name);
      const compiled = this.queryExpression(w.query, undefined, false);
      const cte = declareWith(this, w.name, compiled.cols);
      withSql.push(`${this.dialect.quoteIdent(cte.alias)} AS (${compiled.sql})`);
    }
    const main = this.queryExpression(ast.query, undefined, true, this.options.maxrec);
    let sql = withSql.length ? `WITH ${withSql.join(', ')} ${main.sql}` : main.sql;
    sql = this.expandPlaceholders(sql);
    return { sql, params: this.params, columns: resultColumns(main.cols) };
  }

  /**
   * One parameter per distinct string: an expression compiled twice (GROUP BY an alias,
   * CONTAINS in a select list) then yields identical SQL, and no parameter goes unused.
   */
  param(value: string): string {
    let n = this.paramIndex.get(value);
    if (n === undefined) {
      this.params.push(value);
      n = this.params.length;
      this.paramIndex.set(value, n);
    }
    return this.dialect.param(n);
  }

  // The passes (each implemented in its module).
  nextAlias(): string {
    return PASSES.nextAlias(this);
  }
  placeholderFor(rel: Rel): string {
    return PASSES.placeholderFor(this, rel);
  }
  addRel(scope: Scope, rel: Rel, nameId: Identifier): void {
    PASSES.addRel(this, scope, rel, nameId);
  }
  tableRel(name: Identifier[], corr: Identifier | undefined, pos: Position): Rel {
    return PASSES.tableRel(this, name, corr, pos);
  }
  catalogueColumn(alias: string, c: CatalogueColumn): RelCol {
    return PASSES.catalogueColumn(this, alias, c);
  }
  colVal(rel: Rel, col: RelCol): Val {
    return PASSES.colVal(this, rel, col);
  }
  relMatches(rel: Rel, q: Identifier[]): boolean {
    return PASSES.relMatches(this, rel, q);
  }
  findRel(q: Identifier[], scope: Scope, pos: Position, mustExist: boolean): Rel | undefined {
    return PASSES.findRel(this, q, scope, pos, mustExist);
  }
  scopeRelNames(scope: Scope): string[] {
    return PASSES.scopeRelNames(this, scope);
  }
  tryResolve(parts: Identifier[], scope: Scope): boolean {
    return PASSES.tryResolve(this, parts, scope);
  }
  resolveColumn(parts: Identifier[], scope: Scope, pos: Position): Val {
    return PASSES.resolveColumn(this, parts, scope, pos);
  }
  fromItem(ref: TableRef, scope: Scope, visible: Visible, inner: boolean): FromItem {
    return PASSES.fromItem(this, ref, scope, visible, inner);
  }
  queryExpression(q: QueryExpression, parent: Scope | undefined, final: boolean, maxrec?: number): Compiled {
    return PASSES.queryExpression(this, q, parent, final, maxrec);
  }
  setOrderTerm(o: OrderTerm, cols: OutCol[]): string {
    return PASSES.setOrderTerm(this, o, cols);
  }
  queryTerm(term: QueryTerm, parent: Scope | undefined): Compiled {
    return PASSES.queryTerm(this, term, parent);
  }
  setOperation(term: SetOperation, left: Compiled, parent: Scope | undefined): Compiled {
    return PASSES.setOperation(this, term, left, parent);
  }
  outputNames(names: string[]): string[] {
    return PASSES.outputNames(this, names);
  }
  select(
    sel: SelectQuery,
    parent: Scope | undefined,
    final: boolean,
    orderBy: OrderTerm[],
    offset: number | undefined,
    maxrec: number | undefined,
  ): Compiled {
    return PASSES.select(this, sel, parent, final, orderBy, offset, maxrec);
  }
  checkGrouped(c: Ctx): void {
    PASSES.checkGrouped(this, c);
  }
  condition(c: Condition, ctx: Ctx): string {
    return PASSES.condition(this, c, ctx);
  }
  compare(c: Extract<Condition, { kind: 'compare' }>, ctx: Ctx): string {
    return PASSES.compare(this, c, ctx);
  }
  coerceTo(v: Val, other: Val): Val {
    return PASSES.coerceTo(this, v, other);
  }
  checkComparable(a: Val, b: Val, pos: Position, what: string): void {
    PASSES.checkComparable(this, a, b, pos, what);
  }
  expr(e: Expr, ctx: Ctx): Val {
    return PASSES.expr(this, e, ctx);
  }
  exprInner(e: Expr, ctx: Ctx): Val {
    return PASSES.exprInner(this, e, ctx);
  }
  binary(e: Extract<Expr, { kind: 'binary' }>, ctx: Ctx): Val {
    return PASSES.binary(this, e, ctx);
  }
  binaryStep(e: Extract<Expr, { kind: 'binary' }>, l: Val, r: Val, rels: Set<Rel>): Val {
    return PASSES.binaryStep(this, e, l, r, rels);
  }
  aggregate(e: Extract<Expr, { kind: 'aggregate' }>, ctx: Ctx): Val {
    return PASSES.aggregate(this, e, ctx);
  }
  cast(argE: Expr, target: CastTarget, pos: Position, ctx: Ctx): Val {
    return PASSES.cast(this, argE, target, pos, ctx);
  }
  caseExpr(e: Extract<Expr, { kind: 'case' }>, ctx: Ctx): Val {
    return PASSES.caseExpr(this, e, ctx);
  }
  call(e: Extract<Expr, { kind: 'call' }>, ctx: Ctx): Val {
    return PASSES.call(this, e, ctx);
  }
  math(e: Extract<Expr, { kind: 'call' }>, ctx: Ctx): Val {
    return PASSES.math(this, e, ctx);
  }
  inUnit(e: Extract<Expr, { kind: 'call' }>, ctx: Ctx): Val {
    return PASSES.inUnit(this, e, ctx);
  }
  shape(e: Extract<Expr, { kind: 'call' }>, ctx: Ctx): Val {
    return PASSES.shape(this, e, ctx);
  }
  region(e: Extract<Expr, { kind: 'call' }>, ctx: Ctx): Val {
    return PASSES.region(this, e, ctx);
  }
  pointParts(v: Val): PointParts {
    return PASSES.pointParts(this, v);
  }
  circleParts(v: Val): CircleParts {
    return PASSES.circleParts(this, v);
  }
  polygonArray(v: Val): string {
    return PASSES.polygonArray(this, v);
  }
  area(e: Extract<Expr, { kind: 'call' }>, ctx: Ctx): Val {
    return PASSES.area(this, e, ctx);
  }
  distanceArgs(
    e: Extract<Expr, { kind: 'call' }>,
    ctx: Ctx,
  ): Array<{ lon: string; lat: string; v: Val[]; lonV?: Val; latV?: Val }> {
    return PASSES.distanceArgs(this, e, ctx);
  }
  spatialTest(e: Extract<Expr, { kind: 'call' }>, ctx: Ctx): string {
    return PASSES.spatialTest(this, e, ctx);
  }
  contains(a: Val, b: Val): string {
    return PASSES.contains(this, a, b);
  }
  indexOf(p: Val): { rel: Rel; hpx: string } | undefined {
    return PASSES.indexOf(this, p);
  }
  rangeSql(hpx: string, ranges: ReadonlyArray<PixelRange>): string | undefined {
    return PASSES.rangeSql(this, hpx, ranges);
  }
  pointInPolygon(p: Val, poly: Val): string {
    return PASSES.pointInPolygon(this, p, poly);
  }
  conjuncts(c: Condition, ctx: Ctx, plan: XmPlan): string {
    return PASSES.conjuncts(this, c, ctx, plan);
  }
  distanceTest(call: Extract<Expr, { kind: 'call' }>, r: Val, strict: boolean, ctx: Ctx): string {
    return PASSES.distanceTest(this, call, r, strict, ctx);
  }
  pointInCircle(p: Val, c: Val, strict: boolean): string {
    return PASSES.pointInCircle(this, p, c, strict);
  }
  crossmatchRanges(
    idx: { rel: Rel; hpx: string },
    cc: { lon: string; lat: string; r: string; rels: Set<Rel> },
  ): string {
    return PASSES.crossmatchRanges(this, idx, cc);
  }
  rangeArms(hpx: string, g: string): string {
    return PASSES.rangeArms(this, hpx, g);
  }
  expandPlaceholders(sql: string, done?: Set<number>): string {
    return PASSES.expandPlaceholders(this, sql, done);
  }
  relSql(rel: Rel): string {
    return PASSES.relSql(this, rel);
  }
}
