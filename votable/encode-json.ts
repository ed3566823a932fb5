import { fieldShape, isCharType, isComplexType } from './arraysize.js';
import { VOTableEncodeError } from './errors.js';
import { errorMessage, type RowBatch } from './rows.js';
import { ByteSink } from './sink.js';
import type { Field, ResultDocument } from './types.js';
import { longText, toBoolean, toItems, toNumber, toText } from './values.js';

function jsonNumber(n: number): string {
  // JSON has no NaN or infinities: they become null (README).
  return Number.isFinite(n) ? String(n) : 'null';
}

function itemJson(f: Field): (x: unknown) => string {
  const col = f.name;
  switch (f.datatype) {
    case 'boolean':
    case 'bit':
      return (x) => (x === null || x === undefined ? 'null' : toBoolean(x, col) ? 'true' : 'false');
    case 'long':
      // Raw digits: JSON numbers have no precision limit (JavaScript readers may round beyond 2^53).
      return (x) => (x === null || x === undefined ? 'null' : longText(x, col));
    default:
      return (x) =>
        x === null || x === undefined
          ? 'null'
          : jsonNumber(typeof x === 'number' ? x : toNumber(x, col, f.datatype));
  }
}

function cellJson(f: Field): (v: unknown) => string {
  const shape = fieldShape(f);
  const col = f.name;
  if (isCharType(f.datatype)) {
    if (shape.slice > 1)
      return (v) =>
        JSON.stringify((Array.isArray(v) ? v : [v]).map((p) => (p == null ? null : toText(p, col))));
    return (v) => JSON.stringify(toText(v, col));
  }
  const item = itemJson(f);
  const complex = isComplexType(f.datatype);
  if (shape.scalar && !complex) return item;
  if (shape.scalar) return (v) => `[${toItems(v, col).map(item).join(',')}]`;
  return (v) => {
    const items = f.datatype === 'bit' && typeof v === 'string' ? v.split('') : toItems(v, col);
    if (!complex) return `[${items.map(item).join(',')}]`;
    const pairs: string[] = [];
    for (let i = 0; i < items.length; i += 2) pairs.push(`[${item(items[i])},${item(items[i + 1])}]`);
    return `[${pairs.join(',')}]`;
  };
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
