// Typing of value expressions: literals, columns, arithmetic, aggregates, CAST, CASE and
// scalar subqueries each become a Val (SQL text + inferred type + result metadata).

import type { CastTarget, Condition, Expr } from './ast.js';
import type { VOTableDatatype } from './catalogue.js';
import { type Ctx, type Cx, type Meta, newVal, type Rel, revalue, type Val, type VType } from './context.js';
import { AdqlError, closest, type Position } from './errors.js';
import { resolveColumn } from './names.js';
import { addMeta, compatible, describeType, geoMeta, numType, presented, STR, widerInt } from './types.js';

export function expr(cx: Cx, e: Expr, ctx: Ctx): Val {
  const mark = ctx.ungrouped.length;
  const v = exprInner(cx, e, ctx);
  if (ctx.grouping && ctx.ungrouped.length > mark && ctx.grouping.has(v.sql)) ctx.ungrouped.length = mark;
  return v;
}

export function exprInner(cx: Cx, e: Expr, ctx: Ctx): Val {
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
      return { agg: false, rels: new Set<Rel>(), sql: cx.param(e.value), t: STR, name: 'expr' };
    case 'null':
      return {
        agg: false,
        rels: new Set<Rel>(),
        sql: 'NULL',
        t: { cat: 'null', meta: { datatype: 'char', arraysize: '*' } },
        name: 'expr',
      };
    case 'column': {
      const v = resolveColumn(cx, e.parts, ctx.scope, e.pos);
      if (
        ctx.grouping &&
        ctx.aggDepth === 0 &&
        !ctx.grouping.has(v.sql) &&
        !(v.column && ctx.groupedRels?.has(v.column.rel)) &&
        v.rels.size &&
        [...v.rels].some((r) => ctx.scope.relSet.has(r))
      ) {
        ctx.ungrouped.push({ name: e.parts.map((p) => p.name).join('.'), pos: e.pos });
      }
      return v;
    }
    case 'paren': {
      const v = expr(cx, e.arg, ctx);
      return revalue(v, `(${v.sql})`);
    }
    case 'unary': {
      const v = expr(cx, e.arg, ctx);
      if (v.t.cat !== 'num' && v.t.cat !== 'null')
        throw new AdqlError(
          'semantic',
          `unary ${e.op} needs a number, got ${describeType(v.t)}`,
          e.pos,
          e.op,
        );
      if (e.op === '+') return revalue(v, v.sql);
      return revalue(v, `(-${v.sql})`, v.t, v.k === undefined ? undefined : -v.k);
    }
    case 'binary':
      return binary(cx, e, ctx);
    case 'aggregate':
      return aggregate(cx, e, ctx);
    case 'cast':
      return cast(cx, e.arg, e.target, e.pos, ctx);
    case 'case':
      return caseExpr(cx, e, ctx);
    case 'scalar': {
      const q = cx.queryExpression(e.query, ctx.scope, false);
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
      return cx.call(e, ctx);
  }
}

/**
 * A chain `a + b - c * d ...` is a left-deep tree as long as the query: compiled by a loop
 * over its left spine (no recursion in its length), each step exactly what compiling that
 * node alone gives, the GROUP BY check of expr() included. The relations of the chain
 * gather in one set, so a chain over many tables stays linear.
 */
export function binary(cx: Cx, e: Extract<Expr, { kind: 'binary' }>, ctx: Ctx): Val {
  const nodes: Array<Extract<Expr, { kind: 'binary' }>> = [];
  let first: Expr = e;
  while (first.kind === 'binary') {
    nodes.push(first);
    first = first.left;
  }
  const mark = ctx.ungrouped.length;
  let acc = expr(cx, first, ctx);
  const rels = new Set(acc.rels);
  for (let i = nodes.length - 1; i >= 0; i--) {
    const node = nodes[i];
    const r = expr(cx, node.right, ctx);
    for (const rel of r.rels) rels.add(rel);
    acc = cx.binaryStep(node, acc, r, rels);
    if (i > 0 && ctx.grouping && ctx.ungrouped.length > mark && ctx.grouping.has(acc.sql))
      ctx.ungrouped.length = mark;
  }
  return acc;
}

