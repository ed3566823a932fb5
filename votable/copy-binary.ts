import { fieldShape, isCharType } from './arraysize.js';
import { binaryWriter, fixedBytes, magicNull, nullPlaceholder } from './cells.js';
import { VOTableEncodeError } from './errors.js';
import type { ByteSink } from './sink.js';
import type { Field } from './types.js';
import { isoFromMillis, writeIsoMillis } from './values.js';

/**
 * PostgreSQL types a COPY ... TO STDOUT (FORMAT binary) column may have for the transcoder.
 * Integers and floats are already big-endian two's complement / IEEE in PostgreSQL's binary
 * format, exactly as VOTable BINARY wants them, so they are copied, not parsed.
 */
export type PgBinaryType =
  | 'bool'
  | 'int2'
  | 'int4'
  | 'int8'
  | 'float4'
  | 'float8'
  | 'text'
  | 'timestamp'
  | 'int2[]'
  | 'int4[]'
  | 'int8[]'
  | 'float4[]'
  | 'float8[]';

const SCALAR_BYTES: Record<string, number> = { int2: 2, int4: 4, int8: 8, float4: 4, float8: 8, bool: 1 };
const MATCH: Record<string, string> = {
  int2: 'short',
  int4: 'int',
  int8: 'long',
  float4: 'float',
  float8: 'double',
  bool: 'boolean',
};

/** Writes one non-null COPY field value (bytes b[off, off+len)) as a BINARY2 cell. */
export type CopyCellWriter = (s: ByteSink, b: Buffer, off: number, len: number) => void;

const PG_EPOCH_MS = 946_684_800_000;

function mismatch(f: Field, t: PgBinaryType): never {
  throw new VOTableEncodeError(
    `column "${f.name}": a PostgreSQL ${t} cannot be transcoded to ${f.datatype}${f.arraysize ? `[${f.arraysize}]` : ''}`,
  );
}

/**
 * `magic` is the integer null a null element of an integer array is written as (BINARY and
 * FITS always have one, BINARY2 only for fixed-size arrays: cells.magicNull); without it
 * such an element is an error, as on the row path.
 */
