// Name resolution and scopes: tables (WITH names, then the catalogue with its default
// schema), correlation names and columns, by the identifier rules of ADQL 2.1 §2.1.3
// (adql/identifiers.ts). Builds the relations (Rel) FROM items refer to.

import type { Identifier } from './ast.js';
import type { Catalogue, CatalogueColumn, CatalogueTable, ColumnMetadata } from './catalogue.js';
import {
  type Cx,
  type OutCol,
  pushTo,
  type Rel,
  type RelCol,
  type Scope,
  type Val,
  type VType,
  type WithEntry,
} from './context.js';
import type { Dialect } from './dialect.js';
import { AdqlError, closest, type Position } from './errors.js';
import { asDeclared, matches, matchesId, sameName, spelling, stripQuotes } from './identifiers.js';
import { columnMeta, columnType, metaOf } from './types.js';

export const META_KEYS = ['arraysize', 'xtype', 'unit', 'ucd', 'utype', 'description'] as const;
/** Per published column, what every compile needs (published metadata is immutable per catalogue object). */
export const columnCache = new WeakMap<
  CatalogueColumn,
  { name: string; exact: boolean; phys: string; dialect: Dialect; meta: ColumnMetadata; t: VType; vt: VType }
>();

/** Indexes the published tables by lower-case name: only names equal ignoring case can match. */
export function indexCatalogue(cx: Cx, catalogue: Catalogue): void {
  for (const t of catalogue.tables()) {
    cx.allTables.push(t);
    pushTo(cx.tablesByName, stripQuotes(t.name).name.toLowerCase(), t);
  }
  cx.defaultSchema = catalogue.defaultSchema;
}

/** ADQL-46: each WITH name once (names compared as in §2.1.3). */
export function checkNewWith(cx: Cx, id: Identifier): void {
  for (const c of cx.ctesByName.get(id.name.toLowerCase()) ?? []) {
    if (sameName(asDeclared(id), asDeclared(c.id))) {
      throw new AdqlError('semantic', `WITH query '${id.name}' is defined twice`, id.pos, id.name);
    }
  }
}

/** Makes a compiled WITH query visible to the FROM clauses that follow. */
export function declareWith(cx: Cx, id: Identifier, cols: OutCol[]): WithEntry {
  const alias = `_w${cx.ctes.size + 1}`;
  const cte: WithEntry = { id, alias, cols };
  cx.ctes.set(alias, cte);
  pushTo(cx.ctesByName, id.name.toLowerCase(), cte);
  return cte;
}

export function nextAlias(cx: Cx): string {
  return `_t${++cx.relCount}`;
}

export function placeholderFor(cx: Cx, rel: Rel): string {
  cx.rels.push(rel);
  return `\u0000R${cx.rels.length}\u0000`;
}