export function binaryStep(
  _cx: Cx,
  e: Extract<Expr, { kind: 'binary' }>,
  l: Val,
  r: Val,
  rels: Set<Rel>,
): Val {
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

export function aggregate(cx: Cx, e: Extract<Expr, { kind: 'aggregate' }>, ctx: Ctx): Val {
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
  const a = expr(cx, e.arg, ctx);
  ctx.aggDepth--;
  const q = e.quantifier === 'DISTINCT' ? 'DISTINCT ' : '';
  const base = { name, agg: true, rels: a.rels };
  switch (e.name) {
    case 'COUNT':
      return newVal(base, `count(${q}${a.sql})`, numType(true, 'long', { ucd: 'meta.number' }));
    case 'MIN':
    case 'MAX': {
      if (a.t.cat === 'geo' || a.t.cat === 'array')
        throw new AdqlError(
          'semantic',
          `${e.name} needs an orderable value, got ${describeType(a.t)}`,
          e.pos,
          e.name,
        );
      // The extreme's metadata without the column's description: it describes no row.
      const meta: Meta = { datatype: a.t.meta.datatype };
      addMeta(meta, a.t.meta);
      meta.description = undefined;
      return newVal(base, `${name}(${q}${a.sql})`, { ...a.t, meta });
    }
    default: {
      if (a.t.cat !== 'num' && a.t.cat !== 'null')
        throw new AdqlError('semantic', `${e.name} needs numbers, got ${describeType(a.t)}`, e.pos, e.name);
      const meta: Partial<Meta> = {};
      if (a.t.meta.unit) meta.unit = a.t.meta.unit;
      if (a.t.meta.ucd && e.name === 'AVG') meta.ucd = `stat.mean;${a.t.meta.ucd}`;
      if (e.name === 'SUM' && a.t.integer)
        return newVal(base, `CAST(sum(${q}${a.sql}) AS bigint)`, numType(true, 'long', meta));
      return newVal(base, `CAST(${name}(${q}${a.sql}) AS double precision)`, numType(false, 'double', meta));
    }
  }
}

export function cast(cx: Cx, argE: Expr, target: CastTarget, pos: Position, ctx: Ctx): Val {
  const a = expr(cx, argE, ctx);
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
      return newVal(
        base,
        `CAST(${a.sql} AS ${pg})`,
        numType(integer, dt[target.type], a.t.meta.unit ? { unit: a.t.meta.unit } : undefined),
      );
    }
    case 'CHAR':
    case 'VARCHAR': {
      if ((from === 'geo' && !a.t.stcs) || from === 'array') fail();
      const pg = target.length ? `${target.type === 'CHAR' ? 'char' : 'varchar'}(${target.length})` : 'text';
      const arraysize = target.length ? `${target.length}${target.type === 'VARCHAR' ? '*' : ''}` : '*';
      const sql = from === 'time' ? `to_char(${a.sql}, 'YYYY-MM-DD"T"HH24:MI:SS.MS')` : presented(a.sql, a.t);
      return newVal(base, `CAST(${sql} AS ${pg})`, { cat: 'str', meta: { datatype: 'char', arraysize } });
    }
    case 'TIMESTAMP':
      if (from !== 'str' && from !== 'time' && from !== 'null') fail();
      return newVal(base, `CAST(${a.sql} AS timestamp)`, {
        cat: 'time',
        meta: { datatype: 'char', arraysize: '*', xtype: 'timestamp' },
      });
    default: {
      const kind = target.type.toLowerCase() as 'point' | 'circle' | 'polygon';
      // CAST(region AS POLYGON) hands out the stored DALI polygon itself.
      if (from === 'geo' && a.t.geo === kind && a.t.stcs)
        return revalue(a, a.sql, { cat: 'geo', geo: kind, meta: geoMeta(kind) });
      if (from === 'geo' && a.t.geo === kind) return revalue(a, a.sql);
      if (from !== 'str' && from !== 'null') fail();
      return newVal(base, `adql.parse_dali(${a.sql}, '${kind}')`, {
        cat: 'geo',
        geo: kind,
        meta: geoMeta(kind),
      });
    }
  }
}

export function caseExpr(cx: Cx, e: Extract<Expr, { kind: 'case' }>, ctx: Ctx): Val {
  const rels = new Set<Rel>();
  let agg = false;
  let t: VType | undefined;
  const track = (v: Val) => {
    for (const r of v.rels) rels.add(r);
    agg ||= v.agg;
  };
  const operand = e.operand ? expr(cx, e.operand, ctx) : undefined;
  if (operand) track(operand);
  const parts: string[] = [];
  const results: Val[] = [];
  for (const w of e.whens) {
    let when: string;
    if (operand) {
      const v = cx.coerceTo(expr(cx, w.when as Expr, ctx), operand);
      cx.checkComparable(operand, v, e.pos, 'CASE');
      track(v);
      when = v.sql;
    } else when = cx.condition(w.when as Condition, ctx);
    const then = expr(cx, w.result, ctx);
    track(then);
    results.push(then);
    parts.push(`WHEN ${when} THEN ${then.sql}`);
  }
  if (e.otherwise) {
    const v = expr(cx, e.otherwise, ctx);
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
