import { randomUUID } from 'node:crypto';
import { type FileHandle, open, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_INTEGER_NULL, fieldShape, isCharType, isIntegerType, type Shape } from './arraysize.js';
import { type BinWriter, binaryWriter, fixedBytes, nullPlaceholder } from './cells.js';
import { CopyBinaryParser, copyCellWriter, type PgBinaryType } from './copy-binary.js';
import { type BinaryDecoder, binaryDecoder } from './decode.js';
import { VOTableEncodeError } from './errors.js';
import type { RowBatch } from './rows.js';
import { ByteSink } from './sink.js';
import type { EncodeOptions, Field, ResultDocument } from './types.js';

/*
 * FITS binary table, streamed with flat memory. FITS needs NAXIS2 (and the heap size) in the
 * header before any row, so rows are first spooled to a temporary file in BINARY2 form while
 * counting rows, the longest string and the heap size; then the header, the table and the heap
 * are streamed from that file, which is deleted afterwards. Disk use is about the size of the
 * result; options.maxSpoolBytes bounds it. A failing row source therefore rethrows before any
 * byte is produced, so the caller can still answer with an error document.
 *
 * A result from PostgreSQL's binary COPY is spooled the same way, each tuple written into the
 * spool's BINARY2 layout by the BINARY2 transcoder's cell writers (copy-binary.ts), so pass 2
 * and 3 are shared and the bytes are those of the row path. Writing NAXIS2 after the rows
 * instead would need a seekable output (an HTTP response is not) and would still not know
 * the widths: strings become fixed-width A columns as wide as the longest value, and the
 * heap's size (PCOUNT) and each P descriptor's maximum count come only at the end too.
 */

const CODE: Record<string, string> = {
  boolean: 'L',
  bit: 'X',
  unsignedByte: 'B',
  short: 'I',
  int: 'J',
  long: 'K',
  char: 'A',
  unicodeChar: 'A',
  float: 'E',
  double: 'D',
  floatComplex: 'C',
  doubleComplex: 'M',
};

const ITEM: Record<string, number> = {
  boolean: 1,
  unsignedByte: 1,
  short: 2,
  int: 4,
  long: 8,
  float: 4,
  double: 8,
  floatComplex: 8,
  doubleComplex: 16,
};

interface Col {
  field: Field;
  shape: Shape;
  write: BinWriter;
  dec: BinaryDecoder;
  /** Strings, fixed or variable, become fixed-width A columns. */
  text: boolean;
  /** Variable numeric/bit arrays go to the heap through P descriptors. */
  heap: boolean;
  maxCount: number;
  /** Bytes of this column in a FITS row. */
  width: number;
  fitsNull: Buffer;
  /** The integer null (TNULL), also of null items in integer arrays. */
  magic: string | undefined;
}

// Pass 2's cell kinds.
const FIXED = 0;
const LOGICAL = 1;
const TEXT = 2;
const UNICODE_TEXT = 3;
const HEAP = 4;
const VAR_BITS = 5;

// The spool is written and read in pieces of this size.
const SPOOL_CHUNK = 1 << 20;

// A null variable cell in the spool: no items.
const NO_ITEMS = Buffer.alloc(4);

// Most bytes one COPY tuple may take before the transcoder gives up on it (a bounded buffer).
const MAX_COPY_ROW_BYTES = 256 * 1024 * 1024;

