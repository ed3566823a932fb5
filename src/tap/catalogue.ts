import type { Catalogue, CatalogueTable } from '../../adql/index.js';
import type { PublishedSchema } from './tables/index.js';

/** The ADQL view of what is published: the declarations, plus this request's uploads. */
export function publishedCatalogue(schemas: readonly PublishedSchema[]): CatalogueTable[] {
  const out: CatalogueTable[] = [];
  for (const s of schemas) {
    for (const t of s.tables) {
      out.push({
        schema: t.schema,
        name: t.name,
        sql: { ...t.sql },
        description: t.description,
        columns: t.columns.map((c) => ({ ...c })),
        ...(t.spatialIndex ? { spatialIndex: { ...t.spatialIndex } } : {}),
      });
    }
  }
  return out;
}

export function catalogueOf(
  base: readonly CatalogueTable[],
  uploads: readonly CatalogueTable[] = [],
): Catalogue {
  const all = uploads.length === 0 ? base : [...base, ...uploads];
  return { tables: () => all };
}
