// Crossmatch planning (ADQL-39): a circle that moves with another relation's rows. A
// top-level conjunct of WHERE/ON becomes a LATERAL filter on the indexed table (ranges once
// per row, then an index scan); elsewhere the per-row ranges join. Also writes each FROM
// item's final SQL, once its LATERAL filters are known.

import { coneCoverage } from '../sky/index.js';
import type { Condition, Expr } from './ast.js';
import {
  type Ctx,
  type Cx,
  leftSpine,
  type Rel,
  unionRels,
  type Val,
  type XmHoist,
  type XmPlan,
} from './context.js';
import { cachedCoverage } from './coverage.js';
import { num, toVec } from './geometry.js';
import { geoMeta, NUM_DOUBLE } from './types.js';

/**
 * A WHERE or ON condition, conjunct by conjunct: a conjunct that is exactly a crossmatch
 * accepted by `accepts` becomes a filter inside the indexed table's LATERAL subquery and
 * `true` here; any other crossmatch keeps the range join condition.
 */
export function conjuncts(cx: Cx, c: Condition, ctx: Ctx, plan: XmPlan): string {
  if (c.kind === 'and')
    return leftSpine(c, 'and')
      .map((x) => cx.conjuncts(x, ctx, plan))
      .join(' AND ');
  if (c.kind === 'group') return `(${cx.conjuncts(c.arg, ctx, plan)})`;
  if (cx.options.crossmatch === 'join') return cx.condition(c, ctx);
  const saved = cx.xmHoist;
  const hoist: XmHoist = { plan, pending: new Map() };
  cx.xmHoist = hoist;
  let sql: string;
  try {
    sql = cx.condition(c, ctx);
  } finally {
    cx.xmHoist = saved;
  }
  if (hoist.pending.size === 1) {
    const [[token, xm]] = hoist.pending;
    if (sql === token || sql === `(${token})`) {
      const name = `_xr${++cx.xmCount}`;
      plan.commit?.(xm.idx.rel, xm.cc.rels);
      const list = cx.lateral.get(xm.idx.rel) ?? [];
      list.push({
        name,
        call: cx.dialect.xmatchRanges(xm.cc.lon, xm.cc.lat, xm.cc.r),
        hpx: xm.idx.hpx,
        exact: xm.exact,
      });
      cx.lateral.set(xm.idx.rel, list);
      return 'true';
    }
  }
  for (const [token, xm] of hoist.pending)
    sql = sql.replace(token, () => `(${cx.crossmatchRanges(xm.idx, xm.cc)}) AND ${xm.exact}`);
  return sql;
}

// distanceTest's values: module functions, not closures per call (under tsx each named
// closure costs a defineProperty when it is made); written out, not spread (see revalue).
function pointVal(x: { lon: string; lat: string; v: Val[]; lonV?: Val; latV?: Val }): Val {
  return {
    sql: `ARRAY[${x.lon}, ${x.lat}]::float8[]`,
    t: { cat: 'geo', geo: 'point', meta: geoMeta('point') },
    name: 'point',
    agg: false,
    rels: unionRels(x.v),
    shape: x.lonV && x.latV ? { kind: 'point', lon: x.lonV, lat: x.latV } : undefined,
  };
}

/** The circle of radius `r` around point `c`. */
function circleAround(cx: Cx, c: Val, r: Val): Val {
  const cp = cx.pointParts(c);
  const lon: Val = { sql: cp.lon, t: NUM_DOUBLE, name: c.name, agg: c.agg, rels: c.rels, k: cp.klon };
  const lat: Val = { sql: cp.lat, t: NUM_DOUBLE, name: c.name, agg: c.agg, rels: c.rels, k: cp.klat };
  return {
    sql: c.sql,
    t: { cat: 'geo', geo: 'circle', meta: geoMeta('circle') },
    name: c.name,
    agg: c.agg,
    rels: new Set([...c.rels, ...r.rels]),
    shape: { kind: 'circle', lon, lat, r },
  };
}