export function copyCellWriter(f: Field, t: PgBinaryType, magic?: string): CopyCellWriter {
  const shape = fieldShape(f);
  const name = f.name;
  if (t in SCALAR_BYTES) {
    if (MATCH[t] !== f.datatype || !shape.scalar) mismatch(f, t);
    const n = SCALAR_BYTES[t];
    if (t === 'bool')
      return (s, b, off) => {
        s.buf[s.pos++] = b[off] ? 84 : 70;
      };
    const wrong = (len: number) =>
      new VOTableEncodeError(`column "${name}": COPY gave ${len} bytes for a ${t}`);
    // Unrolled byte copies: Buffer#copy costs more than the copy itself for 2..8 bytes.
    if (n === 8)
      return (s, b, off, len) => {
        if (len !== 8) throw wrong(len);
        const o = s.buf;
        const p = s.pos;
        o[p] = b[off];
        o[p + 1] = b[off + 1];
        o[p + 2] = b[off + 2];
        o[p + 3] = b[off + 3];
        o[p + 4] = b[off + 4];
        o[p + 5] = b[off + 5];
        o[p + 6] = b[off + 6];
        o[p + 7] = b[off + 7];
        s.pos = p + 8;
      };
    if (n === 4)
      return (s, b, off, len) => {
        if (len !== 4) throw wrong(len);
        const o = s.buf;
        const p = s.pos;
        o[p] = b[off];
        o[p + 1] = b[off + 1];
        o[p + 2] = b[off + 2];
        o[p + 3] = b[off + 3];
        s.pos = p + 4;
      };
    return (s, b, off, len) => {
      if (len !== 2) throw wrong(len);
      const o = s.buf;
      const p = s.pos;
      o[p] = b[off];
      o[p + 1] = b[off + 1];
      s.pos = p + 2;
    };
  }
  if (t === 'text' || t === 'timestamp') {
    if (!isCharType(f.datatype)) mismatch(f, t);
    if (!shape.variable || shape.slice !== 1) {
      // Fixed and multi-dimensional char (e.g. a one-letter code): the row path's writer,
      // so padding and length checks are the same.
      const w = binaryWriter(f, shape, undefined);
      if (t === 'timestamp')
        return (s, b, off) => {
          const us = b.readInt32BE(off) * 4294967296 + b.readUInt32BE(off + 4);
          w(s, isoFromMillis(PG_EPOCH_MS + Math.floor(us / 1000)));
        };
      return (s, b, off, len) => w(s, b.toString('utf8', off, off + len));
    }
    const unicode = f.datatype === 'unicodeChar';
    const max = shape.maxLast;
    const put = (s: ByteSink, text: string, ascii = false) => {
      if (max !== undefined && text.length > max)
        throw new VOTableEncodeError(
          `column "${name}": ${text.length} characters exceed arraysize ${f.arraysize}`,
        );
      s.ensure(4 + text.length * 2);
      s.dv.setInt32(s.pos, text.length);
      s.pos += 4;
      if (unicode) {
        const n = text.length * 2;
        s.buf.write(text, s.pos, n, 'utf16le');
        s.buf.subarray(s.pos, s.pos + n).swap16();
        s.pos += n;
      } else s.pos += s.buf.write(ascii ? text : text.replace(/[^\x00-\x7f]/g, '?'), s.pos, 'latin1');
    };
    if (t === 'timestamp')
      return (s, b, off) => {
        // Microseconds since 2000-01-01; exact as a double within ±285 years of it.
        const us = b.readInt32BE(off) * 4294967296 + b.readUInt32BE(off + 4);
        const ms = PG_EPOCH_MS + Math.floor(us / 1000);
        s.ensure(4 + 32);
        const n = writeIsoMillis(s.buf, s.pos + 4, ms);
        if (n > 0) {
          if (max !== undefined && n > max)
            throw new VOTableEncodeError(`column "${name}": ${n} characters exceed arraysize ${f.arraysize}`);
          s.dv.setInt32(s.pos, n);
          s.pos += 4 + n;
        } else put(s, isoFromMillis(ms), true);
      };
    return (s, b, off, len) => {
      if (!unicode) {
        if (max !== undefined && len > max)
          throw new VOTableEncodeError(`column "${name}": ${len} characters exceed arraysize ${f.arraysize}`);
        s.ensure(4 + len);
        const o = s.buf;
        const p = s.pos + 4;
        // ASCII text (the usual case) is copied as bytes while it is checked; any byte >= 0x80
        // means UTF-8, whose characters beyond ASCII become '?' (char is ASCII, VOT-17).
        let ascii = true;
        if (len < 64) {
          for (let i = 0; i < len; i++) {
            const c = b[off + i];
            if (c >= 0x80) {
              ascii = false;
              break;
            }
            o[p + i] = c;
          }
        } else {
          for (let i = off; i < off + len; i++)
            if (b[i] >= 0x80) {
              ascii = false;
              break;
            }
          if (ascii) b.copy(o, p, off, off + len);
        }
        if (ascii) {
          o[p - 4] = len >>> 24;
          o[p - 3] = (len >>> 16) & 255;
          o[p - 2] = (len >>> 8) & 255;
          o[p - 1] = len & 255;
          s.pos = p + len;
          return;
        }
      }
      put(s, b.toString('utf8', off, off + len));
    };
  }
  // One-dimensional arrays: header (ndim, hasnull, elemtype, [dim, lbound]) then (len, bytes) per element.
  const elem = t.slice(0, -2);
  if (MATCH[elem] !== f.datatype || shape.scalar || shape.slice !== 1) mismatch(f, t);
  const size = SCALAR_BYTES[elem];
  const isFloat = elem === 'float4' || elem === 'float8';
  const nullItem = magic === undefined ? undefined : Buffer.alloc(size);
  if (nullItem && magic !== undefined) {
    if (size === 8) nullItem.writeBigInt64BE(BigInt(magic));
    else if (size === 4) nullItem.writeInt32BE(Number(magic));
    else nullItem.writeInt16BE(Number(magic));
  }
  return (s, b, off) => {
    const ndim = b.readInt32BE(off);
    if (ndim > 1)
      throw new VOTableEncodeError(`column "${name}": ${ndim}-dimensional arrays are not transcoded`);
    const count = ndim === 0 ? 0 : b.readInt32BE(off + 12);
    if (shape.variable) {
      if (shape.maxLast !== undefined && count > shape.maxLast)
        throw new VOTableEncodeError(`column "${name}": ${count} items exceed arraysize ${f.arraysize}`);
      s.ensure(4 + count * size);
      s.dv.setInt32(s.pos, count);
      s.pos += 4;
    } else {
      if (count !== shape.fixedCount)
        throw new VOTableEncodeError(
          `column "${name}": arraysize ${f.arraysize} needs ${shape.fixedCount} items, got ${count}`,
        );
      s.ensure(count * size);
    }
    let p = off + 20;
    for (let i = 0; i < count; i++) {
      const len = b.readInt32BE(p);
      p += 4;
      if (len < 0) {
        if (nullItem) nullItem.copy(s.buf, s.pos);
        else if (!isFloat)
          throw new VOTableEncodeError(
            `column "${name}": a null element in an integer array needs a nullValue`,
          );
        else if (size === 4) s.dv.setFloat32(s.pos, Number.NaN);
        else s.dv.setFloat64(s.pos, Number.NaN);
      } else b.copy(s.buf, s.pos, p, p + size);
      p += Math.max(len, 0);
      s.pos += size;
    }
  };
}

