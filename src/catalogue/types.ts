/**
 * What the protocols see of the published catalogue (DESIGN.md: published tables are data).
 * A source gives each caller a view: one consistent snapshot of the tables that caller may
 * see, whole-table rights applied (a table an identity may not read is absent from it).
 */
import type { Catalogue } from '../../adql/index.js';
import type { PublishedSchema, PublishedTable } from '../tap/tables/model.js';

/**
 * The groups a caller belongs to and its subject (which owns its user tables); null or
 * absent is anonymous.
 */
export type ViewIdentity = { readonly groups: readonly string[]; readonly sub?: string | null } | null;

/** What one caller may see, one snapshot. */
export interface CatalogueView {
  readonly schemas: readonly PublishedSchema[];
  /** The ADQL catalogue of these tables, with the default schema. */
  readonly adql: Catalogue;
  /** A table by its qualified ADQL name (schema.table), case-insensitive. */
  table(qualified: string): PublishedTable | undefined;
  /** Tables with a spatial index: the ones with a cone search, a MOC and a registry record. */
  positional(): readonly PublishedTable[];
}

export interface CatalogueSource {
  view(identity?: ViewIdentity): CatalogueView;
  /** Bumps on every change heard. */
  readonly version: number;
  /** Called with the qualified name of each table changed; returns the unsubscribe. */
  onChange(listener: (tableName: string) => void): () => void;
}
