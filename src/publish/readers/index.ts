/**
 * Data files to publish, opened as a DataSource whatever the format: FITS binary table,
 * VOTable (TABLEDATA, BINARY, BINARY2), CSV/TSV, Parquet. The format is chosen by the first
 * bytes (FITS `SIMPLE  =`, Parquet `PAR1`, XML `<`), else by the extension (.tsv/.tab), else
 * by whether the first line has tabs and no commas. Gzip (magic 1f 8b) is undone on the fly
 * for every format but Parquet.
 */
import { basename } from 'node:path';
import type { Datatype } from '../../../votable/index.js';
import { DataFileError, type DataFormat, type DataSource } from '../source.js';
import { peekBytes, streamFileBytes } from './bytes.js';
import { openDelimited } from './csv.js';
import { openFitsTable } from './fits.js';
import { openParquet } from './parquet.js';
import { openVOTable } from './votable.js';

export { inferDatatype } from './csv.js';

export interface OpenOptions {
  /** Skip detection. */
  format?: DataFormat;
  /** Rows per batch (default 10,000). */
  batchRows?: number;
  /** CSV/TSV: rows sampled to infer types (default 1000). */
  sampleRows?: number;
  /** CSV/TSV: datatype per column name instead of the inferred one (e.g. from the description). */
  types?: Readonly<Record<string, Datatype>>;
  /**
   * CSV/TSV: numeric cells as their checked text (infinities `Infinity`/`-Infinity`, NaN
   * null) rather than number/bigint, for a loader writing COPY text (no parse + format).
   */
  numbersAsText?: boolean;
}

/** Which format a file is, from its first bytes and name. */
export function detectFormat(path: string, head: Buffer, gzip: boolean): DataFormat {
  if (head.toString('latin1', 0, 9) === 'SIMPLE  =') return 'fits';
  if (!gzip && head.toString('latin1', 0, 4) === 'PAR1') return 'parquet';
  let i = head[0] === 0xef && head[1] === 0xbb && head[2] === 0xbf ? 3 : 0;
  while (i < head.length && (head[i] === 32 || head[i] === 9 || head[i] === 10 || head[i] === 13)) i++;
  if (head[i] === 0x3c /* < */) return 'votable';
  const name = basename(path).toLowerCase().replace(/\.gz$/, '');
  if (/\.(tsv|tab)$/.test(name)) return 'tsv';
  if (/\.csv$/.test(name)) return 'csv';
  if (/\.(fits?|fts)$/.test(name)) return 'fits';
  if (/\.(vot|votable|xml)$/.test(name)) return 'votable';
  if (/\.parquet$/.test(name)) return 'parquet';
  const nl = head.indexOf(10);
  const first = head.toString('utf8', 0, nl < 0 ? head.length : nl);
  return first.includes('\t') && !first.includes(',') ? 'tsv' : 'csv';
}

/** Opens a data file for publishing: metadata read now, rows streamed by `batches()`. */
export async function openDataSource(path: string, opts: OpenOptions = {}): Promise<DataSource> {
  const { head, gzip, size } = await peekBytes(path, 65536);
  if (head.length === 0) throw new DataFileError('the file is empty', path);
  const format = opts.format ?? detectFormat(path, head, gzip);
  switch (format) {
    case 'fits':
      return openFitsTable(path, size, gzip, opts);
    case 'csv':
    case 'tsv':
      return openDelimited(path, format, size, gzip, opts);
    case 'votable':
      return openVOTable(path, size, gzip, head, opts);
    case 'parquet':
      if (gzip)
        throw new DataFileError(
          'a gzip-compressed Parquet file: gunzip it first (Parquet compresses its own pages)',
          path,
        );
      return openParquet(path, size, opts);
    default:
      throw new DataFileError(`unknown data format "${String(format)}"`, path);
  }
}

/**
 * Opens a stream that is not a file (a request body) as a DataSource of a known format:
 * CSV/TSV, FITS binary table or VOTable. Parquet needs random access to its footer and
 * is not streamed. `label` names the source in messages.
 */
export async function openStreamSource(
  label: string,
  body: AsyncIterable<Buffer>,
  format: Exclude<DataFormat, 'parquet'>,
  opts: OpenOptions = {},
): Promise<DataSource> {
  const bytes = streamFileBytes(label, body);
  switch (format) {
    case 'fits':
      return openFitsTable(label, 0, false, { ...opts, bytes });
    case 'csv':
    case 'tsv':
      return openDelimited(label, format, 0, false, { ...opts, bytes });
    case 'votable':
      return openVOTable(label, 0, false, Buffer.alloc(0), { ...opts, bytes });
    default:
      throw new DataFileError(`unknown data format "${String(format)}"`, label);
  }
}
