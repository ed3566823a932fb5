import { fieldShape } from './arraysize.js';
import { magicNull, textFormatter } from './cells.js';
import { CopyTextTranscoder, CSV_DIALECT, TSV_DIALECT } from './copy-text.js';
import { VOTableEncodeError } from './errors.js';
import { csvField, tsvField } from './quoting.js';
import type { RowBatch } from './rows.js';
import { ByteSink } from './sink.js';
import type { ResultDocument } from './types.js';

// Most bytes one COPY line may take before the transcoder gives up on it (a bounded buffer).
const MAX_COPY_LINE_BYTES = 256 * 1024 * 1024;

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
  if (doc.copy) {
    const copy = doc.copy;
    const tr = new CopyTextTranscoder(
      doc.fields,
      copy.types,
      copy.parsers,
      MAX_COPY_LINE_BYTES,
      tsv ? TSV_DIALECT : CSV_DIALECT,
    );
    const max = copy.maxRecords ?? Number.POSITIVE_INFINITY;
    let failure: unknown;
    try {
      for await (const chunk of copy.stream) {
        // Rows past maxRecords are dropped: these formats have no overflow marker (DALI-47).
        if (tr.feed(chunk, sink, max)) break;
        if (sink.pos >= chunkSize) yield sink.take();
      }
      if (tr.rows < max) tr.end();
    } catch (err) {
      failure = err;
    }
    // The complete rows before an error still go out; the error then aborts the response.
    if (sink.pos > 0) yield sink.take();
    if (failure !== undefined) throw failure;
    return;
  }
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
