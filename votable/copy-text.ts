import { fieldShape, isCharType } from './arraysize.js';
import { magicNull, tabledataNull, textFormatter } from './cells.js';
import { VOTableEncodeError } from './errors.js';
import { csvField, tsvField } from './quoting.js';
import { errorMessage } from './rows.js';
import type { ByteSink } from './sink.js';
import type { Field } from './types.js';
import { escapeText } from './xml.js';

/**
 * PostgreSQL's text COPY (`COPY (query) TO STDOUT`) turned into TABLEDATA, CSV or TSV rows
 * without building a JavaScript value per cell: PostgreSQL has already written every number
 * as the shortest text that reads back exactly (extra_float_digits >= 1), which is the
 * TABLEDATA literal (VOT-17, VOT-24) the CSV and TSV encoders write too, so most cells are
 * copied byte for byte. That formatting runs in the PostgreSQL backend, on another core,
 * which is why this beats any encoder that receives parsed rows.
 */

/** Turns one cell's text (COPY escapes already undone) into the value the row encoders take. */
export type CopyTextParser = (text: string) => unknown;

/** Writes the content of one non-null cell b[s, e) (the dialect writes what surrounds it). */
export type CellWriter = (sink: ByteSink, b: Buffer, s: number, e: number) => void;

/** What a row and a cell look like in one output format. */
export interface TextDialect {
  readonly rowStart: Buffer;
  readonly rowEnd: Buffer;
  readonly cellStart: Buffer;
  readonly cellEnd: Buffer;
  readonly separator: Buffer;
  /** Bytes after which a char cell cannot be copied as it is (escapes, quoting). */
  readonly slowText: Uint8Array;
  /** A char cell's text as the dialect writes it. */
  text(s: string): string;
  /** A null cell's content. */
  nullContent(f: Field): string;
  /** Written between two rows (before every row but the first). */
  readonly rowSeparator?: Buffer;
  /** Written before and after a char cell copied as it is (JSON's string quotes). */
  readonly textQuote?: Buffer;
  /**
   * The dialect's own writer for a cell, where its text differs from TABLEDATA's (JSON's
   * numbers and booleans); undefined for the default.
   */
  writer?(f: Field, pgType: string, parse: CopyTextParser | undefined): CellWriter | undefined;
}

const bytes = (s: string) => Buffer.from(s, 'latin1');
const NOTHING = Buffer.alloc(0);
const POS_INF = bytes('+Inf');
const NEG_INF = bytes('-Inf');

// COPY's backslash escapes always need the slow path (they are undone there).
function slowBytes(extra: number[]): Uint8Array {
  const t = new Uint8Array(256);
  t[0x5c] = 1;
  for (const c of extra) t[c] = 1;
  return t;
}

const C0 = Array.from({ length: 0x20 }, (_, i) => i);

/**
 * TABLEDATA: XML specials, C0 controls (not allowed in XML 1.0) and 0xEF, the lead byte of
 * U+FFFE/U+FFFF, go through escapeText.
 */
export const TABLEDATA_DIALECT: TextDialect = {
  rowStart: bytes('<TR>'),
  rowEnd: bytes('</TR>\n'),
  cellStart: bytes('<TD>'),
  cellEnd: bytes('</TD>'),
  separator: NOTHING,
  slowText: slowBytes([...C0, 0x26, 0x3c, 0x3e, 0xef]),
  text: escapeText,
  nullContent: (f) => tabledataNull(f, fieldShape(f), magicNull(f, false)),
};

/** CSV (RFC 4180): a cell with a comma, quote or line break is quoted, quotes doubled. */
export const CSV_DIALECT: TextDialect = {
  rowStart: NOTHING,
  rowEnd: bytes('\r\n'),
  cellStart: NOTHING,
  cellEnd: NOTHING,
  separator: bytes(','),
  slowText: slowBytes([0x22, 0x2c, 0x0a, 0x0d]),
  text: csvField,
  nullContent: () => '',
};

/** TSV cannot hold tabs or line breaks in a field: they are escaped, as COPY escapes them. */
export const TSV_DIALECT: TextDialect = {
  rowStart: NOTHING,
  rowEnd: bytes('\r\n'),
  cellStart: NOTHING,
  cellEnd: NOTHING,
  separator: bytes('\t'),
  slowText: slowBytes([0x09, 0x0a, 0x0d]),
  text: tsvField,
  nullContent: () => '',
};

