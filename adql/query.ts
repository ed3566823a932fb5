import type { Identifier, OrderTerm, QueryExpression, QueryTerm, SelectQuery, SetOperation } from './ast.js';
import {
  type Compiled,
  type Ctx,
  type Cx,
  type OutCol,
  type Rel,
  RelList,
  Scope,
  type StarItem,
  type Val,
  Visible,
  type XmPlan,
} from './context.js';
import { AdqlError, closest } from './errors.js';
import { expr } from './expressions.js';
import { starEntries } from './from.js';
import { asDeclared, matchesId, sameName, stripQuotes } from './identifiers.js';
import { colVal, findRel, tryResolve } from './names.js';
import { compatible, condHasAggregate, describeType, hasAggregate, presented } from './types.js';

export function queryExpression(
  cx: Cx,
  q: QueryExpression,
  parent: Scope | undefined,
  final: boolean,
  maxrec?: number,
): Compiled {
  if (q.body.kind === 'select') return cx.select(q.body, parent, final, q.orderBy, q.offset, maxrec);
  const body = queryTerm(cx, q.body, parent);
  const order = q.orderBy.map((o) => setOrderTerm(cx, o, body.cols));
  const limit = maxrec !== undefined ? maxrec + 1 : undefined;
  const names = final
    ? outputNames(
        cx,
        body.cols.map((c) => c.name),
      )
    : body.cols.map((_, i) => `c${i + 1}`);
  const list = body.cols
    .map((c, i) => {
      const col = `"_q".${cx.dialect.quoteIdent(`c${i + 1}`)}`;
      return `${final ? presented(col, c.t) : col} AS ${cx.dialect.quoteIdent(names[i])}`;
    })
    .join(', ');
  let sql = `SELECT ${list} FROM (${body.sql}) AS "_q"`;
  if (order.length) sql += ` ORDER BY ${order.join(', ')}`;
  sql += cx.dialect.limitOffset(limit, q.offset);
  return {
    sql,
    cols: body.cols.map((c, i) => ({ name: final ? names[i] : c.name, exact: c.exact, t: c.t })),
  };
}

