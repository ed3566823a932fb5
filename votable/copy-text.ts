import { fieldShape, isCharType } from './arraysize.js';
import { magicNull, tabledataNull, textFormatter } from './cells.js';
import { VOTableEncodeError } from './errors.js';
import { errorMessage } from './rows.js';
import type { ByteSink } from './sink.js';
import type { Field } from './types.js';
import { escapeText } from './xml.js';

/**
 * PostgreSQL's text COPY (`COPY (query) TO STDOUT`) turned into TABLEDATA rows without
 * building a JavaScript value per cell: PostgreSQL has already written every number as the
 * shortest text that reads back exactly (extra_float_digits >= 1), which is what TABLEDATA
 * wants, so most cells are copied byte for byte between <TD> and </TD>. That formatting
 * runs in the PostgreSQL backend, on another core, which is why this beats any encoder that
 * receives parsed rows (VOT-17, VOT-24).
 */

/** Turns one cell's text (COPY escapes already undone) into the value the row encoders take. */
export type CopyTextParser = (text: string) => unknown;

/** Writes one non-null cell b[s, e) as a complete <TD> element. */
type TdWriter = (sink: ByteSink, b: Buffer, s: number, e: number) => void;

const TD = Buffer.from('<TD>', 'latin1');
const TD_END = Buffer.from('</TD>', 'latin1');
const TD_EMPTY = Buffer.from('<TD/>', 'latin1');
const TR = Buffer.from('<TR>', 'latin1');
const TR_END = Buffer.from('</TR>\n', 'latin1');
const POS_INF = Buffer.from('+Inf', 'latin1');
const NEG_INF = Buffer.from('-Inf', 'latin1');

// Bytes a char cell cannot be copied with: XML specials, COPY's backslash escapes, C0
// controls (not allowed in XML 1.0), and 0xEF, the lead byte of U+FFFE/U+FFFF.
const SLOW_TEXT = new Uint8Array(256);
for (let c = 0; c < 0x20; c++) SLOW_TEXT[c] = 1;
for (const c of [0x26, 0x3c, 0x3e, 0x5c, 0xef]) SLOW_TEXT[c] = 1;

function put(sink: ByteSink, src: Buffer, s = 0, e = src.length): void {
  const n = e - s;
  sink.ensure(n);
  const o = sink.buf;
  let p = sink.pos;
  // Byte loops: Buffer#copy costs more than the copy itself for a few bytes.
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

/** TABLEDATA from a value, as the row encoder writes it: the fallback for every other type. */
function genericWriter(f: Field, parse: CopyTextParser | undefined, pgType: string): TdWriter {
  if (!parse)
    throw new VOTableEncodeError(
      `column "${f.name}": no parser for PostgreSQL type ${pgType} in a text COPY stream`,
    );
  const fmt = textFormatter(f, fieldShape(f), magicNull(f, false));
  const xmlText = isCharType(f.datatype);
  return (sink, b, s, e) => {
    let t: string;
    try {
      t = fmt(parse(unescapeCopyText(b, s, e)));
    } catch (err) {
      throw err instanceof VOTableEncodeError
        ? err
        : new VOTableEncodeError(`column "${f.name}": ${errorMessage(err)}`);
    }
    if (t === '') put(sink, TD_EMPTY);
    else sink.utf8(`<TD>${xmlText ? escapeText(t) : t}</TD>`);
  };
}

const verbatim: TdWriter = (sink, b, s, e) => {
  sink.ensure(e - s + 9);
  const o = sink.buf;
  let p = sink.pos;
  o[p++] = 60; // <TD>
  o[p++] = 84;
  o[p++] = 68;
  o[p++] = 62;
  for (let k = s; k < e; k++) o[p++] = b[k];
  o[p++] = 60; // </TD>
  o[p++] = 47;
  o[p++] = 84;
  o[p++] = 68;
  o[p++] = 62;
  sink.pos = p;
};

// PostgreSQL writes Infinity, -Infinity and NaN; TABLEDATA spells them +Inf, -Inf, NaN (VOT-24).
const floating: TdWriter = (sink, b, s, e) => {
  const c = b[s];
  if (c === 73 /* I */) {
    put(sink, TD);
    put(sink, POS_INF);
    put(sink, TD_END);
  } else if (c === 45 /* - */ && b[s + 1] === 73) {
    put(sink, TD);
    put(sink, NEG_INF);
    put(sink, TD_END);
  } else verbatim(sink, b, s, e);
};

const boolean: TdWriter = (sink, b, s) => {
  sink.ensure(10);
  const o = sink.buf;
  let p = sink.pos;
  o[p++] = 60;
  o[p++] = 84;
  o[p++] = 68;
  o[p++] = 62;
  o[p++] = b[s] === 116 /* t */ ? 84 : 70;
  o[p++] = 60;
  o[p++] = 47;
  o[p++] = 84;
  o[p++] = 68;
  o[p++] = 62;
  sink.pos = p;
};

const text: TdWriter = (sink, b, s, e) => {
  if (s === e) {
    put(sink, TD_EMPTY);
    return;
  }
  for (let k = s; k < e; k++)
    if (SLOW_TEXT[b[k]]) {
      sink.utf8(`<TD>${escapeText(unescapeCopyText(b, s, e))}</TD>`);
      return;
    }
  verbatim(sink, b, s, e);
};

const isDigit = (c: number) => c >= 48 && c <= 57;

/**
 * 'YYYY-MM-DD HH:MM:SS[.ffffff][+00]' (DateStyle ISO, TimeZone UTC) as a DALI timestamp:
 * the same text the row path writes (whole seconds bare, else milliseconds, truncated as the
 * binary path truncates microseconds). Other shapes (BC, infinity, years past 9999, other
 * zones) go to the fallback.
 */
function timestampWriter(fallback: TdWriter): TdWriter {
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
    sink.ensure(36);
    const o = sink.buf;
    let p = sink.pos;
    o[p++] = 60;
    o[p++] = 84;
    o[p++] = 68;
    o[p++] = 62;
    for (let k = s; k < s + 10; k++) o[p++] = b[k];
    o[p++] = 84; // T
    for (let k = s + 11; k < s + 19; k++) o[p++] = b[k];
    if (frac > 0) {
      o[p++] = 46;
      o[p++] = 48 + Math.floor(frac / 100);
      o[p++] = 48 + (Math.floor(frac / 10) % 10);
      o[p++] = 48 + (frac % 10);
    }
    o[p++] = 60;
    o[p++] = 47;
    o[p++] = 84;
    o[p++] = 68;
    o[p++] = 62;
    sink.pos = p;
  };
}

