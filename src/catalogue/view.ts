/**
 * What one caller may see of a snapshot of the catalogue: tables hidden by whole-table
 * rights are absent (TAP_SCHEMA rows are filtered the same way in the database by
 * auth.may_see_table, sql/110_published.sql), so /tables, TAP_SCHEMA and the ADQL
 * catalogue never disagree about what exists.
 */
import type { CatalogueTable } from '../../adql/index.js';
import {
  type PublishedSchema,
  type PublishedTable,
  qualifiedName,
  type TableAccess,
} from '../tap/tables/model.js';
import { wholeTableRights } from './store.js';
import type { CatalogueView, ViewIdentity } from './types.js';

// Group names compare without a leading or trailing '/', as auth.may_read does.
const bareGroup = (g: string) => g.replace(/^\/+|\/+$/g, '');

/**
 * Whole-table rights (src/publish/description.ts): a table with an owner group and no
 * per-row rights columns is seen by that group, and by everyone once its release date has
 * passed; no date means never public. The same rule as auth.may_see_table.
 */
export function tableVisibleTo(
  t: PublishedTable,
  identity: ViewIdentity | undefined,
  now = new Date(),
): boolean {
  if (t.access && !userTableVisibleTo(t.access, identity)) return false;
  const whole = wholeTableRights(t.rights);
  if (!whole) return true;
  if (whole.releaseDate !== null && new Date(whole.releaseDate).getTime() <= now.getTime()) return true;
  const owner = bareGroup(whole.ownerGroup);
  return (identity?.groups ?? []).some((g) => bareGroup(g) === owner);
}

/**
 * A user table (issue 16) is seen by its owner, by everyone when public, and by members of
 * its read or write groups: the rule of auth.may_read_user_table (sql/130_user_tables.sql).
 */
export function userTableVisibleTo(access: TableAccess, identity: ViewIdentity | undefined): boolean {
  if (access.public) return true;
  if (identity?.sub && identity.sub === access.owner) return true;
  const granted = new Set([...access.readGroups, ...access.writeGroups].map(bareGroup));
  return (identity?.groups ?? []).some((g) => granted.has(bareGroup(g)));
}

/** The ADQL catalogue entry of a published table. */
export function catalogueTableOf(t: PublishedTable): CatalogueTable {
  return {
    schema: t.schema,
    name: t.name,
    sql: { ...t.sql },
    description: t.description,
    columns: t.columns.map((c) => ({ ...c })),
    ...(t.spatialIndex ? { spatialIndex: { ...t.spatialIndex } } : {}),
    ...(t.primaryKey ? { primaryKey: [...t.primaryKey] } : {}),
  };
}

/**
 * One snapshot of the catalogue, with views per caller. Views are kept per set of
 * restricted tables the caller sees, so the common case (anonymous, or groups owning
 * nothing) shares one view and its derived documents.
 */
export class CatalogueSnapshot {
  private readonly adqlTables = new Map<PublishedTable, CatalogueTable>();
  private readonly restricted: readonly PublishedTable[];
  private readonly views = new Map<string, CatalogueView>();

  constructor(
    readonly schemas: readonly PublishedSchema[],
    readonly defaultSchema?: string,
  ) {
    for (const s of schemas) for (const t of s.tables) this.adqlTables.set(t, catalogueTableOf(t));
    this.restricted = schemas.flatMap((s) =>
      s.tables.filter((t) => wholeTableRights(t.rights) || (t.access && !t.access.public)),
    );
  }

  view(identity: ViewIdentity | undefined, now = new Date()): CatalogueView {
    const hidden = new Set(this.restricted.filter((t) => !tableVisibleTo(t, identity, now)));
    const key = this.restricted.map((t) => (hidden.has(t) ? '0' : '1')).join('');
    let v = this.views.get(key);
    if (!v) {
      v = this.build(hidden);
      // Bounded: the key has one bit per restricted table, but few combinations occur.
      if (this.views.size > 256) this.views.clear();
      this.views.set(key, v);
    }
    return v;
  }

  private build(hidden: ReadonlySet<PublishedTable>): CatalogueView {
    const schemas = this.schemas
      .map((s) => ({ ...s, tables: s.tables.filter((t) => !hidden.has(t)) }))
      .filter((s) => s.tables.length > 0);
    const byName = new Map<string, PublishedTable>();
    for (const s of schemas) for (const t of s.tables) byName.set(qualifiedName(t).toLowerCase(), t);
    const tables = [...byName.values()].map((t) => this.adqlTables.get(t)!);
    const positional = [...byName.values()].filter((t) => t.spatialIndex);
    return {
      schemas,
      adql: { tables: () => tables, ...(this.defaultSchema ? { defaultSchema: this.defaultSchema } : {}) },
      table: (q) => byName.get(q.toLowerCase()),
      positional: () => positional,
    };
  }
}

/** A view of these schemas for one identity (one-off: no snapshot kept). */
export function viewOf(
  schemas: readonly PublishedSchema[],
  identity: ViewIdentity | undefined,
  defaultSchema?: string,
): CatalogueView {
  return new CatalogueSnapshot(schemas, defaultSchema).view(identity);
}
