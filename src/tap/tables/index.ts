import type { PublishedSchema, PublishedTable } from './model.js';
import { IVOA_SCHEMA } from './obscore.js';
import { TAP_SCHEMA } from './tap-schema.js';

export {
  columnSize,
  type Datatype,
  type ForeignKey,
  type PublishedColumn,
  type PublishedSchema,
  type PublishedTable,
  qualifiedName,
} from './model.js';
export { IVOA_SCHEMA, OBSCORE_COLUMNS } from './obscore.js';
export { TAP_SCHEMA } from './tap-schema.js';

/**
 * The built-in schemas, declared in code: stored as rows at start (src/catalogue/builtin.ts)
 * beside every published catalogue, which are data (catalogues/*.yaml, `vonode publish`).
 */
export function publishedSchemas(): PublishedSchema[] {
  return [IVOA_SCHEMA, TAP_SCHEMA];
}

/** Finds a published table by its qualified name as VOSI and TAP_SCHEMA write it. */
export function findPublishedTable(
  schemas: readonly PublishedSchema[],
  qualified: string,
): PublishedTable | undefined {
  const wanted = qualified.toLowerCase();
  for (const s of schemas)
    for (const t of s.tables) if (`${t.schema}.${t.name}`.toLowerCase() === wanted) return t;
  return undefined;
}