// Which PostgreSQL integer text fits which VOTable datatype without a range check.
const INT_FITS: Record<string, readonly string[]> = {
  int2: ['short', 'int', 'long', 'float', 'double'],
  int4: ['int', 'long', 'double'],
  int8: ['long', 'double'],
};

function tdWriter(f: Field, pgType: string, parse: CopyTextParser | undefined): TdWriter {
  const shape = fieldShape(f);
  const dt = f.datatype;
  const generic = () => genericWriter(f, parse, pgType);
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
    if (pgType === 'text') return text;
    if (pgType === 'timestamp' || pgType === 'timestamptz') return timestampWriter(generic());
  }
  return generic();
}

/**
 * Parses a text COPY stream line by line (every row ends in a newline; newlines inside
 * values are escaped) and writes each as a TABLEDATA <TR>.
 */
export class CopyTextTranscoder {
  private pending: Buffer | undefined;
  private readonly writers: TdWriter[];
  private readonly nullCells: Buffer[];
  private readonly names: string[];
  rows = 0;

  constructor(
    fields: readonly Field[],
    types: readonly string[],
    parsers: readonly (CopyTextParser | undefined)[] | undefined,
    private readonly maxLineBytes: number,
  ) {
    if (types.length !== fields.length)
      throw new VOTableEncodeError(`${types.length} COPY types for ${fields.length} FIELDs`);
    this.writers = fields.map((f, i) => tdWriter(f, types[i], parsers?.[i]));
    this.nullCells = fields.map((f) => {
      const t = tabledataNull(f, fieldShape(f), magicNull(f, false));
      return Buffer.from(t === '' ? '<TD/>' : `<TD>${t}</TD>`, 'latin1');
    });
    this.names = fields.map((f) => f.name);
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
    let p = 0;
    for (;;) {
      const nl = b.indexOf(10, p);
      if (nl < 0) break;
      if (this.rows >= limit) return true;
      const start = sink.pos;
      put(sink, TR);
      let s = p;
      try {
        for (let i = 0; i < n; i++) {
          let e = s;
          while (e < nl && b[e] !== 9) e++;
          if (e === nl && i < n - 1)
            throw new VOTableEncodeError(`a COPY line has ${i + 1} fields for ${n} FIELDs`);
          if (e - s === 2 && b[s] === 92 && b[s + 1] === 78) put(sink, this.nullCells[i]);
          else writers[i](sink, b, s, e);
          s = e + 1;
        }
        if (s !== nl + 1) throw new VOTableEncodeError(`a COPY line has more than ${n} fields`);
      } catch (err) {
        sink.pos = start;
        throw err instanceof VOTableEncodeError
          ? err
          : new VOTableEncodeError(`row ${this.rows + 1}: ${errorMessage(err)}`);
      }
      put(sink, TR_END);
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
