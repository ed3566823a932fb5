export { BUILTIN_SCHEMAS, ensureBuiltinCatalogue, reconcileTapSchema } from './builtin.js';
export {
  type LiveCatalogue,
  type LiveCatalogueOptions,
  loadPublishedSchemas,
  startLiveCatalogue,
} from './live.js';
export { adqlCatalogueSource, staticCatalogueSource } from './static.js';
export {
  CATALOGUE_CHANNEL,
  notifyCatalogueChanged,
  type PublishedRow,
  type PublishedSchemaRow,
  type PublishedTableRow,
  putPublishedSchema,
  putPublishedTable,
  readPublishedSchemas,
  readPublishedTables,
  removePublishedTable,
  wholeTableRights,
} from './store.js';
export type { CatalogueSource, CatalogueView, ViewIdentity } from './types.js';
export { CatalogueSnapshot, catalogueTableOf, tableVisibleTo, viewOf } from './view.js';
