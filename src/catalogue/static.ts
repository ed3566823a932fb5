import type { CatalogueTable } from '../../adql/index.js';
import { type PublishedSchema, type PublishedTable, qualifiedName } from '../tap/tables/model.js';
import type { CatalogueSource, CatalogueView, ViewIdentity } from './types.js';

// Group names compare without a leading or trailing '/', as auth.may_read does.
const bareGroup = (g: string) => g.replace(/^\/+|\/+$/g, '');

/**
 * Whole-table rights (src/publish/description.ts): a table with an owner group is seen by
 * that group, and by everyone once its release date has passed; no date means never public.
 */
export function tableVisibleTo(
  t: PublishedTable,
  identity: ViewIdentity | undefined,
  now = new Date(),
): boolean {
  const owner = t.rights?.ownerGroup;
  if (!owner) return true;
  const release = t.rights?.releaseDate;
  if (release !== undefined && new Date(release).getTime() <= now.getTime()) return true;
  const groups = (identity?.groups ?? []).map(bareGroup);
  return groups.includes(bareGroup(owner));
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

/** A view of these schemas for one identity. */
export function viewOf(
  schemas: readonly PublishedSchema[],
  identity: ViewIdentity | undefined,
  defaultSchema?: string,
): CatalogueView {
  const visible = schemas.map((s) => ({ ...s, tables: s.tables.filter((t) => tableVisibleTo(t, identity)) }));
  const byName = new Map<string, PublishedTable>();
  for (const s of visible) for (const t of s.tables) byName.set(qualifiedName(t).toLowerCase(), t);
  const tables = [...byName.values()].map(catalogueTableOf);
  return {
    schemas: visible,
    adql: { tables: () => tables, ...(defaultSchema ? { defaultSchema } : {}) },
    table: (q) => byName.get(q.toLowerCase()),
    positional: () => [...byName.values()].filter((t) => t.spatialIndex),
  };
}

/**
 * A catalogue held in memory: the declarations in code, or tables added by the caller
 * (`put`, `remove`), each change heard by the listeners. The live catalogue (src/catalogue)
 * replaces it where the node runs on published tables.
 */
export function staticCatalogueSource(
  schemas: readonly PublishedSchema[],
  opts: { defaultSchema?: string } = {},
): CatalogueSource & { put(t: PublishedTable): void; remove(qualified: string): void } {
  let current: PublishedSchema[] = schemas.map((s) => ({ ...s, tables: [...s.tables] }));
  let version = 1;
  const listeners = new Set<(name: string) => void>();
  const changed = (name: string) => {
    version += 1;
    for (const l of listeners) l(name);
  };
  return {
    get version() {
      return version;
    },
    view: (identity) => viewOf(current, identity, opts.defaultSchema),
    onChange(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    put(t) {
      const name = qualifiedName(t);
      const rest = current.map((s) => ({
        ...s,
        tables: s.tables.filter((x) => qualifiedName(x).toLowerCase() !== name.toLowerCase()),
      }));
      const schema = rest.find((s) => s.name === t.schema);
      current = schema
        ? rest.map((s) => (s === schema ? { ...s, tables: [...s.tables, t] } : s))
        : [...rest, { name: t.schema, description: `${t.schema} catalogues`, tables: [t] }];
      changed(name);
    },
    remove(qualified) {
      current = current
        .map((s) => ({
          ...s,
          tables: s.tables.filter((x) => qualifiedName(x).toLowerCase() !== qualified.toLowerCase()),
        }))
        .filter((s) => s.tables.length > 0 || schemas.some((o) => o.name === s.name));
      changed(qualified);
    },
  };
}
