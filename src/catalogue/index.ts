export { BUILTIN_SCHEMAS, ensureBuiltinCatalogue, reconcileTapSchema } from './builtin.js';
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
