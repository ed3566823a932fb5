import type { CatalogueTable } from '../../adql/index.js';
import { type PublishedSchema, type PublishedTable, qualifiedName } from '../tap/tables/model.js';
import type { CatalogueSource, CatalogueView } from './types.js';
import { CatalogueSnapshot } from './view.js';

/**
 * A catalogue held in memory: the declarations in code, or tables added by the caller
 * (`put`, `remove`), each change heard by the listeners. For tests and tools; a node runs
 * on the live catalogue (live.ts).
 */
export function staticCatalogueSource(
  schemas: readonly PublishedSchema[],
  opts: { defaultSchema?: string } = {},
): CatalogueSource & { put(t: PublishedTable): void; remove(qualified: string): void } {
  let current = new CatalogueSnapshot(
    schemas.map((s) => ({ ...s, tables: [...s.tables] })),
    opts.defaultSchema,
  );
  let version = 1;
  const listeners = new Set<(name: string) => void>();
  const changed = (name: string, next: PublishedSchema[]) => {
    current = new CatalogueSnapshot(next, opts.defaultSchema);
    version += 1;
    for (const l of listeners) l(name);
  };
  const without = (qualified: string) =>
    current.schemas.map((s) => ({
      ...s,
      tables: s.tables.filter((x) => qualifiedName(x).toLowerCase() !== qualified.toLowerCase()),
    }));
  return {
    get version() {
      return version;
    },
    view: (identity) => current.view(identity),
    onChange(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    put(t) {
      const name = qualifiedName(t);
      const rest = without(name);
      const schema = rest.find((s) => s.name === t.schema);
      changed(
        name,
        schema
          ? rest.map((s) => (s === schema ? { ...s, tables: [...s.tables, t] } : s))
          : [...rest, { name: t.schema, description: `${t.schema} catalogues`, tables: [t] }],
      );
    },
    remove(qualified) {
      changed(
        qualified,
        without(qualified).filter((s) => s.tables.length > 0 || schemas.some((o) => o.name === s.name)),
      );
    },
  };
}

/** A source serving only these ADQL tables, to everyone (tests and benches of the query path). */
export function adqlCatalogueSource(
  tables: readonly CatalogueTable[],
  defaultSchema?: string,
): CatalogueSource {
  const view: CatalogueView = {
    schemas: [],
    adql: { tables: () => tables, ...(defaultSchema ? { defaultSchema } : {}) },
    table: () => undefined,
    positional: () => [],
  };
  return { version: 1, view: () => view, onChange: () => () => {} };
}
