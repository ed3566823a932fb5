import type { Condition, Expr } from './ast.js';
import { type Ctx, type Cx, leftSpine, revalue, type Val } from './context.js';
import { AdqlError, type Position } from './errors.js';
import { expr } from './expressions.js';
import { compatible, describeType, refuseRegionCompare } from './types.js';

export function condition(cx: Cx, c: Condition, ctx: Ctx): string {
  switch (c.kind) {
    case 'and':
    case 'or': {
      // A chain `x OR y OR ...` is a left-deep tree as long as the query: walked by a
      // loop, left to right, so its length cannot overflow the stack.
      const sep = ` ${c.kind.toUpperCase()} `;
      const parts = leftSpine(c, c.kind).map((x) => condition(cx, x, ctx));
      return parts.join(sep);
    }
    case 'not':
      return `NOT (${condition(cx, c.arg, ctx)})`;
    case 'group':
      return `(${condition(cx, c.arg, ctx)})`;
    case 'exists': {
      const q = cx.queryExpression(c.query, ctx.scope, false);
      return `EXISTS (${q.sql})`;
    }
    case 'isnull': {
      const v = expr(cx, c.arg, ctx);
      return `(${v.sql}) IS ${c.not ? 'NOT ' : ''}NULL`;
    }
    case 'like': {
      const a = expr(cx, c.arg, ctx);
      const p = expr(cx, c.pattern, ctx);
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
      return cx.dialect.like(a.sql, p.sql, c.not, c.insensitive);
    }
    case 'between': {
      const a = expr(cx, c.arg, ctx);
      const lo = coerceTo(cx, expr(cx, c.low, ctx), a);
      const hi = coerceTo(cx, expr(cx, c.high, ctx), a);
      for (const v of [lo, hi]) checkComparable(cx, a, v, c.pos, 'BETWEEN');
      return `${a.sql} ${c.not ? 'NOT ' : ''}BETWEEN ${lo.sql} AND ${hi.sql}`;
    }
    case 'in': {
      const a = expr(cx, c.arg, ctx);
      if (c.query) {
        const q = cx.queryExpression(c.query, ctx.scope, false);
        if (q.cols.length !== 1) {
          throw new AdqlError(
            'semantic',
            `the subquery of IN must return one column, not ${q.cols.length}`,
            c.pos,
            'IN',
          );
        }
        checkComparable(cx, a, { ...a, t: q.cols[0].t, name: q.cols[0].name }, c.pos, 'IN');
        return `${a.sql} ${c.not ? 'NOT ' : ''}IN (${q.sql})`;
      }
      const items = c.list!.map((e) => {
        const v = coerceTo(cx, expr(cx, e, ctx), a);
        checkComparable(cx, a, v, e.pos, 'IN');
        return v.sql;
      });
      return `${a.sql} ${c.not ? 'NOT ' : ''}IN (${items.join(', ')})`;
    }
    case 'compare':
      return compare(cx, c, ctx);
  }
}

export function compare(cx: Cx, c: Extract<Condition, { kind: 'compare' }>, ctx: Ctx): string {
  const op = c.op === '!=' ? '<>' : c.op;
  // 1 = CONTAINS(...), INTERSECTS(...) = 0 and friends become boolean spatial tests.
  if (op === '=' || op === '<>') {
    const test = spatialBit(cx, c.left, c.right, op, ctx) ?? spatialBit(cx, c.right, c.left, op, ctx);
    if (test !== undefined) return test;
  }
  // DISTANCE(p, q) < r (and r > DISTANCE(...)) is a cone/crossmatch: ADQL-39.
  if (dist(c.left) && (op === '<' || op === '<=')) {
    const r = expr(cx, c.right, ctx);
    if (r.t.cat === 'num' && !r.agg)
      return cx.distanceTest(c.left as Extract<Expr, { kind: 'call' }>, r, op === '<', ctx);
  }
  if (dist(c.right) && (op === '>' || op === '>=')) {
    const r = expr(cx, c.left, ctx);
    if (r.t.cat === 'num' && !r.agg)
      return cx.distanceTest(c.right as Extract<Expr, { kind: 'call' }>, r, op === '>', ctx);
  }
  let l = expr(cx, c.left, ctx);
  let r = expr(cx, c.right, ctx);
  l = coerceTo(cx, l, r);
  r = coerceTo(cx, r, l);
  refuseRegionCompare([l, r], c.pos, c.op);
  checkComparable(cx, l, r, c.pos, c.op);
  if (l.t.cat === 'geo' || r.t.cat === 'geo' || l.t.cat === 'array' || r.t.cat === 'array') {
    if (op !== '=' && op !== '<>') {
      throw new AdqlError('semantic', `cannot compare geometries with ${c.op}`, c.pos, c.op);
    }
  }
  return `${l.sql} ${op} ${r.sql}`;
}

/** `CONTAINS(...) = 1`, `INTERSECTS(...) = 0` and the like as a spatial test, else undefined. */
function spatialBit(cx: Cx, call: Expr, other: Expr, op: '=' | '<>', ctx: Ctx): string | undefined {
  if (call.kind !== 'call' || (call.name !== 'CONTAINS' && call.name !== 'INTERSECTS')) return undefined;
  if (other.kind !== 'number' || !other.integer || (other.value !== 0 && other.value !== 1)) return undefined;
  const test = cx.spatialTest(call, ctx);
  const positive = (op === '=') === (other.value === 1);
  return positive ? `(${test})` : `NOT (${test})`;
}

/** A call of DISTANCE. Module functions, not closures per comparison: see XmPlan. */
function dist(e: Expr): boolean {
  return e.kind === 'call' && e.name === 'DISTANCE';
}

/** A string literal compared with a TIMESTAMP is read as a timestamp (ADQL-23). */
export function coerceTo(_cx: Cx, v: Val, other: Val): Val {
  if (other.t.cat === 'time' && v.t.cat === 'str' && v.sql.startsWith('$')) {
    return revalue(v, `CAST(${v.sql} AS timestamp)`, other.t, v.k, v.column);
  }
  return v;
}

export function checkComparable(_cx: Cx, a: Val, b: Val, pos: Position, what: string): void {
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
