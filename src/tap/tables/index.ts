import type { PublishedSchema, PublishedTable } from './model.js';
import { IVOA_SCHEMA as OBSCORE_SCHEMA } from './obscore.js';
import { OBSCORE_RADIO_TABLE } from './obscore-radio.js';
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
export { OBSCORE_COLUMNS } from './obscore.js';
export {
  OBSCORE_RADIO_EXTENSION_COLUMNS,
  OBSCORE_RADIO_TABLE,
  OBSCORE_RADIO_UTYPE,
} from './obscore-radio.js';
export { TAP_SCHEMA } from './tap-schema.js';

/** The ivoa schema: ObsCore and its radio extension (ObsCore Extension for Radio Data 1.0). */
export const IVOA_SCHEMA: PublishedSchema = {
  ...OBSCORE_SCHEMA,
  description:
    'IVOA standard data models: the ObsCore table of every image and cube, and its radio extension',
  tables: [...OBSCORE_SCHEMA.tables, OBSCORE_RADIO_TABLE],
};

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
