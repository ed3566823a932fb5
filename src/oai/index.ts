export { type CatalogueRecordContext, catalogueIdentifier, catalogueRecords } from './catalogues.js';
export { nodeRecords, type OaiDeps, type Publisher, registerOai } from './routes.js';