export function distanceTest(
  cx: Cx,
  call: Extract<Expr, { kind: 'call' }>,
  r: Val,
  strict: boolean,
  ctx: Ctx,
): string {
  const [p, q] = cx.distanceArgs(call, ctx);
  // Either point may be the indexed one.
  const pv = pointVal(p);
  const qv = pointVal(q);
  if (cx.indexOf(qv) && !cx.indexOf(pv)) return pointInCircle(cx, qv, circleAround(cx, pv, r), strict);
  // Both indexed (a self-join): index the side a LATERAL can reach, if only one can.
  const qi = cx.indexOf(qv);
  const h = cx.xmHoist;
  if (qi && h) {
    const pRel = cx.indexOf(pv)!.rel;
    // Prefer a side a LATERAL reaches as the FROM list is written; only then one reached
    // by moving a table of a comma list.
    const pNow = h.plan.accepts(pRel, qv.rels, false);
    const qNow = h.plan.accepts(qi.rel, pv.rels, false);
    const useQ = pNow ? false : qNow || (!h.plan.accepts(pRel, qv.rels) && h.plan.accepts(qi.rel, pv.rels));
    if (useQ) return pointInCircle(cx, qv, circleAround(cx, pv, r), strict);
  }
  return pointInCircle(cx, pv, circleAround(cx, qv, r), strict);
}

export function pointInCircle(cx: Cx, p: Val, c: Val, strict: boolean): string {
  const pp = cx.pointParts(p);
  const cc = cx.circleParts(c);
  const cmp = strict ? '<' : '<=';
  let exact: string;
  let ranges: string | undefined;
  const idx = cx.indexOf(p);
  if (cc.k) {
    const [lon, lat, r] = cc.k;
    // Constructors check their literal latitudes; this catches DISTANCE(ra, dec, 10, 95).
    if (Math.abs(lat) > 90) return 'false';
    const v = toVec(lon, lat);
    // Squared chord: keeps precision for arcsecond radii where 1 − cos r underflows.
    const k = r >= 180 ? 5 : (2 * Math.sin(((Math.max(r, 0) / 2) * Math.PI) / 180)) ** 2;
    exact = `adql.chord2v(${pp.lon}, ${pp.lat}, ${num(v[0])}, ${num(v[1])}, ${num(v[2])}) ${cmp} ${num(k)}`;
    if (idx)
      ranges = cx.rangeSql(
        idx.hpx,
        cachedCoverage(`c ${lon} ${lat} ${r} ${cx.maxRanges}`, () =>
          coneCoverage(lon, lat, Math.max(r, 0), { maxRanges: cx.maxRanges }),
        ),
      );
  } else {
    exact = `adql.chord2(${pp.lon}, ${pp.lat}, ${cc.lon}, ${cc.lat}) ${cmp} adql.chord2_of(${cc.r})`;
    if (idx && !cc.rels.has(idx.rel)) {
      const hoist = cx.xmHoist;
      if (hoist?.plan.accepts(idx.rel, cc.rels)) {
        // Decided by conjuncts() once it sees whether this test is the whole conjunct.
        const token = `\u0000X${++cx.xmCount}\u0000`;
        hoist.pending.set(token, { idx, cc, exact });
        return token;
      }
      ranges = cx.crossmatchRanges(idx, cc);
    }
  }
  return ranges ? `(${ranges}) AND ${exact}` : exact;
}

/**
 * Crossmatch: the circle moves with the rows of another relation. Per row of that
 * relation, the dialect's xmatchRanges (adql.xmatch_cover, inlined) gives up to 4 order-29
 * ranges covering the circle;
 * `hpx >= lo AND hpx < hi` arms let PostgreSQL run a parameterised index scan on the
 * indexed side for each row of the other side.
 */
export function crossmatchRanges(
  cx: Cx,
  idx: { rel: Rel; hpx: string },
  cc: { lon: string; lat: string; r: string; rels: Set<Rel> },
): string {
  const call = cx.dialect.xmatchRanges(cc.lon, cc.lat, cc.r);
  let g = `(${call})`;
  const others = [...cc.rels];
  if (others.length === 1 && others[0].table && others[0] !== idx.rel && cx.rels.includes(others[0])) {
    const name = `_xm${++cx.xmCount}`;
    others[0].extras.push({ name, sql: call });
    g = `${cx.dialect.quoteIdent(others[0].alias)}.${cx.dialect.quoteIdent(name)}`;
  }
  return rangeArms(cx, idx.hpx, g);
}