/** Writes src[s, e) (all of it by default); byte loops, as Buffer#copy costs more than a few bytes. */
function put(sink: ByteSink, src: Buffer, s = 0, e = src.length): void {
  const n = e - s;
  if (sink.pos + n > sink.buf.length) sink.ensure(n);
  const o = sink.buf;
  let p = sink.pos;
  if (n < 32) for (let k = s; k < e; k++) o[p++] = src[k];
  else {
    src.copy(o, p, s, e);
    p += n;
  }
  sink.pos = p;
}

/** COPY text escapes (\\, \t, \n, \r, \b, \f, \v, octal, \x hex) undone. */
export function unescapeCopyText(b: Buffer, s: number, e: number): string {
  const raw = b.toString('utf8', s, e);
  if (!raw.includes('\\')) return raw;
  return raw.replace(/\\(x[0-9a-fA-F]{1,2}|[0-7]{1,3}|.)/gs, (_m, x: string) => {
    switch (x) {
      case 'b':
        return '\b';
      case 'f':
        return '\f';
      case 'n':
        return '\n';
      case 'r':
        return '\r';
      case 't':
        return '\t';
      case 'v':
        return '\v';
      default:
        if (x[0] === 'x' && x.length > 1) return String.fromCharCode(Number.parseInt(x.slice(1), 16));
        if (/^[0-7]+$/.test(x)) return String.fromCharCode(Number.parseInt(x, 8));
        return x;
    }
  });
}

/** The cell as the row encoders write it, from a parsed value: the fallback for every other type. */
function genericWriter(
  f: Field,
  parse: CopyTextParser | undefined,
  pgType: string,
  dialect: TextDialect,
): CellWriter {
  if (!parse)
    throw new VOTableEncodeError(
      `column "${f.name}": no parser for PostgreSQL type ${pgType} in a text COPY stream`,
    );
  const fmt = textFormatter(f, fieldShape(f), magicNull(f, false));
  const quoted = isCharType(f.datatype);
  return (sink, b, s, e) => {
    let t: string;
    try {
      t = fmt(parse(unescapeCopyText(b, s, e)));
    } catch (err) {
      throw err instanceof VOTableEncodeError
        ? err
        : new VOTableEncodeError(`column "${f.name}": ${errorMessage(err)}`);
    }
    sink.utf8(quoted ? dialect.text(t) : t);
  };
}

export const verbatim: CellWriter = (sink, b, s, e) => {
  sink.ensure(e - s);
  const o = sink.buf;
  let p = sink.pos;
  for (let k = s; k < e; k++) o[p++] = b[k];
  sink.pos = p;
};

// PostgreSQL writes Infinity, -Infinity and NaN; TABLEDATA spells them +Inf, -Inf, NaN (VOT-24).
const floating: CellWriter = (sink, b, s, e) => {
  const c = b[s];
  if (c === 73 /* I */) put(sink, POS_INF);
  else if (c === 45 /* - */ && b[s + 1] === 73) put(sink, NEG_INF);
  else verbatim(sink, b, s, e);
};

const boolean: CellWriter = (sink, b, s) => {
  sink.ensure(1);
  sink.buf[sink.pos++] = b[s] === 116 /* t */ ? 84 : 70;
};

function textWriter(dialect: TextDialect): CellWriter {
  const slow = dialect.slowText;
  return (sink, b, s, e) => {
    for (let k = s; k < e; k++)
      if (slow[b[k]]) {
        sink.utf8(dialect.text(unescapeCopyText(b, s, e)));
        return;
      }
    if (e - s < 32) verbatim(sink, b, s, e);
    else put(sink, b, s, e);
  };
}

const isDigit = (c: number) => c >= 48 && c <= 57;

/**
 * 'YYYY-MM-DD HH:MM:SS[.ffffff][+00]' (DateStyle ISO, TimeZone UTC) as a DALI timestamp:
 * the same text the row path writes (whole seconds bare, else milliseconds, truncated as the
 * binary path truncates microseconds). Other shapes (BC, infinity, years past 9999, other
 * zones) go to the fallback.
 */
export function timestampWriter(fallback: CellWriter): CellWriter {
  return (sink, b, s, e) => {
    if (e - s < 19 || b[s + 4] !== 45 || b[s + 10] !== 32 || b[s + 13] !== 58) {
      fallback(sink, b, s, e);
      return;
    }
    let q = s + 19;
    let f = 0;
    let frac = 0;
    if (q < e && b[q] === 46) {
      q++;
      while (q < e && isDigit(b[q])) {
        if (f < 3) frac = frac * 10 + (b[q] - 48);
        f++;
        q++;
      }
      for (let k = f; k < 3; k++) frac *= 10;
    }
    // A zone suffix other than UTC's +00 means the session was not in UTC: let the fallback convert.
    if (q !== e && !(e - q === 3 && b[q] === 43 && b[q + 1] === 48 && b[q + 2] === 48)) {
      fallback(sink, b, s, e);
      return;
    }
    sink.ensure(24);
    const o = sink.buf;
    let p = sink.pos;
    for (let k = s; k < s + 10; k++) o[p++] = b[k];
    o[p++] = 84; // T
    for (let k = s + 11; k < s + 19; k++) o[p++] = b[k];
    if (frac > 0) {
      o[p++] = 46;
      o[p++] = 48 + Math.floor(frac / 100);
      o[p++] = 48 + (Math.floor(frac / 10) % 10);
      o[p++] = 48 + (frac % 10);
    }
    sink.pos = p;
  };
}