const SIGNATURE = Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1');

/**
 * Parses PostgreSQL's binary COPY stream into complete tuples and calls `row` for each with
 * the field offsets and lengths (-1 for NULL). Returns false when the trailer was seen.
 */
export class CopyBinaryParser {
  private pending: Buffer = Buffer.alloc(0);
  private headerDone = false;
  done = false;
  stopped = false;
  readonly starts: number[];
  readonly lens: number[];

  constructor(
    private readonly columns: number,
    private readonly maxTupleBytes: number,
  ) {
    this.starts = new Array(columns);
    this.lens = new Array(columns);
  }

  /**
   * Feeds a chunk and calls onTuple(buffer) for every complete tuple (field offsets in
   * `starts`/`lens`) until it returns false, which stops the parse (`stopped` is then set).
   * A callback, not a generator: this runs once per row.
   */
  feed(chunk: Buffer, onTuple: (b: Buffer) => boolean): void {
    let b = this.pending.length ? Buffer.concat([this.pending, chunk]) : chunk;
    let off = 0;
    if (!this.headerDone) {
      if (b.length < 19) {
        this.pending = Buffer.from(b);
        return;
      }
      if (!b.subarray(0, 11).equals(SIGNATURE))
        throw new VOTableEncodeError('not a PostgreSQL binary COPY stream');
      const ext = b.readInt32BE(15);
      if (b.length < 19 + ext) {
        this.pending = Buffer.from(b);
        return;
      }
      off = 19 + ext;
      this.headerDone = true;
    }
    const n = this.columns;
    while (!this.done && !this.stopped && off + 2 <= b.length) {
      const count = b.readInt16BE(off);
      if (count === -1) {
        this.done = true;
        off += 2;
        break;
      }
      if (count !== n) throw new VOTableEncodeError(`COPY tuple has ${count} fields for ${n} FIELDs`);
      let p = off + 2;
      let complete = true;
      for (let i = 0; i < n; i++) {
        if (p + 4 > b.length) {
          complete = false;
          break;
        }
        const len = (b[p] << 24) | (b[p + 1] << 16) | (b[p + 2] << 8) | b[p + 3];
        this.starts[i] = p + 4;
        this.lens[i] = len;
        p += 4 + Math.max(len, 0);
        if (p > b.length) {
          complete = false;
          break;
        }
      }
      if (!complete) {
        if (b.length - off > this.maxTupleBytes)
          throw new VOTableEncodeError(`a COPY tuple exceeds ${this.maxTupleBytes} bytes`);
        break;
      }
      off = p;
      if (!onTuple(b)) {
        this.stopped = true;
        break;
      }
    }
    b = b.subarray(off);
    this.pending = b.length ? Buffer.from(b) : Buffer.alloc(0);
  }
}

