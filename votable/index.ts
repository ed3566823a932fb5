import { copyCellWriter, type PgBinaryType } from './copy-binary.js';
import { type CopyTextParser, CopyTextTranscoder } from './copy-text.js';
import { encodeFits } from './encode-fits.js';
import { encodeJson } from './encode-json.js';
import { encodeParquet } from './encode-parquet.js';
import { encodeDelimited } from './encode-text.js';
import { encodeVOTable } from './encode-votable.js';
import { VOTableEncodeError } from './errors.js';
import { rowBatches } from './rows.js';
import type { EncodeOptions, Field, Info, OutputFormat, ResultDocument } from './types.js';
import { infoXml, votableStart } from './xml.js';

export type { Shape } from './arraysize.js';
export { parseArraysize } from './arraysize.js';
export type { PgBinaryType } from './copy-binary.js';
export type { CopyTextParser } from './copy-text.js';
export {
  DEFAULT_PARQUET_ROW_GROUP_ROWS,
  VOPARQUET_CONTENT_KEY,
  VOPARQUET_VERSION_KEY,
} from './encode-parquet.js';
export { VOTableEncodeError, VOTableReadError } from './errors.js';
export type { LimitedRows } from './limit.js';
export { limitRows } from './limit.js';
export type { ReadEvent, ReaderLimits, ReadField } from './reader.js';
export { DEFAULT_READER_LIMITS, readVOTable } from './reader.js';
export type {
  Coosys,
  CopySource,
  Datatype,
  EncodeOptions,
  Field,
  Group,
  Info,
  Link,
  OutputFormat,
  Param,
  QueryStatus,
  Resource,
  ResultDocument,
  Timesys,
  Values,
} from './types.js';
export { DATATYPES } from './types.js';

export const OUTPUT_FORMATS: readonly OutputFormat[] = [
  'votable/binary2',
  'votable/td',
  'votable/binary',
  'csv',
  'tsv',
  'json',
  'fits',
  'parquet',
];

/**
 * Streams a result in the given format as Buffers of about `chunkSize` bytes, produced only
 * as fast as the consumer pulls them. Breaking out of the loop closes the row source.
 */
export function encode(
  format: OutputFormat,
  doc: ResultDocument,
  options: EncodeOptions = {},
): AsyncIterable<Buffer> {
  const chunkSize = Math.max(1024, options.chunkSize ?? 65536);
  if (doc.copy && copyFormatFor(format) !== doc.copy.format)
    throw new VOTableEncodeError(`a ${doc.copy.format} COPY stream cannot be transcoded to ${format}`);
  const rows = rowBatches(doc);
  switch (format) {
    case 'votable/binary2':
      return encodeVOTable(doc, 'BINARY2', chunkSize, rows);
    case 'votable/binary':
      return encodeVOTable(doc, 'BINARY', chunkSize, rows);
    case 'votable/td':
      return encodeVOTable(doc, 'TABLEDATA', chunkSize, rows);
    case 'csv':
      return encodeDelimited(doc, false, chunkSize, rows);
    case 'tsv':
      return encodeDelimited(doc, true, chunkSize, rows);
    case 'json':
      return encodeJson(doc, chunkSize, rows);
    case 'fits':
      return encodeFits(doc, chunkSize, rows, options);
    case 'parquet':
      return encodeParquet(doc, rows, { rowGroupRows: options.parquetRowGroupRows });
    default:
      throw new VOTableEncodeError(`unknown output format "${String(format)}"`);
  }
}

/** The COPY format whose bytes an output format is transcoded from, if it has one. */
export function copyFormatFor(format: OutputFormat): 'binary' | 'text' | undefined {
  // BINARY and FITS want big-endian numbers as binary COPY has them; Parquet reads them into
  // its columns. JSON, like TABLEDATA, wants PostgreSQL's shortest number text.
  if (
    format === 'votable/binary2' ||
    format === 'votable/binary' ||
    format === 'fits' ||
    format === 'parquet'
  )
    return 'binary';
  if (format === 'votable/td' || format === 'csv' || format === 'tsv' || format === 'json') return 'text';
  return undefined;
}

/**
 * Whether COPY output with these PostgreSQL column types can be transcoded for these FIELDs
 * (binary: each type must match its datatype exactly; text: any type, given a parser for
 * those without a fast path). When not, the caller reads rows instead.
 */
export function copyTypesFit(
  fields: readonly Field[],
  format: 'binary' | 'text',
  types: readonly string[],
  parsers?: readonly (CopyTextParser | undefined)[],
): boolean {
  if (types.length !== fields.length) return false;
  try {
    if (format === 'binary')
      for (const [i, f] of fields.entries()) copyCellWriter(f, types[i] as PgBinaryType);
    else new CopyTextTranscoder(fields, types, parsers, 0);
    return true;
  } catch (err) {
    if (err instanceof VOTableEncodeError) return false;
    throw err;
  }
}

/** The Content-Type to send with a format (VOT-53). */
export function contentType(format: OutputFormat): string {
  switch (format) {
    case 'votable/binary2':
      return 'application/x-votable+xml;serialization=BINARY2;charset=UTF-8';
    case 'votable/binary':
      return 'application/x-votable+xml;serialization=BINARY;charset=UTF-8';
    case 'votable/td':
      return 'application/x-votable+xml;serialization=TABLEDATA;charset=UTF-8';
    case 'csv':
      return 'text/csv;charset=UTF-8;header=present';
    case 'tsv':
      return 'text/tab-separated-values;charset=UTF-8';
    case 'json':
      return 'application/json';
    case 'fits':
      return 'application/fits';
    case 'parquet':
      return 'application/vnd.apache.parquet';
    default:
      throw new VOTableEncodeError(`unknown output format "${String(format)}"`);
  }
}

/**
 * A DALI error document (DALI-43): QUERY_STATUS ERROR with the message, no TABLE.
 * `topInfos` go before the RESOURCE, as direct children of VOTABLE (where Simple Cone
 * Search 1.03 clients look for INFO name="Error", SCS-21).
 */
export function errorDocument(message: string, infos: Info[] = [], topInfos: Info[] = []): string {
  let s = votableStart();
  for (const i of topInfos) s += infoXml(i);
  s += '<RESOURCE type="results">\n';
  s += infoXml({ name: 'QUERY_STATUS', value: 'ERROR', content: message }, '  ');
  for (const i of infos) s += infoXml(i, '  ');
  return `${s}</RESOURCE>\n</VOTABLE>\n`;
}
