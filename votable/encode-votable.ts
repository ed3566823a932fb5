import { fieldShape } from './arraysize.js';
import {
  type BinWriter,
  binaryWriter,
  magicNull,
  nullPlaceholder,
  tabledataNull,
  textFormatter,
} from './cells.js';
import { CopyBinaryTranscoder, type PgBinaryType } from './copy-binary.js';
import { CopyTextTranscoder } from './copy-text.js';
import { VOTableEncodeError } from './errors.js';
import { errorMessage, type RowBatch } from './rows.js';
import { ByteSink } from './sink.js';
import type { ResultDocument } from './types.js';
import {
  coosysXml,
  escapeAttr,
  escapeText,
  fieldXml,
  groupXml,
  infoXml,
  linkXml,
  paramXml,
  resourceXml,
  timesysXml,
  votableStart,
} from './xml.js';

export type Serialization = 'TABLEDATA' | 'BINARY' | 'BINARY2';

/** Everything up to and including the serialisation start tag. */
function head(doc: ResultDocument, ser: Serialization, status?: 'OK' | 'OVERFLOW'): string {
  if (doc.fields.length === 0) throw new VOTableEncodeError('a TABLE needs at least one FIELD (VOT-4)');
  const binary = ser === 'BINARY';
  let s = votableStart(doc.version);
  s += '<RESOURCE type="results">\n';
  s += infoXml(
    { name: 'QUERY_STATUS', value: status ?? doc.leadingStatus ?? 'OK', content: doc.leadingMessage },
    '  ',
  );
  for (const i of doc.infos ?? []) s += infoXml(i, '  ');
  for (const c of doc.coosys ?? []) s += coosysXml(c, '  ', doc.version);
  for (const t of doc.timesys ?? []) s += timesysXml(t, '  ');
  for (const p of doc.resourceParams ?? []) s += paramXml(p, '  ');
  for (const l of doc.links ?? []) s += linkXml(l, '  ');
  for (const r of doc.metaResources ?? []) s += resourceXml(r, '  ', doc.version);
  s += `  <TABLE${doc.tableName ? ` name="${escapeAttr(doc.tableName)}"` : ''}>\n`;
  if (doc.description) s += `    <DESCRIPTION>${escapeText(doc.description)}</DESCRIPTION>\n`;
  for (const f of doc.fields) s += fieldXml(f, binary, '    ');
  for (const p of doc.params ?? []) s += paramXml(p, '    ');
  for (const g of doc.groups ?? []) s += groupXml(g, '    ');
  s += '    <DATA>\n';
  s += ser === 'TABLEDATA' ? '      <TABLEDATA>\n' : `      <${ser}>\n        <STREAM encoding="base64">\n`;
  return s;
}

function tail(
  doc: ResultDocument,
  ser: Serialization,
  trailing: { value: string; content?: string } | undefined,
): string {
  let s = ser === 'TABLEDATA' ? '      </TABLEDATA>\n' : `        </STREAM>\n      </${ser}>\n`;
  s += '    </DATA>\n  </TABLE>\n';
  // DALI-45/46, VOT-50: the late status goes after the TABLE, as a child of the RESOURCE.
  if (trailing) s += infoXml({ name: 'QUERY_STATUS', ...trailing }, '  ');
  s += '</RESOURCE>\n';
  for (const r of doc.extraResources ?? []) s += resourceXml(r, '', doc.version);
  return `${s}</VOTABLE>\n`;
}

interface RowEncoder {
  /** Writes one complete row into the sink. */
  row(r: readonly unknown[]): void;
}

function tabledataEncoder(doc: ResultDocument, sink: ByteSink): RowEncoder {
  const n = doc.fields.length;
  const shapes = doc.fields.map((f) => fieldShape(f));
  const fmts = doc.fields.map((f, i) => textFormatter(f, shapes[i], magicNull(f, false)));
  const nullCells = doc.fields.map((f, i) => {
    const t = tabledataNull(f, shapes[i], magicNull(f, false));
    return t === '' ? '<TD/>' : `<TD>${t}</TD>`;
  });
  const escapes = doc.fields.map((f) => f.datatype === 'char' || f.datatype === 'unicodeChar');
  const names = doc.fields.map((f) => f.name);
  return {
    row(r) {
      if (r.length !== n) throw new VOTableEncodeError(`row has ${r.length} values for ${n} FIELDs`);
      let s = '<TR>';
      for (let i = 0; i < n; i++) {
        const v = r[i];
        if (v === null || v === undefined) {
          s += nullCells[i];
          continue;
        }
        let t: string;
        try {
          t = fmts[i](v);
        } catch (err) {
          throw err instanceof VOTableEncodeError
            ? err
            : new VOTableEncodeError(`column "${names[i]}": ${errorMessage(err)}`);
        }
        if (t === '') s += '<TD/>';
        else s += `<TD>${escapes[i] ? escapeText(t) : t}</TD>`;
      }
      sink.utf8(`${s}</TR>\n`);
    },
  };
}

function binaryEncoder(doc: ResultDocument, sink: ByteSink, binary2: boolean): RowEncoder {
  const n = doc.fields.length;
  const shapes = doc.fields.map((f) => fieldShape(f));
  const magic = doc.fields.map((f) => magicNull(f, !binary2));
  const writers: BinWriter[] = doc.fields.map((f, i) => binaryWriter(f, shapes[i], magic[i]));
  const nulls = doc.fields.map((f, i) => nullPlaceholder(f, shapes[i], magic[i], binary2));
  const flagBytes = binary2 ? (n + 7) >> 3 : 0;
  return {
    row(r) {
      if (r.length !== n) throw new VOTableEncodeError(`row has ${r.length} values for ${n} FIELDs`);
      const start = sink.pos;
      sink.ensure(flagBytes + 64);
      const buf0 = sink.buf;
      for (let k = 0; k < flagBytes; k++) buf0[start + k] = 0;
      sink.pos += flagBytes;
      try {
        for (let i = 0; i < n; i++) {
          const v = r[i];
          if (v === null || v === undefined) {
            if (binary2) sink.buf[start + (i >> 3)] |= 0x80 >> (i & 7);
            sink.bytes(nulls[i]);
          } else writers[i](sink, v);
        }
      } catch (err) {
        sink.pos = start;
        throw err;
      }
    },
  };
}