// Which PostgreSQL integer text fits which VOTable datatype without a range check.
const INT_FITS: Record<string, readonly string[]> = {
  int2: ['short', 'int', 'long', 'float', 'double'],
  int4: ['int', 'long', 'double'],
  int8: ['long', 'double'],
};

// Cells the transcoder copies itself: integers, and floats other than (-)Infinity.
const PLAIN = 1;
const FLOAT = 2;
const TEXT = 3;
const DECIMAL = 4;

/**
 * Writers of a dialect's own (TextDialect.writer) whose cells the transcoder may copy itself
 * while they are in plain decimal notation (digits, sign, point); the writer takes the rest.
 */
const decimalWriters = new WeakSet<CellWriter>();
export function copiesPlainDecimals(w: CellWriter): CellWriter {
  decimalWriters.add(w);
  return w;
}

function cellWriter(
  f: Field,
  pgType: string,
  parse: CopyTextParser | undefined,
  dialect: TextDialect,
): CellWriter {
  const shape = fieldShape(f);
  const dt = f.datatype;
  const own = dialect.writer?.(f, pgType, parse);
  if (own) return own;
  const generic = () => genericWriter(f, parse, pgType, dialect);
  if (shape.scalar) {
    if (INT_FITS[pgType]?.includes(dt)) return verbatim;
    if (
      (pgType === 'float4' && (dt === 'float' || dt === 'double')) ||
      (pgType === 'float8' && dt === 'double')
    )
      return floating;
    if (pgType === 'bool' && dt === 'boolean') return boolean;
  }
  if (isCharType(dt) && shape.slice === 1) {
    if (pgType === 'text') return textWriter(dialect);
    if (pgType === 'timestamp' || pgType === 'timestamptz') return timestampWriter(generic());
  }
  return generic();
}

/**
 * Parses a text COPY stream line by line (every row ends in a newline; newlines inside
 * values are escaped) and writes each as a row of the dialect.
 */
export class CopyTextTranscoder {
  private pending: Buffer | undefined;
  private readonly writers: CellWriter[];
  private readonly nullCells: Buffer[];
  private readonly names: string[];
  private readonly joints: { open: Buffer; between: Buffer; close: Buffer };
  private readonly kinds: Uint8Array;
  rows = 0;

  constructor(
    fields: readonly Field[],
    types: readonly string[],
    parsers: readonly (CopyTextParser | undefined)[] | undefined,
    private readonly maxLineBytes: number,
    private readonly dialect: TextDialect = TABLEDATA_DIALECT,
  ) {
    if (types.length !== fields.length)
      throw new VOTableEncodeError(`${types.length} COPY types for ${fields.length} FIELDs`);
    this.writers = fields.map((f, i) => cellWriter(f, types[i], parsers?.[i], dialect));
    this.kinds = Uint8Array.from(fields, (f, i) => {
      const w = this.writers[i];
      if (w === verbatim) return PLAIN;
      if (w === floating) return FLOAT;
      if (decimalWriters.has(w)) return DECIMAL;
      return types[i] === 'text' && isCharType(f.datatype) && fieldShape(f).slice === 1 ? TEXT : 0;
    });
    this.nullCells = fields.map((f) => Buffer.from(dialect.nullContent(f), 'latin1'));
    this.names = fields.map((f) => f.name);
    const d = dialect;
    this.joints = {
      open: Buffer.concat([d.rowStart, d.cellStart]),
      between: Buffer.concat([d.cellEnd, d.separator, d.cellStart]),
      close: Buffer.concat([d.cellEnd, d.rowEnd]),
    };
  }

