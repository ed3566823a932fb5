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

/** The published tables (a caller's view, or a plain list) plus this request's uploads. */
export function catalogueOf(
  base: Catalogue | readonly CatalogueTable[],
  uploads: readonly CatalogueTable[] = [],
): Catalogue {
  const published = tablesOf(base);
  const all = uploads.length === 0 ? published : [...published, ...uploads];
  const defaultSchema = isCatalogue(base) ? base.defaultSchema : undefined;
  return { tables: () => all, ...(defaultSchema ? { defaultSchema } : {}) };
}

function isCatalogue(c: Catalogue | readonly CatalogueTable[]): c is Catalogue {
  return !Array.isArray(c);
}

/** The tables of a catalogue as a plain list (what the compile worker is sent). */
export function tablesOf(c: Catalogue | readonly CatalogueTable[]): readonly CatalogueTable[] {
  if (!isCatalogue(c)) return c;
  const t = c.tables();
  return Array.isArray(t) ? t : [...t];
}
