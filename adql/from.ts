import type { Identifier, TableRef } from './ast.js';
import {
  type Cx,
  type FromItem,
  pushTo,
  type Rel,
  type Scope,
  type StarEntry,
  type StarItem,
  type Val,
  Visible,
  type XmPlan,
} from './context.js';
import { AdqlError } from './errors.js';
import { asDeclared, type DeclaredName, matchesId, sameName } from './identifiers.js';
import { addRel, colVal, nextAlias, placeholderFor, tableRel } from './names.js';
import { columnMeta, compatible } from './types.js';

/**
 * `visible`: the relations a LATERAL item here may refer to; `inner`: only inner joins
 * (or the preserved side of a LEFT join) lead here, so a WHERE filter on it may be applied
 * before the joins.
 */
export function fromItem(cx: Cx, ref: TableRef, scope: Scope, visible: Visible, inner: boolean): FromItem {
  if (ref.kind === 'table') {
    const rel = tableRel(cx, ref.name, ref.alias, ref.pos);
    addRel(cx, scope, rel, ref.alias ?? ref.name[ref.name.length - 1]);
    cx.fromInfo.set(rel, { visible, inner });
    return { sql: rel.placeholder, star: [rel], rels: [rel] };
  }
  if (ref.kind === 'derived') {
    const inner = cx.queryExpression(ref.query, scope.parent, false);
    const alias = nextAlias(cx);
    const rel: Rel = {
      alias,
      corr: ref.alias,
      tableName: ref.alias.name,
      declared: asDeclared(ref.alias),
      columns: [],
      extras: [],
      baseSql: `(${inner.sql})`,
      placeholder: '',
    };
    rel.placeholder = placeholderFor(cx, rel);
    const qa = cx.dialect.quoteIdent(alias);
    rel.columns = inner.cols.map((c, i) => ({
      name: c.name,
      exact: c.exact,
      sql: `${qa}.${cx.dialect.quoteIdent(`c${i + 1}`)}`,
      t: c.t,
      meta: columnMeta(c.name, c.t.meta),
      vt: c.t,
    }));
    addRel(cx, scope, rel, ref.alias);
    return { sql: rel.placeholder, star: [rel], rels: [rel] };
  }
  const left = cx.fromItem(ref.left, scope, visible, inner && ref.type !== 'RIGHT' && ref.type !== 'FULL');
  // PostgreSQL lets the right side of an INNER or LEFT join refer laterally to its left side.
  const lateralOk = ref.type === 'CROSS' || ref.type === 'INNER' || ref.type === 'LEFT';
  const right = cx.fromItem(
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
  // The join columns, each with the test that finds it on either side: USING (x) names x
  // as written in the query; NATURAL pairs the columns whose declared names are the same
  // identifier (§2.1.3: `id`, `ID` and `"id"` are one name, `"Id"` another).
  let names: Array<{ id: Identifier; is: (s: StarEntry) => boolean }> = [];
  let leftStar: StarEntry[] = [];
  let rightStar: StarEntry[] = [];
  if (ref.natural || ref.using) {
    leftStar = starEntries(cx, left.star);
    rightStar = starEntries(cx, right.star);
  }
  if (ref.natural) {
    for (const l of leftStar) {
      const decl = declOf(l);
      if (rightStar.some((r) => sameName(decl, declOf(r)))) {
        names.push({
          id: { name: l.val.name, delimited: decl.exact, pos: ref.pos },
          is: (s) => sameName(decl, declOf(s)),
        });
      }
    }
    if (!names.length)
      return {
        sql: `${left.sql} CROSS JOIN ${right.sql}`,
        star: [...left.star, ...right.star],
        rels: [...left.rels, ...right.rels],
      };
  } else if (ref.using) names = ref.using.map((id) => ({ id, is: (s) => matchesId(id, declOf(s)) }));
  else {
    // An ON crossmatch on the joined table itself can filter it in a LATERAL: for INNER
    // and LEFT joins that is the same join (unmatched left rows still get NULLs).
    const target = ref.right.kind === 'table' && lateralOk ? right.rels[0] : undefined;
    const info = target && cx.fromInfo.get(target);
    // An INNER join commutes, so an indexed table written first can be read per row of
    // a right operand that is one table or derived table: the two are written swapped.
    const first =
      ref.type === 'INNER' && ref.left.kind === 'table' && ref.right.kind !== 'join'
        ? left.rels[0]
        : undefined;
    const firstSees = first && new Visible(visible, undefined, 0, new Set(right.rels));
    const cond = cx.conjuncts(
      ref.on!,
      {
        scope,
        allowAgg: false,
        aggDepth: 0,
        ungrouped: [],
        clause: 'ON',
      },
      new OnPlan(cx, scope.relSet, target, info?.visible, first, firstSees),
    );
    if (first && cx.lateral.has(first)) {
      // Now written before `first`, the right table can no longer see it laterally.
      if (target && info) cx.fromInfo.set(target, { ...info, visible });
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
  for (const { id, is } of names) {
    const l = leftStar.filter(is);
    const r = rightStar.filter(is);
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
    const lv = l[0].val;
    const val: Val = {
      sql,
      t: lv.t,
      name: lv.name,
      agg: lv.agg,
      rels: new Set([...lv.rels, ...r[0].val.rels]),
      k: lv.k,
      shape: lv.shape,
      column: undefined,
      coordsys: lv.coordsys,
      exact: lv.exact,
    };
    pushTo(scope.merged, l[0].val.name.toLowerCase(), { decl: declOf(l[0]), val });
    mergedStar.push({ val });
  }
  return {
    sql: `${left.sql} ${kw} ${right.sql} ON ${conds.join(' AND ')}`,
    star: [
      ...mergedStar,
      ...leftStar.filter((s) => !dropLeft.has(s)),
      ...rightStar.filter((s) => !dropRight.has(s)),
    ],
    rels: [...left.rels, ...right.rels],
  };
}

/**
 * ON of a join: a crossmatch may filter the joined table (`target`) in a LATERAL, or, for an
 * INNER join whose left operand is one table (`first`), that table read per row of the right
 * operand; never both ways round, as each would have to come after the other.
 */
class OnPlan implements XmPlan {
  constructor(
    private readonly cx: Cx,
    private readonly local: Set<Rel>,
    private readonly target: Rel | undefined,
    private readonly targetSees: Visible | undefined,
    private readonly first: Rel | undefined,
    private readonly firstSees: Visible | undefined,
  ) {}

  accepts(idx: Rel, circle: Set<Rel>): boolean {
    const { cx, target, first } = this;
    const sees =
      idx === target && !(first && cx.lateral.has(first))
        ? this.targetSees
        : idx === first && !(target && cx.lateral.has(target))
          ? this.firstSees
          : undefined;
    if (!sees) return false;
    for (const r of circle) if (this.local.has(r) && !sees.has(r)) return false;
    return true;
  }
}

/** The values `*` stands for, in FROM order: each relation's columns, then as given. */
export function starEntries(cx: Cx, star: readonly StarItem[]): StarEntry[] {
  const out: StarEntry[] = [];
  for (const s of star) {
    if ('val' in s) out.push(s);
    else for (const c of s.columns) out.push({ val: colVal(cx, s, c) });
  }
  return out;
}

/** The declared name of a FROM item's column. */
function declOf(s: StarEntry): DeclaredName {
  return { name: s.val.name, exact: s.val.exact === true };
}
