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
