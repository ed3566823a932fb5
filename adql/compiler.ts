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
import * as conditions from './conditions.js';
import type {
  CircleParts,
  Compiled,
  Ctx,
  Cx,
  OutCol,
  PointParts,
  Rel,
  RelCol,
  Scope,
  StarEntry,
  Val,
  Visible,
  WithEntry,
  XmHoist,
} from './context.js';
import * as crossmatch from './crossmatch.js';
import { type Dialect, POSTGRES } from './dialect.js';
import type { Position } from './errors.js';
import * as expressions from './expressions.js';
import * as from from './from.js';
import * as functions from './functions.js';
import * as names from './names.js';
import * as query from './query.js';
import * as spatial from './spatial.js';
import { resultColumns } from './types.js';

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
    names.indexCatalogue(this, catalogue);
    this.maxRanges = options.maxRanges ?? DEFAULT_MAX_RANGES;
    if (options.maxrec !== undefined && !(Number.isSafeInteger(options.maxrec) && options.maxrec >= 0)) {
      throw new RangeError(`maxrec must be a non-negative integer, got ${options.maxrec}`);
    }
  }

  compile(ast: QueryAst): CompiledQuery {
    const withSql: string[] = [];
    for (const w of ast.with) {
      names.checkNewWith(this, w.name);
      const compiled = this.queryExpression(w.query, undefined, false);
      const cte = names.declareWith(this, w.name, compiled.cols);
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
    return names.nextAlias(this);
  }
  placeholderFor(rel: Rel): string {
    return names.placeholderFor(this, rel);
  }
  addRel(scope: Scope, rel: Rel, nameId: Identifier): void {
    names.addRel(this, scope, rel, nameId);
  }
  tableRel(name: Identifier[], corr: Identifier | undefined, pos: Position): Rel {
    return names.tableRel(this, name, corr, pos);
  }
  catalogueColumn(alias: string, c: CatalogueColumn): RelCol {
    return names.catalogueColumn(this, alias, c);
  }
  colVal(rel: Rel, col: RelCol): Val {
    return names.colVal(this, rel, col);
  }
  relMatches(rel: Rel, q: Identifier[]): boolean {
    return names.relMatches(this, rel, q);
  }
  findRel(q: Identifier[], scope: Scope, pos: Position, mustExist: boolean): Rel | undefined {
    return names.findRel(this, q, scope, pos, mustExist);
  }
  scopeRelNames(scope: Scope): string[] {
    return names.scopeRelNames(this, scope);
  }
  tryResolve(parts: Identifier[], scope: Scope): boolean {
    return names.tryResolve(this, parts, scope);
  }
  resolveColumn(parts: Identifier[], scope: Scope, pos: Position): Val {
    return names.resolveColumn(this, parts, scope, pos);
  }
  fromItem(
    ref: TableRef,
    scope: Scope,
    visible: Visible,
    inner: boolean,
  ): { sql: string; star: StarEntry[]; rels: Rel[] } {
    return from.fromItem(this, ref, scope, visible, inner);
  }
  queryExpression(q: QueryExpression, parent: Scope | undefined, final: boolean, maxrec?: number): Compiled {
    return query.queryExpression(this, q, parent, final, maxrec);
  }
  setOrderTerm(o: OrderTerm, cols: OutCol[]): string {
    return query.setOrderTerm(this, o, cols);
  }
  queryTerm(term: QueryTerm, parent: Scope | undefined): Compiled {
    return query.queryTerm(this, term, parent);
  }
  setOperation(term: SetOperation, left: Compiled, parent: Scope | undefined): Compiled {
    return query.setOperation(this, term, left, parent);
  }
  outputNames(names: string[]): string[] {
    return query.outputNames(this, names);
  }
  select(
    sel: SelectQuery,
    parent: Scope | undefined,
    final: boolean,
    orderBy: OrderTerm[],
    offset: number | undefined,
    maxrec: number | undefined,
  ): Compiled {
    return query.select(this, sel, parent, final, orderBy, offset, maxrec);
  }
  checkGrouped(c: Ctx): void {
    query.checkGrouped(this, c);
  }
  condition(c: Condition, ctx: Ctx): string {
    return conditions.condition(this, c, ctx);
  }
  compare(c: Extract<Condition, { kind: 'compare' }>, ctx: Ctx): string {
    return conditions.compare(this, c, ctx);
  }
  coerceTo(v: Val, other: Val): Val {
    return conditions.coerceTo(this, v, other);
  }
  checkComparable(a: Val, b: Val, pos: Position, what: string): void {
    conditions.checkComparable(this, a, b, pos, what);
  }
  expr(e: Expr, ctx: Ctx): Val {
    return expressions.expr(this, e, ctx);
  }
  exprInner(e: Expr, ctx: Ctx): Val {
    return expressions.exprInner(this, e, ctx);
  }
  binary(e: Extract<Expr, { kind: 'binary' }>, ctx: Ctx): Val {
    return expressions.binary(this, e, ctx);
  }
  binaryStep(e: Extract<Expr, { kind: 'binary' }>, l: Val, r: Val, rels: Set<Rel>): Val {
    return expressions.binaryStep(this, e, l, r, rels);
  }
  aggregate(e: Extract<Expr, { kind: 'aggregate' }>, ctx: Ctx): Val {
    return expressions.aggregate(this, e, ctx);
  }
  cast(argE: Expr, target: CastTarget, pos: Position, ctx: Ctx): Val {
    return expressions.cast(this, argE, target, pos, ctx);
  }
  caseExpr(e: Extract<Expr, { kind: 'case' }>, ctx: Ctx): Val {
    return expressions.caseExpr(this, e, ctx);
  }
  call(e: Extract<Expr, { kind: 'call' }>, ctx: Ctx): Val {
    return functions.call(this, e, ctx);
  }
  math(e: Extract<Expr, { kind: 'call' }>, ctx: Ctx): Val {
    return functions.math(this, e, ctx);
  }
  inUnit(e: Extract<Expr, { kind: 'call' }>, ctx: Ctx): Val {
    return functions.inUnit(this, e, ctx);
  }
  shape(e: Extract<Expr, { kind: 'call' }>, ctx: Ctx): Val {
    return spatial.shape(this, e, ctx);
  }
  region(e: Extract<Expr, { kind: 'call' }>, ctx: Ctx): Val {
    return spatial.region(this, e, ctx);
  }
  pointParts(v: Val): PointParts {
    return spatial.pointParts(this, v);
  }
  circleParts(v: Val): CircleParts {
    return spatial.circleParts(this, v);
  }
  polygonArray(v: Val): string {
    return spatial.polygonArray(this, v);
  }
  area(e: Extract<Expr, { kind: 'call' }>, ctx: Ctx): Val {
    return spatial.area(this, e, ctx);
  }
  distanceArgs(
    e: Extract<Expr, { kind: 'call' }>,
    ctx: Ctx,
  ): Array<{ lon: string; lat: string; v: Val[]; lonV?: Val; latV?: Val }> {
    return spatial.distanceArgs(this, e, ctx);
  }
  spatialTest(e: Extract<Expr, { kind: 'call' }>, ctx: Ctx): string {
    return spatial.spatialTest(this, e, ctx);
  }
  contains(a: Val, b: Val): string {
    return spatial.contains(this, a, b);
  }
  indexOf(p: Val): { rel: Rel; hpx: string } | undefined {
    return spatial.indexOf(this, p);
  }
  rangeSql(hpx: string, ranges: ReadonlyArray<PixelRange>): string | undefined {
    return spatial.rangeSql(this, hpx, ranges);
  }
  pointInPolygon(p: Val, poly: Val): string {
    return spatial.pointInPolygon(this, p, poly);
  }
  conjuncts(c: Condition, ctx: Ctx, accepts: XmHoist['accepts'], commit?: XmHoist['commit']): string {
    return crossmatch.conjuncts(this, c, ctx, accepts, commit);
  }
  distanceTest(call: Extract<Expr, { kind: 'call' }>, r: Val, strict: boolean, ctx: Ctx): string {
    return crossmatch.distanceTest(this, call, r, strict, ctx);
  }
  pointInCircle(p: Val, c: Val, strict: boolean): string {
    return crossmatch.pointInCircle(this, p, c, strict);
  }
  crossmatchRanges(
    idx: { rel: Rel; hpx: string },
    cc: { lon: string; lat: string; r: string; rels: Set<Rel> },
  ): string {
    return crossmatch.crossmatchRanges(this, idx, cc);
  }
  rangeArms(hpx: string, g: string): string {
    return crossmatch.rangeArms(this, hpx, g);
  }
  expandPlaceholders(sql: string, done?: Set<number>): string {
    return crossmatch.expandPlaceholders(this, sql, done);
  }
  relSql(rel: Rel): string {
    return crossmatch.relSql(this, rel);
  }
}
