/**
 * A data file being published, read as typed rows in batches (FITS binary table,
 * VOTable, CSV/TSV, Parquet). The loader never sees the file format.
 */
import type { Datatype } from '../../votable/index.js';

export type DataFormat = 'fits' | 'votable' | 'csv' | 'tsv' | 'parquet';

/** A column as the file declares it (or, for CSV, as a sample suggests). */
export interface SourceColumn {
  readonly name: string;
  readonly datatype: Datatype;
  readonly arraysize?: string;
  readonly xtype?: string;
  readonly unit?: string;
  readonly ucd?: string;
  readonly utype?: string;
  readonly description?: string;
}

/**
 * Rows `firstRow` .. `firstRow + rows.length - 1` (1-based data rows, as the messages
 * name them). A value is null, boolean, number, bigint, string, or an array of those.
 */
export interface SourceBatch {
  readonly firstRow: number;
  readonly rows: readonly (readonly unknown[])[];
}

/**
 * Rows still as text (CSV), for a loader that encodes cells straight from the text
 * (text-rows.ts) instead of typed values first: most rows of a large CSV never become
 * arrays, numbers or strings. Row i (0-based in the batch) is the line
 * text[starts[i], ends[i]) (cells split at the source's delimiter, no quotes in it) or,
 * where starts[i] is -1, a record the general parser had to take (quoted fields).
 * `values(i)` gives row i typed by the reader's own converters, throwing the
 * DataFileError that names the row and column: the loader asks for it whenever the fast
 * path declines a row.
 */
export interface TextRowBatch {
  readonly firstRow: number;
  readonly count: number;
  readonly text: string;
  readonly starts: Int32Array;
  readonly ends: Int32Array;
  values(i: number): readonly unknown[];
}

export interface DataSource {
  readonly path: string;
  readonly format: DataFormat;
  readonly columns: readonly SourceColumn[];
  /** What the file says of itself: table name, description, position frame (COOSYS, RADESYS). */
  readonly meta: { readonly name?: string; readonly description?: string; readonly frame?: string };
  /** Size of the file, when known, for progress. */
  readonly totalBytes?: number;
  /** Bytes consumed so far. */
  bytesRead(): number;
  batches(): AsyncIterable<SourceBatch>;
  /** The rows as text instead of batches() (either may be read, once): CSV only. */
  textRows?(): AsyncIterable<TextRowBatch>;
  /** The cell separator of textRows() lines (a character code: 44 for CSV). */
  readonly delimiter?: number;
  close(): Promise<void>;
}

/** A data file that is not what it claims to be: names the row and column when known. */
export class DataFileError extends Error {
  constructor(
    message: string,
    readonly path: string,
    readonly row?: number,
    readonly column?: string,
  ) {
    super(message);
    this.name = 'DataFileError';
  }
}
