import { JSON_DIALECT } from './copy-json.js';
import { CopyTextTranscoder } from './copy-text.js';
import { VOTableEncodeError } from './errors.js';
import { cellJson } from './json-cells.js';
import { errorMessage, type RowBatch } from './rows.js';
import { ByteSink } from './sink.js';
import type { ResultDocument } from './types.js';

// Most bytes one COPY line may take before the transcoder gives up on it (a bounded buffer).
const MAX_COPY_LINE_BYTES = 256 * 1024 * 1024;

/**
 * The rows from PostgreSQL's text COPY (copy-json.ts), cut into chunks between rows; returns
 * whether a row beyond maxRecords was seen. PostgreSQL's error is thrown after the rows
 * before it, as a failing row source's is.
 */
async function* copyRows(
  doc: ResultDocument,
  sink: ByteSink,
  chunkSize: number,
): AsyncGenerator<Buffer, boolean> {
  const copy = doc.copy!;
  if (copy.format !== 'text')
    throw new VOTableEncodeError(`a ${copy.format} COPY stream cannot be transcoded to JSON`);
  const tr = new CopyTextTranscoder(doc.fields, copy.types, copy.parsers, MAX_COPY_LINE_BYTES, JSON_DIALECT);
  const max = copy.maxRecords ?? Number.POSITIVE_INFINITY;
  for await (const chunk of copy.stream) {
    if (tr.feed(chunk, sink, max)) return true;
    if (sink.pos >= chunkSize) yield sink.take();
  }
  // maxRecords reached exactly: the stream ended without a row more, so no overflow.
  if (tr.rows < max) tr.end();
  return false;
}

/**
 * JSON, streamed: {"metadata":[FIELD attributes...],"data":[[row],...],"status":..., "infos":[...]}.
 * status is QUERY_STATUS written last (OK, OVERFLOW, or ERROR with "message").
 */
export async function* encodeJson(
  doc: ResultDocument,
  chunkSize: number,
  batches: AsyncIterable<RowBatch>,
): AsyncGenerator<Buffer> {
  const n = doc.fields.length;
  if (n === 0) throw new VOTableEncodeError('a result needs at least one column');
  const cells = doc.fields.map(cellJson);
  const meta = doc.fields.map((f) => {
    const m: Record<string, unknown> = { name: f.name, datatype: f.datatype };
    for (const k of ['arraysize', 'xtype', 'unit', 'ucd', 'utype', 'description', 'ID', 'ref'] as const)
      if (f[k] !== undefined) m[k] = f[k];
    return m;
  });
  const sink = new ByteSink(chunkSize + 4096);
  const infos = (doc.infos ?? []).map((i) => ({
    name: i.name,
    value: i.value,
    ...(i.content ? { content: i.content } : {}),
  }));
  sink.utf8(`{"metadata":${JSON.stringify(meta)},\n"infos":${JSON.stringify(infos)},\n"data":[\n`);
  let first = true;
  let status: { status: string; message?: string } = { status: doc.leadingStatus ?? 'OK' };
  try {
    if (doc.copy) {
      if (yield* copyRows(doc, sink, chunkSize)) status = { status: 'OVERFLOW' };
    } else
      for await (const batch of batches)
        for (const r of batch) {
          if (r.length !== n) throw new VOTableEncodeError(`row has ${r.length} values for ${n} columns`);
          let s = first ? '[' : ',\n[';
          for (let i = 0; i < n; i++) {
            if (i > 0) s += ',';
            const v = r[i];
            s += v === null || v === undefined ? 'null' : cells[i](v);
          }
          sink.utf8(`${s}]`);
          first = false;
          if (sink.pos >= chunkSize) yield sink.take();
        }
    if (doc.trailingStatus?.() === 'OVERFLOW') status = { status: 'OVERFLOW' };
  } catch (err) {
    status = { status: 'ERROR', message: errorMessage(err) };
  }
  sink.utf8(
    `\n],\n"status":${JSON.stringify(status.status)}${status.message !== undefined ? `,\n"message":${JSON.stringify(status.message)}` : ''}}\n`,
  );
  yield sink.take();
}
