export { encoderFor, escapeText, sqlTypeOf, ValueError } from './copy-encoding.js';
export type {
  CatalogueDescription,
  ColumnDescription,
  Datatype,
  ForeignKeyDescription,
  PositionDescription,
  RegistryDescription,
  RightsDescription,
  SchemaDescription,
  SpectralDescription,
  TableDescription,
  TimeDescription,
  ValidationLevel,
} from './description.js';
export {
  type DataInput,
  type Progress,
  type PublishedVersion,
  type PublishOptions,
  type PublishPhase,
  type PublishReport,
  publishCatalogue,
  unpublishTable,
} from './load.js';
export { PublishError, planTable, qualifiedTableName } from './plan.js';
export type { CatalogueStore, PublishedRowInput, ToPublished } from './register.js';
export {
  DataFileError,
  type DataFormat,
  type DataSource,
  type SourceBatch,
  type SourceColumn,
} from './source.js';
export { cleanupPublishing, STAGING_SCHEMA } from './staging.js';