/** `hpx` within one of the 4 ranges of a crossmatch ranges array `g` ([lo1, hi1, ..., lo4, hi4]). */
export function rangeArms(_cx: Cx, hpx: string, g: string): string {
  const arms: string[] = [];
  for (let i = 0; i < 4; i++) arms.push(`(${hpx} >= ${g}[${2 * i + 1}] AND ${hpx} < ${g}[${2 * i + 2}])`);
  return arms.join(' OR ');
}

/**
 * Each FROM item was written as a placeholder (its SQL depends on LATERAL filters found
 * later); here each is replaced once, by its SQL, in one pass over the text. A derived
 * table's SQL carries its inner placeholders: they are expanded in turn (nesting depth is
 * bounded by the parser).
 */
export function expandPlaceholders(cx: Cx, sql: string, done = new Set<number>()): string {
  return sql.replace(/\u0000R(\d+)\u0000/g, (whole, n: string) => {
    const k = Number(n);
    const rel = cx.rels[k - 1];
    // Each placeholder is written once; a second copy would be a compiler bug, and stays
    // as it is (NUL cannot reach PostgreSQL: the query fails rather than mean something else).
    if (!rel || done.has(k)) return whole;
    done.add(k);
    return expandPlaceholders(cx, relSql(cx, rel), done);
  });
}

export function relSql(cx: Cx, rel: Rel): string {
  const xs = cx.lateral.get(rel);
  if (xs) {
    // Per row of the circle side: the ranges once (OFFSET 0 keeps the one-row subquery
    // from being flattened), turned into rows (lo, hi), one per distinct range (the cells
    // of one order are disjoint, so no table row meets two), and per range a LATERAL scan
    // of the table by `hpx >= lo AND hpx < hi`: to the planner lo and hi are then
    // parameters bounding one column, which get PostgreSQL's small default range
    // selectivity (0.5%) and a parameterised index range scan, whatever the table's size
    // and statistics. Written as 4 OR arms over array subscripts instead, each arm was
    // estimated at a ninth of the table, close enough to a sequential scan's cost to flip.
    // The OFFSET 0s stop PostgreSQL pulling the subqueries up, which would free it to join
    // the other way round and evaluate the ranges per pair. A second crossmatch on the same
    // table keeps the arms as a filter.
    const q = (n: string) => cx.dialect.quoteIdent(n);
    const a = q(rel.alias);
    const list = [`${a}.*`, ...rel.extras.map((e) => `${e.sql} AS ${q(e.name)}`)].join(', ');
    const [first, ...rest] = xs;
    const r = q(first.name);
    const ranges =
      `(SELECT DISTINCT ${r}.xr[2 * _i - 1] AS lo, ${r}.xr[2 * _i] AS hi` +
      ` FROM (SELECT ${first.call} AS xr OFFSET 0) AS ${r}, generate_series(1, 4) AS _i) AS ${r}`;
    const scan =
      `LATERAL (SELECT ${a}.* FROM ${rel.baseSql} AS ${a} WHERE ${first.hpx} >= ${r}.lo` +
      ` AND ${first.hpx} < ${r}.hi AND ${first.exact} OFFSET 0) AS ${a}`;
    const others = rest.map((x) => `(SELECT ${x.call} AS xr OFFSET 0) AS ${q(x.name)}`);
    const conds = rest.map((x) => `(${cx.rangeArms(x.hpx, `${q(x.name)}.xr`)}) AND ${x.exact}`);
    const where = conds.length ? ` WHERE ${conds.join(' AND ')}` : '';
    return `LATERAL (SELECT ${list} FROM ${[ranges, ...others, scan].join(', ')}${where} OFFSET 0) AS ${a}`;
  }
  if (!rel.extras.length) return `${rel.baseSql} AS ${cx.dialect.quoteIdent(rel.alias)}`;
  // OFFSET 0 keeps PostgreSQL from flattening the subquery, so the per-row ranges are
  // computed once per row rather than once per reference in the join condition.
  const extras = rel.extras.map((e) => `${e.sql} AS ${cx.dialect.quoteIdent(e.name)}`).join(', ');
  return `(SELECT ${cx.dialect.quoteIdent(rel.alias)}.*, ${extras} FROM ${rel.baseSql} AS ${cx.dialect.quoteIdent(rel.alias)} OFFSET 0) AS ${cx.dialect.quoteIdent(rel.alias)}`;
}
