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
  DataFileError,
  type DataFormat,
  type DataSource,
  type SourceBatch,
  type SourceColumn,
} from './source.js';