export function addRel(_cx: Cx, scope: Scope, rel: Rel, nameId: Identifier): void {
  // Two names can clash only if they are equal ignoring case: look at those alone. Names
  // that differ as identifiers (`obs` and `"Obs"`, `"s"` and `"S"`) do not clash (§2.1.3).
  for (const other of scope.relsByName.get((rel.corr ? rel.corr.name : rel.tableName).toLowerCase()) ?? []) {
    const same = rel.corr
      ? other.corr
        ? sameName(asDeclared(rel.corr), asDeclared(other.corr))
        : false
      : !other.corr && sameName(other.declared, rel.declared) && other.schemaName === rel.schemaName;
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

export function tableRel(cx: Cx, name: Identifier[], corr: Identifier | undefined, pos: Position): Rel {
  const last = name[name.length - 1];
  if (name.length === 1) {
    for (const cte of cx.ctesByName.get(last.name.toLowerCase()) ?? []) {
      // WITH names shadow published tables (ADQL-46), matched like any identifier (§2.1.3).
      if (matchesId(last, asDeclared(cte.id))) {
        const alias = nextAlias(cx);
        const rel: Rel = {
          alias,
          corr,
          tableName: cte.id.name,
          declared: asDeclared(cte.id),
          columns: [],
          extras: [],
          baseSql: cx.dialect.quoteIdent(cte.alias),
          placeholder: '',
        };
        rel.placeholder = placeholderFor(cx, rel);
        const qa = cx.dialect.quoteIdent(alias);
        rel.columns = cte.cols.map((c, i) => ({
          name: c.name,
          exact: c.exact,
          sql: `${qa}.${cx.dialect.quoteIdent(`c${i + 1}`)}`,
          t: c.t,
          meta: columnMeta(c.name, c.t.meta),
          vt: c.t,
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
  let candidates = (cx.tablesByName.get(last.name.toLowerCase()) ?? []).filter(
    (t) => matches(last, t.name) && (name.length === 1 || matches(name[0], t.schema)),
  );
  // An unqualified name: first the default schema, then the one table of that name (issue 15).
  if (candidates.length > 1 && name.length === 1 && cx.defaultSchema !== undefined) {
    const home = stripQuotes(cx.defaultSchema);
    const inHome = candidates.filter((t) => sameName(stripQuotes(t.schema), home));
    if (inHome.length > 0) candidates = inHome;
  }
  if (candidates.length === 0) {
    const full = name.map((n) => n.name).join('.');
    const all = cx.allTables.map((t) =>
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
      `table name '${last.name}' is ambiguous: ${candidates.map((t) => `${t.schema}.${t.name}`).join(', ')}; qualify it with its schema`,
      last.pos,
      last.name,
      `${candidates[0].schema}.${candidates[0].name}`,
    );
  }
  const t = candidates[0];
  const alias = nextAlias(cx);
  const rel: Rel = {
    alias,
    corr,
    schemaName: t.schema,
    tableName: stripQuotes(t.name).name,
    declared: stripQuotes(t.name),
    table: t,
    columns: [],
    extras: [],
    baseSql: cx.dialect.table(t.sql.schema, t.sql.table),
    placeholder: '',
  };
  rel.placeholder = placeholderFor(cx, rel);
  rel.columns = tableColumns(cx, t, alias);
  void pos;
  return rel;
}

/**
 * A published table's columns under the alias `_tN`, made once per table, dialect and
 * alias and then shared by every compilation (a RelCol is never modified): aliases are
 * numbered from 1 in each compilation, so the first few recur in every query, and making
 * a column per column of each table read was a good part of a small query's work. Only
 * the first aliases are kept, so a query naming thousands of tables leaves no trace.
 */
const tableColumnsCache = new WeakMap<CatalogueTable, Map<string, { dialect: Dialect; cols: RelCol[] }>>();
const CACHED_ALIASES = 8;

function tableColumns(cx: Cx, t: CatalogueTable, alias: string): RelCol[] {
  if (cx.relCount > CACHED_ALIASES) return t.columns.map((c) => catalogueColumn(cx, alias, c));
  let byAlias = tableColumnsCache.get(t);
  if (!byAlias) {
    byAlias = new Map();
    tableColumnsCache.set(t, byAlias);
  }
  const hit = byAlias.get(alias);
  if (hit && hit.dialect === cx.dialect) return hit.cols;
  const cols = t.columns.map((c) => catalogueColumn(cx, alias, c));
  byAlias.set(alias, { dialect: cx.dialect, cols });
  return cols;
}

export function catalogueColumn(cx: Cx, alias: string, c: CatalogueColumn): RelCol {
  let base = columnCache.get(c);
  if (!base) {
    const { name: plain, exact } = stripQuotes(c.name);
    const meta: ColumnMetadata = { name: plain, datatype: c.datatype };
    for (const k of META_KEYS) {
      const v = c[k];
      if (v !== undefined && v !== null) meta[k] = v;
    }
    if (c.datalink) meta.datalink = true;
    const phys = cx.dialect.quoteIdent(c.sqlName ?? plain);
    const t = columnType(c, meta);
    base = { name: plain, exact, phys, dialect: cx.dialect, meta, t, vt: { ...t, meta: metaOf(meta) } };
    columnCache.set(c, base);
  }
  const q = cx.dialect;
  // The physical name quoted once per column (and per dialect: a dialect may quote otherwise).
  const phys = base.dialect === q ? base.phys : q.quoteIdent(c.sqlName ?? base.name);
  return {
    name: base.name,
    exact: base.exact,
    sql: `${q.quoteIdent(alias)}.${phys}`,
    t: base.t,
    meta: base.meta,
    vt: base.vt,
  };
}

export function colVal(_cx: Cx, rel: Rel, col: RelCol): Val {
  return {
    sql: col.sql,
    t: col.vt,
    name: col.name,
    agg: false,
    rels: new Set([rel]),
    column: { rel, col },
    exact: col.exact,
  };
}

export function relMatches(_cx: Cx, rel: Rel, q: Identifier[]): boolean {
  if (q.length === 1) {
    // Correlation names and WITH names are identifiers like any other (§2.1.3): `t AS S`
    // is reached by `s.id`, but `t AS "S"` only by `"S".id`.
    return matchesId(q[0], rel.corr ? asDeclared(rel.corr) : rel.declared);
  }
  if (rel.corr || !rel.table) return false;
  if (q.length === 2) return matches(q[0], rel.table.schema) && matches(q[1], rel.table.name);
  return false;
}

export function findRel(
  cx: Cx,
  q: Identifier[],
  scope: Scope,
  pos: Position,
  mustExist: boolean,
): Rel | undefined {
  for (let s: Scope | undefined = scope; s; s = s.parent) {
    const found = (s.relsByName.get(q[q.length - 1].name.toLowerCase()) ?? []).filter((r) =>
      relMatches(cx, r, q),
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
  const names = scopeRelNames(cx, scope);
  const text = q.map((x) => spelling(asDeclared(x))).join('.');
  throw new AdqlError(
    'semantic',
    `no table or correlation name '${text}' in FROM`,
    pos,
    text,
    closest(text, names) && `'${closest(text, names)}'`,
  );
}

export function scopeRelNames(_cx: Cx, scope: Scope): string[] {
  const names: string[] = [];
  for (let s: Scope | undefined = scope; s; s = s.parent) {
    for (const r of s.rels) names.push(spelling(r.corr ? asDeclared(r.corr) : r.declared));
  }
  return names;
}

export function tryResolve(cx: Cx, parts: Identifier[], scope: Scope): boolean {
  try {
    resolveColumn(cx, parts, scope, parts[0].pos);
    return true;
  } catch (e) {
    if (e instanceof AdqlError) return false;
    throw e;
  }
}

export function resolveColumn(cx: Cx, parts: Identifier[], scope: Scope, pos: Position): Val {
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
      const key = colId.name.toLowerCase();
      for (const m of s.merged.get(key) ?? []) if (matchesId(colId, m.decl)) return m.val;
      // Only columns equal to the name ignoring case can match (in FROM order, as written).
      const found = (s.columnsByName.get(key) ?? []).filter((f) => matchesId(colId, f.col));
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
      if (found.length === 1) return colVal(cx, found[0].rel, found[0].col);
    }
    const rels = scope.rels;
    const all = rels.flatMap((r) => r.columns.map(spelling));
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
  const rel = findRel(cx, parts.slice(0, -1), scope, pos, true)!;
  const cols = rel.columns.filter((c) => matchesId(colId, c));
  if (cols.length === 1) return colVal(cx, rel, cols[0]);
  if (cols.length > 1)
    throw new AdqlError(
      'semantic',
      `column '${colId.name}' is ambiguous in ${rel.tableName}`,
      colId.pos,
      colId.name,
    );
  const s = closest(colId.name, rel.columns.map(spelling));
  const tname = rel.corr
    ? spelling(asDeclared(rel.corr))
    : `${rel.schemaName ? `${rel.schemaName}.` : ''}${spelling(rel.declared)}`;
  throw new AdqlError(
    'semantic',
    `no column '${colId.name}' in ${tname}`,
    colId.pos,
    colId.name,
    s && `'${s}'`,
  );
}
