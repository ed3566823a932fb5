import type { CopyTextParser } from './copy-text.js';

/** The twelve VOTable primitive datatypes (VOT-17). */
export type Datatype =
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

export const DATATYPES: readonly Datatype[] = [
  'boolean',
  'bit',
  'unsignedByte',
  'short',
  'int',
  'long',
  'char',
  'unicodeChar',
  'float',
  'double',
  'floatComplex',
  'doubleComplex',
];

export interface Values {
  /** Magic null value (VOT-28); for integer columns. */
  null?: string;
  type?: 'legal' | 'actual';
  min?: { value: string; inclusive?: boolean };
  max?: { value: string; inclusive?: boolean };
  options?: { name?: string; value: string }[];
}

export interface Link {
  ID?: string;
  contentRole?: string;
  contentType?: string;
  title?: string;
  value?: string;
  href?: string;
  action?: string;
}

export interface Field {
  name: string;
  datatype: Datatype;
  arraysize?: string;
  xtype?: string;
  unit?: string;
  ucd?: string;
  utype?: string;
  description?: string;
  ID?: string;
  ref?: string;
  width?: number;
  precision?: string;
  type?: 'hidden' | 'no_query' | 'trigger' | 'location';
  /**
   * Magic null for integer columns (VOT-28). When absent, the BINARY serialisation picks the
   * type's extreme value (e.g. -2147483648 for int) because BINARY has no null flags.
   */
  nullValue?: string;
  values?: Omit<Values, 'null'>;
  links?: Link[];
}

/** A PARAM: a Field with a constant value (a TABLEDATA literal string, or a JS value mapped as for rows). */
export interface Param extends Field {
  value: unknown;
}

export type OutputFormat =
  | 'votable/binary2'
  | 'votable/td'
  | 'votable/binary'
  | 'csv'
  | 'tsv'
  | 'json'
  | 'fits'
  | 'parquet';

export interface Info {
  name: string;
  value: string;
  content?: string;
  ID?: string;
  ucd?: string;
  utype?: string;
  unit?: string;
  xtype?: string;
  ref?: string;
}

export interface Coosys {
  ID: string;
  system: string;
  equinox?: string;
  epoch?: string;
  refposition?: string;
}

export interface Timesys {
  ID: string;
  timescale: string;
  refposition: string;
  timeorigin?: string;
}

export interface Group {
  name?: string;
  ID?: string;
  ref?: string;
  ucd?: string;
  utype?: string;
  description?: string;
  fieldRefs?: string[];
  paramRefs?: string[];
  params?: Param[];
  groups?: Group[];
}

/** A RESOURCE without a table, e.g. a DataLink service descriptor (type="meta" utype="adhoc:service"). */
export interface Resource {
  type?: 'results' | 'meta';
  name?: string;
  ID?: string;
  utype?: string;
  description?: string;
  infos?: Info[];
  coosys?: Coosys[];
  timesys?: Timesys[];
  params?: Param[];
  groups?: Group[];
  links?: Link[];
  resources?: Resource[];
  /**
   * A serialised MIVOT `<VODML xmlns="http://www.ivoa.net/xml/mivot">` element, written last
   * in the RESOURCE, where VOTable admits elements of other namespaces (MIVOT 1.0 §3: it
   * lives in a RESOURCE type="meta"). The caller builds it and vouches for its well-formedness.
   */
  vodml?: string;
}

export type QueryStatus = 'OK' | 'OVERFLOW' | 'ERROR';

export interface ResultDocument {
  fields: Field[];
  /** Rows in node-postgres array mode; may throw mid-stream, which yields a trailing ERROR (DALI-46). */
  rows?: AsyncIterable<readonly unknown[]> | Iterable<readonly unknown[]>;
  /**
   * Alternative to `rows`: arrays of rows as a cursor returns them (e.g. pg-cursor read(10000)).
   * Faster, as the encoder awaits once per batch instead of once per row.
   */
  batches?: AsyncIterable<readonly (readonly unknown[])[]>;
  /**
   * Alternative to rows/batches: the bytes of PostgreSQL's `COPY (query) TO STDOUT`,
   * transcoded without building JavaScript rows (see README and CopySource).
   */
  copy?: CopySource;
  /** Written before the TABLE (DALI-42/44); default 'OK'. */
  leadingStatus?: 'OK' | 'OVERFLOW';
  /** Message for the leading QUERY_STATUS INFO. */
  leadingMessage?: string;
  /** Asked after the last row; 'OVERFLOW' writes a trailing INFO after the TABLE (DALI-45). */
  trailingStatus?: () => 'OVERFLOW' | undefined;
  /** INFOs after QUERY_STATUS in the results RESOURCE: QUERY, request parameters, standardID... */
  infos?: Info[];
  /** PARAMs of the results RESOURCE. */
  resourceParams?: Param[];
  /** PARAMs of the TABLE. */
  params?: Param[];
  coosys?: Coosys[];
  timesys?: Timesys[];
  /** LINKs of the results RESOURCE, written before the TABLE. */
  links?: Link[];
  /** GROUPs inside the TABLE (may reference FIELD/PARAM IDs). */
  groups?: Group[];
  /**
   * RESOURCEs inside the results RESOURCE, before the TABLE: a MIVOT mapping block must sit
   * in the RESOURCE of the TABLE it annotates, and before it for streaming readers (MIVOT 1.0 §3).
   */
  metaResources?: Resource[];
  /** Sibling RESOURCEs after the results RESOURCE (DataLink service descriptors...). */
  extraResources?: Resource[];
  tableName?: string;
  description?: string;
  /** Number of rows when known in advance (written as TABLE nrows; lets FITS skip spooling). */
  rowCount?: number;
  /** VOTABLE version attribute, default '1.4' (see README: 1.5 is refused by STIL 4.1 validators). */
  version?: '1.4' | '1.5';
}

export interface EncodeOptions {
  /** Target size of the Buffers produced (default 65536). */
  chunkSize?: number;
  /** FITS only: folder for the spool file (default os.tmpdir()). */
  tmpDir?: string;
  /** FITS only: refuse results whose spool grows beyond this many bytes (default 8 GiB). */
  maxSpoolBytes?: number;
  /** Parquet only: rows per row group (default 100,000); also closed at about 64 MiB of cells. */
  parquetRowGroupRows?: number;
}

/**
 * A result as PostgreSQL's COPY writes it. 'binary' (FORMAT binary) feeds BINARY2: numbers
 * are already big-endian IEEE/two's complement. 'text' (the default format) feeds TABLEDATA:
 * PostgreSQL has already written the numbers as text. See copyFormatFor and copyTypesFit.
 */
export interface CopySource {
  readonly format: 'binary' | 'text';
  readonly stream: AsyncIterable<Buffer>;
  /**
   * Each column's PostgreSQL type: a PgBinaryType for 'binary'; for 'text' the type's name
   * (int2, int4, int8, float4, float8, bool, text, timestamp, timestamptz have fast paths).
   */
  readonly types: readonly string[];
  /** 'text': per column, how to read a cell's text when it has no fast path (node-postgres's type parsers fit). */
  readonly parsers?: readonly (CopyTextParser | undefined)[];
  /** At most this many rows are written; one more makes an OVERFLOW (DALI-45). */
  readonly maxRecords?: number;
  /**
   * The stream is already all in memory (small results): the encoder reads it before the
   * header, so the leading QUERY_STATUS can say OVERFLOW instead of a trailing INFO (DALI-44).
   */
  readonly complete?: boolean;
}
