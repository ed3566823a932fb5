export { CopyBinaryWriter } from './copy-binary.js';
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
export { parseFelis } from './felis.js';
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
export { DescriptionError, type DescriptionIssue, parseDescription, parseDescriptionFile } from './parse.js';
export { PublishError, planTable, qualifiedTableName, rowEncoder, type TablePlan } from './plan.js';
export {
  DEFAULT_HEALPIX_COLUMN,
  healpixColumn,
  healpixColumnName,
  publishedTableOf,
  unpublishedColumns,
} from './published.js';
export { openStreamSource } from './readers/index.js';
export type { CatalogueStore, PublishedRowInput, ToPublished } from './register.js';
export {
  DataFileError,
  type DataFormat,
  type DataSource,
  type SourceBatch,
  type SourceColumn,
} from './source.js';
export { cleanupPublishing, STAGING_SCHEMA } from './staging.js';
export { checkUcd } from './ucd.js';
export { formatProblems, type Problem, type Validation, validateDescription } from './validate.js';
export { checkVOUnit, type VOUnitReport } from './vounit.js';
