import { fieldShape, isCharType } from './arraysize.js';
import { VOTableEncodeError } from './errors.js';
import type { ByteSink } from './sink.js';
import type { Field } from './types.js';
import { isoFromMillis } from './values.js';

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

export function copyCellWriter(f: Field, t: PgBinaryType): CopyCellWriter {
  const shape = fieldShape(f);
  const name = f.name;
  if (t in SCALAR_BYTES) {
    if (MATCH[t] !== f.datatype || !shape.scalar) mismatch(f, t);
    const n = SCALAR_BYTES[t];
    if (t === 'bool')
      return (s, b, off) => {
        s.buf[s.pos++] = b[off] ? 84 : 70;
      };
    // Byte loops: Buffer#copy costs more than the copy itself for 2..8 bytes.
    return (s, b, off, len) => {
      if (len !== n) throw new VOTableEncodeError(`column "${name}": COPY gave ${len} bytes for a ${t}`);
      const o = s.buf;
      const p = s.pos;
      for (let k = 0; k < n; k++) o[p + k] = b[off + k];
      s.pos = p + n;
    };
  }
  if (t === 'text' || t === 'timestamp') {
    if (!isCharType(f.datatype) || !shape.variable || shape.slice !== 1) mismatch(f, t);
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
        put(s, isoFromMillis(PG_EPOCH_MS + Math.floor(us / 1000)), true);
      };
    return (s, b, off, len) => {
      if (!unicode) {
        // ASCII text (the usual case) is copied as bytes; any byte >= 0x80 means UTF-8 to replace.
        let ascii = true;
        for (let i = off; i < off + len; i++)
          if (b[i] >= 0x80) {
            ascii = false;
            break;
          }
        if (ascii) {
          if (max !== undefined && len > max)
            throw new VOTableEncodeError(
              `column "${name}": ${len} characters exceed arraysize ${f.arraysize}`,
            );
          s.ensure(4 + len);
          s.dv.setInt32(s.pos, len);
          b.copy(s.buf, s.pos + 4, off, off + len);
          s.pos += 4 + len;
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
        if (!isFloat) throw new VOTableEncodeError(`column "${name}": a null element in an integer array`);
        if (size === 4) s.dv.setFloat32(s.pos, Number.NaN);
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
        const len = b.readInt32BE(p);
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
