export {
  type CatalogueRecordContext,
  catalogueIdentifier,
  catalogueRecords,
  recordedTables,
} from './catalogues.js';
export { nodeRecords, type OaiDeps, type Publisher, registerOai } from './routes.js';
