import { mocFitsHeader } from '../../sky/index.js';

export type MocFormat = 'fits' | 'json' | 'ascii';

/**
 * Streaming serialisations of a MOC given as its canonical cells (COPY text lines
 * `order<TAB>index`, sorted by order then index, as canonicalCellsSql gives them). Each
 * writes what Moc.toJson / toAscii / toFits write for the same cells, byte for byte, one
 * input chunk at a time, so a MOC of millions of cells neither sits in memory nor holds
 * the event loop for longer than one chunk takes.
 */

/** The cells of each chunk, grouped as parallel arrays; lines split across chunks are joined. */
async function* cellBatches(
  chunks: AsyncIterable<Buffer | string>,
): AsyncGenerator<{ orders: number[]; indices: bigint[] }> {
  let rest = '';
  for await (const chunk of chunks) {
    const text = rest + chunk.toString('latin1');
    const end = text.lastIndexOf('\n');
    if (end < 0) {
      rest = text;
      continue;
    }
    rest = text.slice(end + 1);
    const orders: number[] = [];
    const indices: bigint[] = [];
    let start = 0;
    while (start < end) {
      const tab = text.indexOf('\t', start);
      const nl = text.indexOf('\n', tab);
      orders.push(Number(text.slice(start, tab)));
      indices.push(BigInt(text.slice(tab + 1, nl)));
      start = nl + 1;
    }
    yield { orders, indices };
  }
  if (rest.trim() !== '') throw new Error('MOC cells ended in the middle of a line');
}

/** MOC-23 JSON, as Moc.toJson. */
export async function* encodeJson(
  chunks: AsyncIterable<Buffer | string>,
  order: number,
): AsyncGenerator<Buffer> {
  let current = -1;
  yield Buffer.from('{');
  for await (const { orders, indices } of cellBatches(chunks)) {
    let out = '';
    for (let k = 0; k < orders.length; k++) {
      const o = orders[k]!;
      if (o !== current) {
        out += `${current < 0 ? '' : '],'}"${o}":[${indices[k]}`;
        current = o;
      } else out += `,${indices[k]}`;
    }
    yield Buffer.from(out, 'latin1');
  }
  let tail = current < 0 ? '' : ']';
  if (current < order) tail += `${current < 0 ? '' : ','}"${order}":[]`;
  yield Buffer.from(`${tail}}`);
}

/** MOC-20 ASCII, as Moc.toAscii: runs of consecutive indices written low-high. */
export async function* encodeAscii(
  chunks: AsyncIterable<Buffer | string>,
  order: number,
): AsyncGenerator<Buffer> {
  let current = -1;
  let lo = -1n;
  let hi = -1n;
  const run = () => (lo === hi ? `${lo}` : `${lo}-${hi}`);
  for await (const { orders, indices } of cellBatches(chunks)) {
    let out = '';
    for (let k = 0; k < orders.length; k++) {
      const o = orders[k]!;
      const i = indices[k]!;
      if (o !== current) {
        if (current >= 0) out += `${run()} `;
        out += `${o}/`;
        current = o;
        lo = hi = i;
      } else if (i === hi + 1n) hi = i;
      else {
        out += `${run()} `;
        lo = hi = i;
      }
    }
    yield Buffer.from(out, 'latin1');
  }
  let tail = current < 0 ? '' : run();
  if (current < order) tail += `${current < 0 ? '' : ' '}${order}/`;
  yield Buffer.from(tail, 'latin1');
}

/** MOC 2.0 FITS with NUNIQ packaging (MOC-10..14), as Moc.toFits; `rows` is the cell count. */
export async function* encodeFits(
  chunks: AsyncIterable<Buffer | string>,
  order: number,
  rows: number,
  mocType: 'IMAGE' | 'CATALOG',
): AsyncGenerator<Buffer> {
  yield mocFitsHeader(order, rows, { mocType });
  const width = order < 14 ? 4 : 8;
  let written = 0;
  for await (const { orders, indices } of cellBatches(chunks)) {
    const data = Buffer.alloc(orders.length * width);
    for (let k = 0; k < orders.length; k++) {
      // MOC-03: uniq = 4·4^order + index.
      const uniq = indices[k]! + (4n << BigInt(2 * orders[k]!));
      if (width === 4) data.writeInt32BE(Number(uniq), k * 4);
      else data.writeBigInt64BE(uniq, k * 8);
    }
    written += orders.length;
    yield data;
  }
  if (written !== rows) throw new Error(`MOC FITS promised ${rows} rows and found ${written}`);
  const bytes = rows * width;
  yield Buffer.alloc(Math.ceil(bytes / 2880) * 2880 - bytes);
}

export function encode(
  format: MocFormat,
  chunks: AsyncIterable<Buffer | string>,
  order: number,
  rows: number,
  mocType: 'IMAGE' | 'CATALOG',
): AsyncGenerator<Buffer> {
  if (format === 'json') return encodeJson(chunks, order);
  if (format === 'ascii') return encodeAscii(chunks, order);
  return encodeFits(chunks, order, rows, mocType);
}