// Most bytes one COPY row may take before the transcoder gives up on it (a bounded buffer).
const MAX_COPY_ROW_BYTES = 256 * 1024 * 1024;

/**
 * Transcodes the COPY stream into the sink, calling `flush` whenever a chunk's worth is
 * there; returns whether a row beyond maxRecords was seen. Errors (PostgreSQL's, passed on
 * by the stream, or a cell the datatype cannot hold) are thrown after the rows before them.
 */
async function* transcodeCopy(
  doc: ResultDocument,
  ser: Serialization,
  sink: ByteSink,
  flushAt: number,
  flush: () => Buffer | undefined,
): AsyncGenerator<Buffer, boolean> {
  const copy = doc.copy!;
  const tr =
    copy.format === 'binary'
      ? new CopyBinaryTranscoder(
          doc.fields,
          copy.types as PgBinaryType[],
          MAX_COPY_ROW_BYTES,
          ser === 'BINARY2',
        )
      : new CopyTextTranscoder(doc.fields, copy.types, copy.parsers, MAX_COPY_ROW_BYTES);
  const max = copy.maxRecords ?? Number.POSITIVE_INFINITY;
  for await (const chunk of copy.stream) {
    if (tr.feed(chunk, sink, max)) return true;
    if (sink.pos >= flushAt) {
      const c = flush();
      if (c) yield c;
    }
  }
  // maxRecords reached exactly: the stream ended without a row more, so no overflow.
  if (tr.rows < max) tr.end();
  return false;
}

/** A base64 text stream cut at multiples of 3 bytes so no '=' appears before the end (VOT-44). */
function base64Chunk(raw: ByteSink, final: boolean): Buffer | undefined {
  const n = final ? raw.pos : raw.pos - (raw.pos % 3);
  if (n === 0) return undefined;
  const text = `${raw.buf.toString('base64', 0, n)}\n`;
  const rest = raw.pos - n;
  if (rest > 0) raw.buf.copy(raw.buf, 0, n, raw.pos);
  raw.pos = rest;
  return Buffer.from(text, 'latin1');
}

export async function* encodeVOTable(
  doc: ResultDocument,
  ser: Serialization,
  chunkSize: number,
  batches: AsyncIterable<RowBatch>,
): AsyncGenerator<Buffer> {
  const headText = head(doc, ser);
  const text = ser === 'TABLEDATA';
  // Base64 turns 3 bytes into 4: cut raw chunks at 3/4 of the target.
  const rawLimit = text ? chunkSize : Math.max(3, Math.floor((chunkSize * 3) / 4 / 3) * 3);
  const sink = new ByteSink(rawLimit + 4096);
  const enc = text ? tabledataEncoder(doc, sink) : binaryEncoder(doc, sink, ser === 'BINARY2');
  let trailing: { value: string; content?: string } | undefined;
  if (doc.copy) {
    const expected = ser === 'TABLEDATA' ? 'text' : 'binary';
    if (doc.copy.format !== expected)
      throw new VOTableEncodeError(`a ${doc.copy.format} COPY stream cannot be transcoded to ${ser}`);
    // A complete (small) result is read before the header so its status can lead (DALI-44).
    const early = doc.copy.complete === true;
    const flush = () => (early ? undefined : text ? sink.take() : base64Chunk(sink, false));
    if (!early) yield Buffer.from(headText, 'utf8');
    let overflow = false;
    const it = transcodeCopy(doc, ser, sink, rawLimit, flush);
    try {
      for (;;) {
        const r = await it.next();
        if (r.done) {
          overflow = r.value;
          break;
        }
        yield r.value;
      }
    } catch (err) {
      trailing = { value: 'ERROR', content: errorMessage(err) };
    } finally {
      // A consumer that stops early (client gone) must still close the COPY stream.
      await it.return(false);
    }
    if (early) {
      yield Buffer.from(head(doc, ser, overflow ? 'OVERFLOW' : undefined), 'utf8');
    } else if (overflow || doc.trailingStatus?.() === 'OVERFLOW') {
      if (doc.leadingStatus !== 'OVERFLOW') trailing ??= { value: 'OVERFLOW' };
    }
  } else {
    yield Buffer.from(headText, 'utf8');
    try {
      for await (const batch of batches)
        for (const r of batch) {
          enc.row(r);
          if (sink.pos >= rawLimit) {
            if (text) yield sink.take();
            else {
              const c = base64Chunk(sink, false);
              if (c) yield c;
            }
          }
        }
      const t = doc.trailingStatus?.();
      if (t === 'OVERFLOW' && doc.leadingStatus !== 'OVERFLOW') trailing = { value: 'OVERFLOW' };
    } catch (err) {
      // DALI-46: rows already sent stay; the table is closed and the error follows it.
      trailing = { value: 'ERROR', content: errorMessage(err) };
    }
  }
  if (text) {
    if (sink.pos > 0) yield sink.take();
  } else {
    const c = base64Chunk(sink, true);
    if (c) yield c;
  }
  yield Buffer.from(tail(doc, ser, trailing), 'utf8');
}
