import { fieldShape } from './arraysize.js';
import { magicNull, textFormatter } from './cells.js';
import { VOTableEncodeError } from './errors.js';
import type { RowBatch } from './rows.js';
import { ByteSink } from './sink.js';
import type { ResultDocument } from './types.js';

const CSV_QUOTE = /[",\r\n]/;

/** RFC 4180: a field with a comma, quote or line break is quoted, quotes doubled. */
function csvField(s: string): string {
  return CSV_QUOTE.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

const TSV_SPECIAL = /[\t\n\r\\]/;

/** TSV (IANA text/tab-separated-values) cannot hold tabs or line breaks in a field: escape them. */
function tsvField(s: string): string {
  return TSV_SPECIAL.test(s)
    ? s.replace(/\\/g, '\\\\').replace(/\t/g, '\\t').replace(/\n/g, '\\n').replace(/\r/g, '\\r')
    : s;
}

/**
 * CSV/TSV: a header line of column names, then one line per row with the TABLEDATA literal of
 * each cell (arrays space-separated), null as an empty field, CRLF line ends (RFC 4180).
 * DALI-47: these formats have no overflow or error marker, so a failing row source rethrows
 * after the complete rows so far; the caller must then abort the response.
 */
export async function* encodeDelimited(
  doc: ResultDocument,
  tsv: boolean,
  chunkSize: number,
  batches: AsyncIterable<RowBatch>,
): AsyncGenerator<Buffer> {
  const n = doc.fields.length;
  if (n === 0) throw new VOTableEncodeError('a result needs at least one column');
  const quote = tsv ? tsvField : csvField;
  const sep = tsv ? '\t' : ',';
  const fmts = doc.fields.map((f) => textFormatter(f, fieldShape(f), magicNull(f, false)));
  const text = doc.fields.map((f) => f.datatype === 'char' || f.datatype === 'unicodeChar');
  const sink = new ByteSink(chunkSize + 4096);
  sink.utf8(`${doc.fields.map((f) => quote(f.name)).join(sep)}\r\n`);
  for await (const batch of batches)
    for (const r of batch) {
      if (r.length !== n) throw new VOTableEncodeError(`row has ${r.length} values for ${n} columns`);
      let s = '';
      for (let i = 0; i < n; i++) {
        if (i > 0) s += sep;
        const v = r[i];
        if (v === null || v === undefined) continue;
        const t = fmts[i](v);
        s += text[i] ? quote(t) : t;
      }
      sink.utf8(`${s}\r\n`);
      if (sink.pos >= chunkSize) yield sink.take();
    }
  if (sink.pos > 0) yield sink.take();
}
