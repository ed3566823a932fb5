import { DaliError } from './errors.js';

/** The encoders the votable module offers. */
export type OutputFormat =
  | 'votable/binary2'
  | 'votable/td'
  | 'votable/binary'
  | 'csv'
  | 'tsv'
  | 'json'
  | 'fits'
  | 'parquet';

export interface ResponseFormat {
  readonly format: OutputFormat;
  /** The Content-Type to answer with: the MIME type the client asked for (DALI-19). */
  readonly contentType: string;
}

const SHORT: Record<string, ResponseFormat> = {
  votable: { format: 'votable/binary2', contentType: 'application/x-votable+xml;serialization=BINARY2' },
  'votable/b2': { format: 'votable/binary2', contentType: 'application/x-votable+xml;serialization=BINARY2' },
  'votable/td': { format: 'votable/td', contentType: 'application/x-votable+xml;serialization=TABLEDATA' },
  'votable/b': { format: 'votable/binary', contentType: 'application/x-votable+xml;serialization=BINARY' },
  csv: { format: 'csv', contentType: 'text/csv;header=present' },
  tsv: { format: 'tsv', contentType: 'text/tab-separated-values' },
  json: { format: 'json', contentType: 'application/json' },
  fits: { format: 'fits', contentType: 'application/fits' },
  // DALI 1.2: Parquet, with the VOTable metadata in its footer (the VOParquet convention).
  parquet: { format: 'parquet', contentType: 'application/vnd.apache.parquet' },
};

const SERIALIZATIONS: Record<string, OutputFormat> = {
  binary2: 'votable/binary2',
  tabledata: 'votable/td',
  binary: 'votable/binary',
};

/**
 * RESPONSEFORMAT (or TAP's FORMAT) to an encoder and a Content-Type (DALI-17..DALI-19).
 * BINARY2 is the default VOTable: clients parse it many times faster than TABLEDATA.
 */
export function parseResponseFormat(raw: string | undefined): ResponseFormat {
  if (raw === undefined || raw.trim() === '') return SHORT.votable;
  const text = raw.trim();
  const short = SHORT[text.toLowerCase()];
  if (short) return short;
  const [type, ...paramParts] = text.split(';').map((p) => p.trim());
  const params = new Map<string, string>();
  for (const p of paramParts) {
    const eq = p.indexOf('=');
    if (eq > 0)
      params.set(
        p.slice(0, eq).trim().toLowerCase(),
        p
          .slice(eq + 1)
          .trim()
          .replace(/^"|"$/g, ''),
      );
  }
  const mime = type.toLowerCase();
  if (mime === 'application/x-votable+xml' || mime === 'text/xml' || mime === 'application/xml') {
    const ser = params.get('serialization')?.toLowerCase();
    const format = ser === undefined ? 'votable/binary2' : SERIALIZATIONS[ser];
    if (!format) {
      throw new DaliError(
        `RESPONSEFORMAT serialization '${params.get('serialization')}' is not offered; use BINARY2, BINARY or TABLEDATA`,
      );
    }
    return { format, contentType: text };
  }
  if (mime === 'text/csv')
    return { format: 'csv', contentType: params.size > 0 ? text : 'text/csv;header=present' };
  if (mime === 'text/tab-separated-values') return { format: 'tsv', contentType: text };
  if (mime === 'application/json') return { format: 'json', contentType: text };
  if (mime === 'application/fits') return { format: 'fits', contentType: text };
  if (mime === 'application/vnd.apache.parquet') return { format: 'parquet', contentType: text };
  throw new DaliError(
    `RESPONSEFORMAT '${raw}' is not offered; use votable (BINARY2), votable/td, csv, tsv, json, fits or parquet, or their MIME types`,
  );
}
