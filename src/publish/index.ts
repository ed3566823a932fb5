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
export { DescriptionError, type DescriptionIssue, parseDescription, parseDescriptionFile } from './parse.js';
export {
  DEFAULT_HEALPIX_COLUMN,
  healpixColumn,
  healpixColumnName,
  publishedTableOf,
  unpublishedColumns,
} from './published.js';
export {
  DataFileError,
  type DataFormat,
  type DataSource,
  type SourceBatch,
  type SourceColumn,
} from './source.js';
export { checkUcd } from './ucd.js';
export { formatProblems, type Problem, type Validation, validateDescription } from './validate.js';
export { checkVOUnit, type VOUnitReport } from './vounit.js';