  /**
   * Writes the complete lines of `chunk` (after any partial line kept from the last call),
   * at most `limit` rows; returns whether it stopped at the limit with a line left over.
   */
  feed(chunk: Buffer, sink: ByteSink, limit: number): boolean {
    let b = chunk;
    if (this.pending) {
      b = Buffer.concat([this.pending, chunk]);
      this.pending = undefined;
    }
    const n = this.writers.length;
    const writers = this.writers;
    const nulls = this.nullCells;
    const kinds = this.kinds;
    const slow = this.dialect.slowText;
    // One write between cells ("</TD><TD>", ","), one before the first and after the last.
    const { open, between, close } = this.joints;
    const rowSep = this.dialect.rowSeparator ?? NOTHING;
    const quote = this.dialect.textQuote ?? NOTHING;
    const fixed =
      rowSep.length + open.length + close.length + (n - 1) * between.length + n * 2 * quote.length;
    let p = 0;
    for (;;) {
      const nl = b.indexOf(10, p);
      if (nl < 0) break;
      if (this.rows >= limit) return true;
      const start = sink.pos;
      // Room for the whole row when its cells are copied (a writer that expands ensures more).
      sink.ensure(nl - p + fixed);
      let o = sink.buf;
      let q = sink.pos;
      if (this.rows > 0) for (let k = 0; k < rowSep.length; k++) o[q++] = rowSep[k];
      for (let k = 0; k < open.length; k++) o[q++] = open[k];
      let s = p;
      try {
        for (let i = 0; i < n; i++) {
          if (i > 0) {
            if (s >= nl || b[s] !== 9)
              throw new VOTableEncodeError(`a COPY line has ${i} fields for ${n} FIELDs`);
            s++;
            for (let k = 0; k < between.length; k++) o[q++] = between[k];
          }
          const kind = kinds[i];
          const c0 = b[s];
          if (c0 === 92 && b[s + 1] === 78 && (s + 2 === nl || b[s + 2] === 9)) {
            const z = nulls[i];
            for (let k = 0; k < z.length; k++) o[q++] = z[k];
            s += 2;
          } else if (kind === PLAIN || (kind === FLOAT && c0 !== 73 && b[s + 1] !== 73)) {
            // Numbers, most cells: scanned and copied in one pass, here rather than through
            // a (megamorphic) writer call.
            let c = c0;
            while (s < nl && c !== 9) {
              o[q++] = c;
              c = b[++s];
            }
          } else {
            let copied = false;
            if (kind === TEXT) {
              // Ordinary text is copied as it is scanned; a byte that needs escaping sends the
              // cell back to its writer, from its start.
              const q0 = q;
              const s0 = s;
              for (let k = 0; k < quote.length; k++) o[q++] = quote[k];
              let c = c0;
              while (s < nl && c !== 9 && slow[c] === 0) {
                o[q++] = c;
                c = b[++s];
              }
              copied = s === nl || c === 9;
              if (copied) for (let k = 0; k < quote.length; k++) o[q++] = quote[k];
              if (!copied) {
                q = q0;
                s = s0;
              }
            } else if (kind === DECIMAL) {
              // A number in plain decimal notation is copied; an exponent, NaN, Infinity or
              // -0 sends it back to its writer.
              const q0 = q;
              const s0 = s;
              let c = c0;
              while (s < nl && c !== 9 && c !== 101 && c !== 69 && c !== 73 && c !== 78) {
                o[q++] = c;
                c = b[++s];
              }
              copied = (s === nl || c === 9) && !(s - s0 === 2 && c0 === 45 && b[s0 + 1] === 48);
              if (!copied) {
                q = q0;
                s = s0;
              }
            }
            if (!copied) {
              let e = s;
              while (e < nl && b[e] !== 9) e++;
              sink.pos = q;
              writers[i](sink, b, s, e);
              // The writer may have grown the buffer: make room for the rest of the row again.
              sink.ensure(nl - e + fixed);
              o = sink.buf;
              q = sink.pos;
              s = e;
            }
          }
        }
        if (s !== nl) throw new VOTableEncodeError(`a COPY line has more than ${n} fields`);
      } catch (err) {
        sink.pos = start;
        throw err instanceof VOTableEncodeError
          ? err
          : new VOTableEncodeError(`row ${this.rows + 1}: ${errorMessage(err)}`);
      }
      for (let k = 0; k < close.length; k++) o[q++] = close[k];
      sink.pos = q;
      this.rows++;
      p = nl + 1;
    }
    if (p < b.length) {
      if (b.length - p > this.maxLineBytes)
        throw new VOTableEncodeError(`a COPY line exceeds ${this.maxLineBytes} bytes`);
      this.pending = Buffer.from(b.subarray(p));
    }
    return false;
  }

  /** Throws when the stream ended inside a line. */
  end(): void {
    if (this.pending?.length)
      throw new VOTableEncodeError(
        `the COPY stream ended inside a row (truncated) after ${this.rows} rows (${this.names.length} columns)`,
      );
  }
}
