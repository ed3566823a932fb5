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
  /**
   * Values are dataset identifiers the node's DataLink service resolves: a VOTable result
   * with such a FIELD gets a DataLink service descriptor pointing at it (DataLink 1.1 §4).
   */
  datalink?: boolean;
}

/**
 * How a region column is stored when it is published as STC-S text (datatype char,
 * arraysize *, xtype adql:REGION; OBS-60..OBS-63):
 * - `'polygon-array'`: the physical value is a DALI polygon, `float8[]` of
 *   lon1, lat1, lon2, lat2, ... in ICRS degrees.
 */
export type RegionStorage = 'polygon-array';

export interface CatalogueColumn extends ColumnMetadata {
  /** Physical PostgreSQL column; defaults to `name` (without surrounding quotes). */
  sqlName?: string;
  /**
   * Set on a column whose published metadata says STC-S region (char / * / adql:REGION)
   * while the table stores a DALI polygon. In geometry (CONTAINS, INTERSECTS, AREA,
   * CENTROID, CAST(... AS POLYGON)) the column is that polygon, read directly; where it
   * becomes a result column (directly, via *, out of subqueries, WITH and set operations)
   * it is `adql.polygon_stcs(col)`: 'Polygon ICRS lon lat ...' with the published
   * metadata. CAST(col AS VARCHAR) is the same text as a string. Like a CLOB (TAP-63) it
   * cannot be compared (=, <>, IN, BETWEEN, LIKE): an AdqlError says so.
   */
  region?: RegionStorage;
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
  /** ADQL names of the primary key's columns (GROUP BY pk lets the other columns be selected). */
  primaryKey?: readonly string[];
}

/** Everything published (TAP_SCHEMA tables and uploads); nothing else is reachable. */
export interface Catalogue {
  tables(): Iterable<CatalogueTable>;
  /** Unqualified table names resolve here first (ADQL names, issue: default schema). */
  defaultSchema?: string;
}

export interface CompileOptions {
  /** Longest query text accepted, in characters (default MAX_QUERY_LENGTH, 256 KiB). */
  maxLength?: number;
  /** Deepest nesting of parentheses, subqueries, NOT and signs (default MAX_NESTING, 100). */
  maxDepth?: number;
  /** The caller's MAXREC: the SQL gets LIMIT min(TOP, maxrec + 1) so overflow can be detected. */
  maxrec?: number;
  /** Most HEALPix ranges emitted for one constant shape (default 16). */
  maxRanges?: number;
  /**
   * Crossmatch translation: 'lateral' (default) filters the indexed table in a LATERAL
   * subquery per row of the circle side; 'join' keeps the range join condition of earlier
   * versions (kept for comparison tests).
   */
  crossmatch?: 'lateral' | 'join';
}

export interface CompiledQuery {
  sql: string;
  params: unknown[];
  columns: ColumnMetadata[];
}