/**
 * Writes each tuple of a binary COPY stream as a BINARY2 row (null bitmap, then the cells) or
 * a BINARY row (the cells alone, a null as its placeholder: NaN, the integer's magic value,
 * '?' for a boolean, an empty array or string; VOT-28, VOT-32), as the row path writes them.
 */
export class CopyBinaryTranscoder {
  private readonly parser: CopyBinaryParser;
  private readonly writers: CopyCellWriter[];
  private readonly nulls: Buffer[];
  private readonly rowFixed: number;
  rows = 0;

  private readonly flagBytes: number;

  constructor(
    fields: readonly Field[],
    types: readonly PgBinaryType[],
    maxTupleBytes: number,
    binary2 = true,
  ) {
    const n = fields.length;
    if (types.length !== n) throw new VOTableEncodeError(`${types.length} COPY types for ${n} FIELDs`);
    const shapes = fields.map((f) => fieldShape(f));
    const magic = fields.map((f) => magicNull(f, !binary2));
    this.writers = fields.map((f, i) => copyCellWriter(f, types[i], magic[i]));
    this.nulls = fields.map((f, i) => nullPlaceholder(f, shapes[i], magic[i], binary2));
    this.flagBytes = binary2 ? (n + 7) >> 3 : 0;
    this.rowFixed = fields.reduce((t, f, i) => t + (fixedBytes(f, shapes[i]) ?? 4), 0);
    this.parser = new CopyBinaryParser(n, maxTupleBytes);
  }

  /** Writes the complete tuples of `chunk`, at most `limit` rows in all; true when a tuple beyond the limit was seen. */
  feed(chunk: Buffer, sink: ByteSink, limit: number): boolean {
    const { starts, lens } = this.parser;
    const n = this.writers.length;
    const flagBytes = this.flagBytes;
    const writers = this.writers;
    const nulls = this.nulls;
    let overflow = false;
    let failure: unknown;
    this.parser.feed(chunk, (b) => {
      if (this.rows >= limit) {
        overflow = true;
        return false;
      }
      const start = sink.pos;
      // Room for the whole row up front: the fixed-size writers do not check, and a variable
      // cell before them only makes room for itself. No cell takes more than 4 times its COPY
      // bytes (UTF-8 to UTF-16, an 8-byte timestamp to its ISO text).
      const last = n - 1;
      sink.ensure(flagBytes + this.rowFixed + 4 * (starts[last] + Math.max(lens[last], 0) - starts[0]));
      const buf = sink.buf;
      for (let k = 0; k < flagBytes; k++) buf[start + k] = 0;
      sink.pos += flagBytes;
      try {
        for (let i = 0; i < n; i++) {
          const len = lens[i];
          if (len < 0) {
            if (flagBytes) sink.buf[start + (i >> 3)] |= 0x80 >> (i & 7);
            const z = nulls[i];
            for (let k = 0; k < z.length; k++) sink.buf[sink.pos + k] = z[k];
            sink.pos += z.length;
          } else writers[i](sink, b, starts[i], len);
        }
      } catch (err) {
        sink.pos = start;
        failure = err;
        return false;
      }
      this.rows++;
      return true;
    });
    if (failure !== undefined) throw failure;
    return overflow;
  }

  /** Throws when the stream ended before PostgreSQL's trailer. */
  end(): void {
    if (!this.parser.done && !this.parser.stopped)
      throw new VOTableEncodeError('the COPY stream ended before its trailer (truncated)');
  }
}