/** A header card; `{ int }` is an integer given as its decimal digits (64-bit TNULL). */
function card(key: string, value: string | number | boolean | { int: string }, comment?: string): string {
  let v: string;
  if (typeof value === 'object') v = value.int.padStart(20, ' ');
  else if (typeof value === 'string') {
    const q = value.replace(/'/g, "''").slice(0, 68);
    v = `'${q.padEnd(8, ' ')}'`.padEnd(20, ' ');
  } else if (typeof value === 'boolean') v = (value ? 'T' : 'F').padStart(20, ' ');
  else v = String(value).padStart(20, ' ');
  const c = `${key.padEnd(8, ' ')}= ${v}${comment ? ` / ${comment}` : ''}`;
  return c.slice(0, 80).padEnd(80, ' ');
}

function block(cards: string[]): Buffer {
  const text = [...cards, 'END'.padEnd(80, ' ')].join('');
  const size = Math.ceil(text.length / 2880) * 2880;
  return Buffer.from(text.padEnd(size, ' '), 'latin1');
}

function asciiCard(s: string): string {
  return s.replace(/[^\x20-\x7e]/g, '?');
}

/**
 * The spool in reads of `chunk` bytes, the next read already under way while the caller
 * works on this one: on a busy machine each read's round trip through libuv's thread pool
 * took longer than the work on its bytes.
 */
async function* readSpool(fh: FileHandle, total: number, chunk: number): AsyncGenerator<Buffer> {
  const readAt = (pos: number): Promise<Buffer> => {
    const n = Math.min(chunk, total - pos);
    const b = Buffer.allocUnsafe(n);
    return fh.read(b, 0, n, pos).then(({ bytesRead }) => {
      if (bytesRead === 0) throw new VOTableEncodeError('the FITS spool file was truncated');
      return b.subarray(0, bytesRead);
    });
  };
  let pos = 0;
  let next = total > 0 ? readAt(0) : undefined;
  try {
    while (next) {
      const b = await next;
      pos += b.length;
      next = pos < total ? readAt(pos) : undefined;
      yield b;
    }
  } finally {
    // A consumer that stopped leaves a read in flight: its outcome no longer matters.
    next?.catch(() => {});
  }
}

/** The spooled rows of one read: row i starts at offs[i], its cell j at starts[i*n+j] (lens bytes). */
interface SpoolPage {
  b: Buffer;
  count: number;
  offs: Int32Array;
  starts: Int32Array;
  lens: Int32Array;
}

/**
 * The spool's rows a read (1 MiB) at a time: one await per read, not per row (an async
 * generator's yield per row cost more than the row's copying).
 */
async function* spoolPages(fh: FileHandle, total: number, cols: Col[]): AsyncGenerator<SpoolPage> {
  const n = cols.length;
  const flagBytes = (n + 7) >> 3;
  let pending: Buffer = Buffer.alloc(0);
  const page: SpoolPage = {
    b: pending,
    count: 0,
    offs: new Int32Array(1024),
    starts: new Int32Array(1024 * n),
    lens: new Int32Array(1024 * n),
  };
  const heads = cols.map((c) => c.dec.head);
  const variable = cols.map((c) => c.shape.variable);
  for await (const chunk of readSpool(fh, total, SPOOL_CHUNK)) {
    const b = pending.length ? Buffer.concat([pending, chunk]) : chunk;
    let off = 0;
    let count = 0;
    for (;;) {
      let o = off + flagBytes;
      let ok = o <= b.length;
      if (count === page.offs.length) {
        const grow = (a: Int32Array, k: number) => {
          const g = new Int32Array(a.length * 2);
          g.set(a.subarray(0, k));
          return g;
        };
        page.offs = grow(page.offs, count);
        page.starts = grow(page.starts, count * n);
        page.lens = grow(page.lens, count * n);
      }
      const base = count * n;
      for (let i = 0; ok && i < n; i++) {
        if (o + heads[i] > b.length) {
          ok = false;
          break;
        }
        const len = heads[i] + (variable[i] ? cols[i].dec.varBytes(b.readInt32BE(o)) : 0);
        page.starts[base + i] = o;
        page.lens[base + i] = len;
        o += len;
        if (o > b.length) ok = false;
      }
      if (!ok) break;
      page.offs[count++] = off;
      off = o;
    }
    page.b = b;
    page.count = count;
    yield page;
    pending = b.subarray(off);
  }
}

/** Pass 2's state: the columns, their cell kinds and widths, and where the heap has got to. */
interface TableWriter {
  cols: Col[];
  n: number;
  rowBytes: number;
  heapOffset: number;
  kinds: Uint8Array;
  widths: Int32Array;
  skips: Int32Array;
}

/**
 * Writes the page's rows from `first` on as FITS table rows until `out` holds `chunkSize`
 * bytes; returns the next row. A plain function, not part of the generator, so V8 optimises
 * the loop.
 */
function writeTableRows(
  t: TableWriter,
  page: SpoolPage,
  first: number,
  out: ByteSink,
  chunkSize: number,
): number {
  const { cols, n, rowBytes, kinds, widths, skips } = t;
  const { b, count, offs, starts: pageStarts, lens: pageLens } = page;
  let heapOffset = t.heapOffset;
  let r = first;
  for (; r < count && out.pos < chunkSize; r++) {
    const off = offs[r];
    const base = r * n;
    out.ensure(rowBytes);
    const o = out.buf;
    let p = out.pos;
    for (let i = 0; i < n; i++) {
      const kind = kinds[i];
      const width = widths[i];
      const isNull = (b[off + (i >> 3)] & (0x80 >> (i & 7))) !== 0;
      const s = pageStarts[base + i];
      const cellLen = pageLens[base + i];
      // Byte loops throughout: Buffer#copy and #fill cost more than the copy itself for a few bytes.
      if (kind === TEXT || kind === VAR_BITS) {
        const at = s + skips[i];
        const len = isNull ? 0 : cellLen - skips[i];
        const m = len < width ? len : width;
        for (let k = 0; k < m; k++) o[p + k] = b[at + k];
        for (let k = m; k < width; k++) o[p + k] = 0;
      } else if (kind === UNICODE_TEXT) {
        // Two bytes per character in the spool: keep ASCII, others become '?'.
        const at = s + skips[i];
        const chars = isNull ? 0 : (cellLen - skips[i]) / 2;
        const m = chars < width ? chars : width;
        for (let k = 0; k < m; k++) {
          const code = (b[at + 2 * k] << 8) | b[at + 2 * k + 1];
          o[p + k] = code < 0x80 ? code : 0x3f;
        }
        for (let k = m; k < width; k++) o[p + k] = 0;
      } else if (kind === HEAP) {
        const c = cols[i];
        const items = isNull ? 0 : b.readInt32BE(s);
        const elems = items * c.shape.slice;
        if (width === 16) {
          out.dv.setBigInt64(p, BigInt(elems));
          out.dv.setBigInt64(p + 8, BigInt(heapOffset));
        } else {
          out.dv.setInt32(p, elems);
          out.dv.setInt32(p + 4, heapOffset);
        }
        heapOffset += c.dec.varBytes(items);
      } else if (isNull) {
        // FITS nulls: TNULL for integers, NaN for floats, 0 for logicals (Table 18 of FITS 4.0).
        if (kind === LOGICAL) for (let k = 0; k < width; k++) o[p + k] = 0;
        else {
          const z = cols[i].fitsNull;
          for (let k = 0; k < width; k++) o[p + k] = z[k];
        }
      } else {
        for (let k = 0; k < cellLen; k++) o[p + k] = b[s + k];
        if (kind === LOGICAL) for (let k = 0; k < width; k++) if (o[p + k] === 63) o[p + k] = 0;
      }
      p += width;
    }
    out.pos = p;
  }
  t.heapOffset = heapOffset;
  return r;
}

export async function* encodeFits(
  doc: ResultDocument,
  chunkSize: number,
  batches: AsyncIterable<RowBatch>,
  options: EncodeOptions,
): AsyncGenerator<Buffer> {
  const n = doc.fields.length;
  if (n === 0) throw new VOTableEncodeError('a result needs at least one column');
  const maxSpool = options.maxSpoolBytes ?? 8 * 1024 ** 3;
  const cols: Col[] = doc.fields.map((f) => {
    const shape = fieldShape(f);
    const magic = isIntegerType(f.datatype) ? (f.nullValue ?? DEFAULT_INTEGER_NULL[f.datatype]) : undefined;
    return {
      field: f,
      shape,
      write: binaryWriter(f, shape, magic),
      dec: binaryDecoder(f, shape, undefined, Number.MAX_SAFE_INTEGER),
      text: isCharType(f.datatype),
      // Variable bit arrays become fixed X columns of the longest length (readers lack PX).
      heap: shape.variable && !isCharType(f.datatype) && f.datatype !== 'bit',
      maxCount: 0,
      width: 0,
      fitsNull: nullPlaceholder(f, shape, magic, false),
      magic,
    };
  });
  const path = join(options.tmpDir ?? tmpdir(), `vonode-fits-${randomUUID()}.spool`);
  const fh = await open(path, 'w+', 0o600);
  try {
    // Pass 1: spool rows (BINARY2 layout) and measure.
    const sink = new ByteSink(SPOOL_CHUNK + (1 << 16));
    const flagBytes = (n + 7) >> 3;
    let spooled = 0;
    let nrows = 0;
    let heapBytes = 0;
    // One write in flight while the next chunk is encoded (see readSpool).
    let writing: Promise<unknown> = Promise.resolve();
    const spill = async () => {
      spooled += sink.pos;
      if (spooled > maxSpool)
        throw new VOTableEncodeError(`the FITS result exceeds ${maxSpool} bytes (limit maxSpoolBytes)`);
      const full = sink.take();
      await writing;
      writing = fh.write(full, 0, full.length);
      writing.catch(() => {});
    };
    if (doc.copy) {
      const copy = doc.copy;
      if (copy.format !== 'binary')
        throw new VOTableEncodeError(`a ${copy.format} COPY stream cannot be transcoded to FITS`);
      const parser = new CopyBinaryParser(n, MAX_COPY_ROW_BYTES);
      const { starts, lens } = parser;
      const writers = cols.map((c, i) => copyCellWriter(c.field, copy.types[i] as PgBinaryType, c.magic));
      const rowFixed = cols.reduce((t, c) => t + (fixedBytes(c.field, c.shape) ?? 4), 0);
      const max = copy.maxRecords ?? Number.POSITIVE_INFINITY;
      const last = n - 1;
      let overflow = false;
      // The same BINARY2 layout the rows below are spooled in, written from the COPY tuple.
      const onTuple = (b: Buffer): boolean => {
        if (nrows >= max) {
          overflow = true;
          return false;
        }
        const start = sink.pos;
        // No cell takes more than 4 times its COPY bytes (see CopyBinaryTranscoder).
        sink.ensure(flagBytes + rowFixed + 4 * (starts[last] + Math.max(lens[last], 0) - starts[0]));
        sink.buf.fill(0, start, start + flagBytes);
        sink.pos += flagBytes;
        for (let i = 0; i < n; i++) {
          const c = cols[i];
          const len = lens[i];
          const at = sink.pos;
          if (len < 0) {
            sink.buf[start + (i >> 3)] |= 0x80 >> (i & 7);
            sink.bytes(c.shape.variable ? NO_ITEMS : c.fitsNull);
          } else {
            writers[i](sink, b, starts[i], len);
            if (c.shape.variable) {
              const count = sink.dv.getInt32(at);
              if (count > c.maxCount) c.maxCount = count;
              if (c.heap) heapBytes += c.dec.varBytes(count);
            }
          }
        }
        nrows++;
        return true;
      };
      for await (const chunk of copy.stream) {
        parser.feed(chunk, onTuple);
        if (sink.pos >= SPOOL_CHUNK) await spill();
        // Leaving the loop closes the COPY (the caller drains or cancels it).
        if (overflow) break;
      }
      if (!overflow && nrows < max && !parser.done)
        throw new VOTableEncodeError('the COPY stream ended before its trailer (truncated)');
    } else
      for await (const batch of batches)
        for (const r of batch) {
          if (r.length !== n) throw new VOTableEncodeError(`row has ${r.length} values for ${n} columns`);
          const start = sink.pos;
          sink.ensure(flagBytes);
          sink.buf.fill(0, start, start + flagBytes);
          sink.pos += flagBytes;
          for (let i = 0; i < n; i++) {
            const v = r[i];
            const c = cols[i];
            const at = sink.pos;
            if (v === null || v === undefined) {
              sink.buf[start + (i >> 3)] |= 0x80 >> (i & 7);
              sink.bytes(c.shape.variable ? NO_ITEMS : c.fitsNull);
            } else {
              c.write(sink, v);
              if (c.shape.variable) {
                const count = sink.dv.getInt32(at);
                if (count > c.maxCount) c.maxCount = count;
                if (c.heap) heapBytes += c.dec.varBytes(count);
              }
            }
          }
          nrows++;
          if (sink.pos >= SPOOL_CHUNK) await spill();
        }
    if (sink.pos > 0) await spill();
    await writing;

    // Header.
    const cards: string[] = [
      card('XTENSION', 'BINTABLE', 'binary table extension'),
      card('BITPIX', 8),
      card('NAXIS', 2),
      '',
      card('NAXIS2', nrows),
      card('PCOUNT', heapBytes),
      card('GCOUNT', 1),
      card('TFIELDS', n),
    ];
    let rowBytes = 0;
    const long = heapBytes >= 2 ** 31;
    cols.forEach((c, k) => {
      const i = k + 1;
      const f = c.field;
      const dt = f.datatype;
      let tform: string;
      let tdim: string | undefined;
      if (c.text) {
        const slice = c.shape.slice;
        const count = c.shape.scalar
          ? 1
          : c.shape.variable
            ? Math.max(c.maxCount, 1)
            : c.shape.fixedCount / slice;
        // unicodeChar is written as ASCII text: FITS strings are ASCII.
        c.width = slice * count;
        tform = `${c.width}A`;
        if (slice > 1) tdim = `(${slice},${count})`;
      } else if (dt === 'bit' && c.shape.variable) {
        const bits = Math.max(c.maxCount * c.shape.slice, 1);
        c.width = Math.ceil(bits / 8);
        tform = `${bits}X`;
      } else if (c.heap) {
        const items = c.maxCount * c.shape.slice;
        c.width = long ? 16 : 8;
        tform = `1${long ? 'Q' : 'P'}${CODE[dt]}(${items})`;
      } else {
        const count = c.shape.scalar ? 1 : c.shape.fixedCount;
        c.width = dt === 'bit' ? Math.ceil(count / 8) : count * ITEM[dt];
        tform = `${count}${CODE[dt]}`;
        if (c.shape.dims.length > 1) tdim = `(${c.shape.dims.join(',')})`;
      }
      rowBytes += c.width;
      cards.push(card(`TTYPE${i}`, asciiCard(f.name)));
      cards.push(card(`TFORM${i}`, tform));
      if (f.unit) cards.push(card(`TUNIT${i}`, asciiCard(f.unit)));
      if (isIntegerType(dt) && !c.heap)
        cards.push(card(`TNULL${i}`, { int: f.nullValue ?? DEFAULT_INTEGER_NULL[dt] }));
      if (tdim) cards.push(card(`TDIM${i}`, tdim));
      if (f.ucd) cards.push(card(`TUCD${i}`, asciiCard(f.ucd)));
      if (f.xtype) cards.push(card(`TXTYP${i}`, asciiCard(f.xtype)));
    });
    cards[3] = card('NAXIS1', rowBytes);
    if (doc.tableName) cards.push(card('EXTNAME', asciiCard(doc.tableName)));
    yield block([card('SIMPLE', true), card('BITPIX', 8), card('NAXIS', 0), card('EXTEND', true)]);
    yield block(cards);

    // Pass 2: the table rows.
    const out = new ByteSink(chunkSize + rowBytes + 16);
    // What each column's cell takes in pass 2, decided once rather than per cell.
    const table: TableWriter = {
      cols,
      n,
      rowBytes,
      heapOffset: 0,
      kinds: Uint8Array.from(cols, (c) =>
        c.field.datatype === 'bit' && c.shape.variable
          ? VAR_BITS
          : c.text
            ? c.field.datatype === 'unicodeChar'
              ? UNICODE_TEXT
              : TEXT
            : c.heap
              ? HEAP
              : c.field.datatype === 'boolean'
                ? LOGICAL
                : FIXED,
      ),
      widths: Int32Array.from(cols, (c) => c.width),
      skips: Int32Array.from(cols, (c) => (c.shape.variable ? 4 : 0)),
    };
    for await (const page of spoolPages(fh, spooled, cols))
      for (let r = 0; r < page.count; ) {
        r = writeTableRows(table, page, r, out, chunkSize);
        if (out.pos >= chunkSize) yield out.take();
      }
    // Pass 3: the heap.
    if (heapBytes > 0) {
      for await (const { b, count, offs, starts, lens } of spoolPages(fh, spooled, cols))
        for (let r = 0; r < count; r++) {
          const off = offs[r];
          const base = r * n;
          for (let i = 0; i < n; i++) {
            const c = cols[i];
            if (!c.heap || (b[off + (i >> 3)] & (0x80 >> (i & 7))) !== 0) continue;
            out.bytes(b.subarray(starts[base + i] + 4, starts[base + i] + lens[base + i]));
          }
          if (out.pos >= chunkSize) yield out.take();
        }
    }
    const data = rowBytes * nrows + heapBytes;
    const pad = (2880 - (data % 2880)) % 2880;
    if (pad) out.bytes(Buffer.alloc(pad));
    if (out.pos > 0) yield out.take();
  } finally {
    await fh.close().catch(() => {});
    await rm(path, { force: true }).catch(() => {});
  }
}
