/** VOTable datatypes (VOTable 1.4 §2.1). */
export type VOTableDatatype =
  | 'boolean'
  | 'bit'
  | 'unsignedByte'
  | 'short'
  | 'int'
  | 'long'
  | 'char'
  | 'unicodeChar'
  | 'float'
  | 'double'
  | 'floatComplex'
  | 'doubleComplex';

/** What a result column (or a published column) is, in VOTable FIELD terms. */
export interface ColumnMetadata {
  name: string;
  datatype: VOTableDatatype;
  arraysize?: string;
  xtype?: string;
  unit?: string;
  ucd?: string;
  utype?: string;
  description?: string;
}

export interface CatalogueColumn extends ColumnMetadata {
  /** Physical PostgreSQL column; defaults to `name` (without surrounding quotes). */
  sqlName?: string;
  principal?: boolean;
  indexed?: boolean;
  std?: boolean;
}

export interface CatalogueTable {
  /** ADQL schema name as published in TAP_SCHEMA (e.g. 'ivoa', 'demo', 'TAP_UPLOAD'). */
  schema: string;
  /** ADQL table name (without schema). */
  name: string;
  /** Physical PostgreSQL location. */
  sql: { schema: string; table: string };
  columns: CatalogueColumn[];
  description?: string;
  /** A bigint column holding the order-29 NESTED HEALPix index of (lon, lat), with a B-tree on it. */
  spatialIndex?: { column: string; lon: string; lat: string };
}

/** Everything published (TAP_SCHEMA tables and uploads); nothing else is reachable. */
export interface Catalogue {
  tables(): Iterable<CatalogueTable>;
}

export interface CompileOptions {
  /** The caller's MAXREC: the SQL gets LIMIT min(TOP, maxrec + 1) so overflow can be detected. */
  maxrec?: number;
  /** Most HEALPix ranges emitted for one constant shape (default 16). */
  maxRanges?: number;
}

export interface CompiledQuery {
  sql: string;
  params: unknown[];
  columns: ColumnMetadata[];
}