export function setOrderTerm(_cx: Cx, o: OrderTerm, cols: OutCol[]): string {
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
    const idx = cols.findIndex((c) => matchesId(e.parts[0], c));
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

export function queryTerm(cx: Cx, term: QueryTerm, parent: Scope | undefined): Compiled {
  if (term.kind === 'select') return cx.select(term, parent, false, [], undefined, undefined);
  if (term.kind === 'nested') return cx.queryExpression(term.query, parent, false);
  // `q1 UNION q2 UNION ...` is left-deep: a loop over the chain, not recursion in its length.
  const nodes: SetOperation[] = [];
  let first: QueryTerm = term;
  while (first.kind === 'setop') {
    nodes.push(first);
    first = first.left;
  }
  let acc = queryTerm(cx, first, parent);
  for (let i = nodes.length - 1; i >= 0; i--) acc = cx.setOperation(nodes[i], acc, parent);
  return acc;
}

export function setOperation(
  cx: Cx,
  term: SetOperation,
  left: Compiled,
  parent: Scope | undefined,
): Compiled {
  const right = queryTerm(cx, term.right, parent);
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

export function outputNames(_cx: Cx, names: string[]): string[] {
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

export function select(
  cx: Cx,
  sel: SelectQuery,
  parent: Scope | undefined,
  final: boolean,
  orderBy: OrderTerm[],
  offset: number | undefined,
  maxrec: number | undefined,
): Compiled {
  const scope = new Scope(parent);
  const fromSql: string[] = [];
  const star: StarItem[] = [];
  const earlier = new RelList();
  // Plain tables of the comma list: one of them may be moved last (below).
  const plain = new Map<Rel, number>();
  for (const f of sel.from) {
    // A LATERAL item may refer to every earlier item of the FROM list.
    const r = cx.fromItem(f, scope, earlier.prefix(), true);
    if (f.kind === 'table') plain.set(r.rels[0], fromSql.length);
    fromSql.push(r.sql);
    star.push(...r.star);
    for (const rel of r.rels) earlier.add(rel);
  }

  let where = '';
  if (sel.where) {
    // Crossmatches in WHERE may become LATERAL filters, the comma list reordered (CommaListPlan).
    const plan = new CommaListPlan(cx, scope.relSet, plain);
    where = ` WHERE ${cx.conjuncts(sel.where, ctx(scope, 'WHERE', false), plan)}`;
    const moved = plan.moved;
    if (moved && cx.lateral.has(moved)) {
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
    if (g.kind === 'column' && g.parts.length === 1 && !tryResolve(cx, g.parts, scope)) {
      // GROUP BY an output alias (ADQL-58 `GROUP BY band`).
      const item = sel.items.find(
        (it) => it.kind === 'expr' && it.alias && matchesId(g.parts[0], asDeclared(it.alias)),
      );
      if (item && item.kind === 'expr') v = expr(cx, item.expr, ctx(scope, 'GROUP BY', false));
    }
    v ??= expr(cx, g, ctx(scope, 'GROUP BY', false));
    groupSql.push(v.sql);
    grouping.add(v.sql);
  }
  const groupedRels = aggregated ? keyGrouped(cx, scope, grouping) : undefined;

  const items: Array<{ val: Val; alias?: Identifier }> = [];
  for (const it of sel.items) {
    if (it.kind === 'all') {
      if (!it.qualifier) {
        for (const s of starEntries(cx, star)) items.push({ val: s.val });
      } else {
        const rel = findRel(cx, it.qualifier, scope, it.pos, true);
        for (const c of rel!.columns) items.push({ val: colVal(cx, rel!, c) });
      }
      continue;
    }
    const c = ctx(scope, 'SELECT', true);
    if (aggregated) {
      c.grouping = grouping;
      c.groupedRels = groupedRels;
    }
    const v = expr(cx, it.expr, c);
    checkGrouped(cx, c);
    items.push({ val: v, alias: it.alias });
  }
  if (aggregated) {
    for (const s of items) {
      if (
        sel.items.some((x) => x.kind === 'all') &&
        s.val.column &&
        !grouping.has(s.val.sql) &&
        !groupedRels?.has(s.val.column.rel)
      ) {
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
    const c = ctx(scope, 'HAVING', true);
    c.grouping = grouping;
    c.groupedRels = groupedRels;
    having = ` HAVING ${cx.condition(sel.having, c)}`;
    checkGrouped(cx, c);
  }

  const rawNames = items.map((it) => (it.alias ? it.alias.name : it.val.name));
  const names = final ? outputNames(cx, rawNames) : items.map((_, i) => `c${i + 1}`);
  const list = items
    .map((it, i) => {
      let sql = final ? presented(it.val.sql, it.val.t) : it.val.sql;
      if (it.val.t.cat === 'null') sql = `CAST(${sql} AS text)`;
      return `${sql} AS ${cx.dialect.quoteIdent(names[i])}`;
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
      const idx = items.findIndex((it) => it.alias && matchesId(e.parts[0], asDeclared(it.alias)));
      if (idx >= 0) {
        order.push(`${idx + 1}${dir}`);
        continue;
      }
    }
    const c = ctx(scope, 'ORDER BY', true);
    if (aggregated) {
      c.grouping = grouping;
      c.groupedRels = groupedRels;
    }
    const v = expr(cx, e, c);
    checkGrouped(cx, c);
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
  sql += cx.dialect.limitOffset(limit, offset);
  return {
    sql,
    cols: items.map((it, i) => ({
      name: final ? names[i] : rawNames[i],
      exact: it.alias ? it.alias.delimited : it.val.exact === true,
      t: it.val.t,
    })),
  };
}

/** The context of one clause of a SELECT (a function, not a closure per SELECT: see XmPlan). */
function ctx(scope: Scope, clause: string, allowAgg: boolean): Ctx {
  return { scope, allowAgg, aggDepth: 0, ungrouped: [], clause };
}

/**
 * WHERE of a SELECT: a crossmatch may move into the indexed table's LATERAL only if no
 * outer join can null-extend that table, and the circle's relations precede it. A comma
 * list is a cross join, whose order means nothing to the result (the select list names its
 * columns): an indexed table written before the circle's table is moved to the end of the
 * list, where it sees every other item. Once only, and not when another item's LATERAL
 * already reads it.
 */
class CommaListPlan implements XmPlan {
  moved?: Rel;
  constructor(
    private readonly cx: Cx,
    private readonly local: Set<Rel>,
    private readonly plain: Map<Rel, number>,
  ) {}

  private seesAll(idx: Rel, circle: Set<Rel>): boolean {
    const info = this.cx.fromInfo.get(idx);
    for (const r of circle) if (this.local.has(r) && !info?.visible.has(r)) return false;
    return true;
  }

  accepts(idx: Rel, circle: Set<Rel>, allowMove = true): boolean {
    const { cx, local, moved } = this;
    if (!cx.fromInfo.get(idx)?.inner || !local.has(idx)) return false;
    // Once moved last, no other item may read that table laterally.
    if (moved && idx !== moved && circle.has(moved)) return false;
    if (this.seesAll(idx, circle)) return true;
    if (!allowMove || moved || !this.plain.has(idx) || circle.has(idx)) return false;
    // Nor may the move take it away from an item whose LATERAL could already read it.
    for (const [rel, xs] of cx.lateral)
      if (rel !== idx && local.has(rel) && xs.length > 0 && cx.fromInfo.get(rel)?.visible.has(idx))
        return false;
    return true;
  }

  commit(idx: Rel, circle: Set<Rel>): void {
    if (this.seesAll(idx, circle)) return;
    this.moved = idx;
    const info = this.cx.fromInfo.get(idx)!;
    this.cx.fromInfo.set(idx, { ...info, visible: new Visible(info.visible, undefined, 0, this.local) });
  }
}

export function checkGrouped(_cx: Cx, c: Ctx): void {
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
 * The tables of this FROM whose whole primary key is in GROUP BY: PostgreSQL lets their
 * other columns be selected ungrouped (functional dependency on the key), so the compiler
 * must not refuse what the database accepts (CatalogueTable.primaryKey). Only a table read
 * directly qualifies: PostgreSQL knows no key of a subquery (a LATERAL crossmatch filter or
 * per-row ranges wrap the table in one).
 */
function keyGrouped(cx: Cx, scope: Scope, grouping: Set<string>): Set<Rel> | undefined {
  let out: Set<Rel> | undefined;
  for (const rel of scope.rels) {
    const key = rel.table?.primaryKey;
    if (!key?.length || rel.extras.length || cx.lateral.has(rel)) continue;
    const all = key.every((k) => {
      const col = rel.columns.find((c) => sameName(c, stripQuotes(k)));
      return col !== undefined && grouping.has(col.sql);
    });
    if (all) (out ??= new Set()).add(rel);
  }
  return out;
}
