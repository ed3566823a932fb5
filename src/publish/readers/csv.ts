/**
 * CSV (RFC 4180: header row, "-quoted fields with "" escapes, CRLF or LF line ends) and TSV
 * (IANA text/tab-separated-values: no quoting; the \t \n \r \\ escapes vonode's own TSV
 * output uses are undone). Column types are inferred from a sample of the first rows
 * (long, double, boolean, else char); an empty cell is null; a later cell that does not fit
 * the inferred type is a DataFileError naming the row and column. `opts.types` overrides the
 * inference per column (the loader passes the description's datatypes).
 */
import { isAscii } from 'node:buffer';
import type { Datatype } from '../../../votable/index.js';
import {
  DataFileError,
  type DataSource,
  type SourceBatch,
  type SourceColumn,
  type TextRowBatch,
} from '../source.js';
import { type FileBytes, openFileBytes } from './bytes.js';
import { fastDecimal, fastInteger } from './decimal.js';

export interface DelimitedOptions {
  /** Rows read to infer the column types (default 1000). */
  sampleRows?: number;
  /** Rows per batch (default 10,000). */
  batchRows?: number;
  /** Datatype per column name, instead of the inferred one. */
  types?: Readonly<Record<string, Datatype>>;
  /** Longest accepted cell or line, in characters (default 16 MiB): a file with no line breaks fails fast. */
  maxLineLength?: number;
  /**
   * Numeric cells are handed out as their checked text (trimmed; infinities as `Infinity` /
   * `-Infinity`, NaN as null) instead of number/bigint: for a consumer that writes them as
   * text again (COPY), which then neither parses nor formats them.
   */
  numbersAsText?: boolean;
  /** The bytes to read instead of the file at `path` (a request body: streamFileBytes). */
  bytes?: FileBytes;
}

const INT_RE = /^[+-]?[0-9]+$/;
const FLOAT_RE = /^[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?$/;
const NAN_INF = new Map<string, number>([
  ['NaN', Number.NaN],
  ['nan', Number.NaN],
  ['NAN', Number.NaN],
  ['Inf', Number.POSITIVE_INFINITY],
  ['+Inf', Number.POSITIVE_INFINITY],
  ['inf', Number.POSITIVE_INFINITY],
  ['+inf', Number.POSITIVE_INFINITY],
  ['Infinity', Number.POSITIVE_INFINITY],
  ['+Infinity', Number.POSITIVE_INFINITY],
  ['-Inf', Number.NEGATIVE_INFINITY],
  ['-inf', Number.NEGATIVE_INFINITY],
  ['-Infinity', Number.NEGATIVE_INFINITY],
]);
const TRUE = new Set(['true', 'True', 'TRUE', 't', 'T']);
const FALSE = new Set(['false', 'False', 'FALSE', 'f', 'F']);
const LONG_MIN = -(2n ** 63n);
const LONG_MAX = 2n ** 63n - 1n;

/** Converts a non-empty cell; throws a message (without the row) when the text does not fit. */
type Convert = (t: string) => unknown;

class CellError extends Error {}

function isLong(t: string): boolean {
  if (!INT_RE.test(t)) return false;
  if (t.length < 19) return true;
  const b = BigInt(t);
  return b >= LONG_MIN && b <= LONG_MAX;
}

function isDouble(t: string): boolean {
  return FLOAT_RE.test(t) || NAN_INF.has(t);
}

/** The narrowest of boolean, long, double, char that every non-empty sample cell fits. */
export function inferDatatype(cells: readonly string[]): Datatype {
  let bool = true;
  let long = true;
  let dbl = true;
  let any = false;
  for (const raw of cells) {
    const t = raw.trim();
    if (t === '') continue;
    any = true;
    if (bool && !TRUE.has(t) && !FALSE.has(t)) bool = false;
    if (long && !isLong(t)) long = false;
    if (dbl && !long && !isDouble(t)) dbl = false;
    if (!bool && !dbl) return 'char';
  }
  if (!any) return 'char';
  if (bool) return 'boolean';
  if (long) return 'long';
  return 'double';
}

const trimmed = (t: string) =>
  t.charCodeAt(0) === 32 || t.charCodeAt(t.length - 1) === 32 || t.charCodeAt(0) === 9 ? t.trim() : t;

/** As converter, but numbers stay text once checked (DelimitedOptions.numbersAsText). */
function textConverter(datatype: Datatype): Convert {
  const checked = converter(datatype);
  switch (datatype) {
    case 'long':
      return (t) => {
        // Up to 18 digits cannot leave the long range: checked by a scan, no BigInt made.
        const len = t.length;
        if (len <= 18) {
          let i = t.charCodeAt(0) === 45 || t.charCodeAt(0) === 43 ? 1 : 0;
          if (i < len) {
            for (; i < len; i++) {
              const c = t.charCodeAt(i) - 48;
              if (c < 0 || c > 9) break;
            }
            if (i === len) return t;
          }
        }
        return String(checked(t));
      };
    case 'unsignedByte':
    case 'short':
    case 'int':
      return (t) => {
        checked(t);
        return trimmed(t);
      };
    case 'float':
    case 'double':
      return (t) => {
        const v = checked(t) as number | null;
        if (v === null) return null;
        if (v === Number.POSITIVE_INFINITY) return 'Infinity';
        if (v === Number.NEGATIVE_INFINITY) return '-Infinity';
        return trimmed(t);
      };
    default:
      return checked;
  }
}

function converter(datatype: Datatype): Convert {
  switch (datatype) {
    case 'boolean':
    case 'bit':
      return (t) => {
        const s = t.trim();
        if (TRUE.has(s) || s === '1') return true;
        if (FALSE.has(s) || s === '0') return false;
        throw new CellError(`"${s.slice(0, 40)}" is not a boolean`);
      };
    case 'long':
      return (t) => {
        // Digits only (the usual case) are read without a regex; anything else takes the slow path.
        const len = t.length;
        if (len <= 15) {
          let i = 0;
          let c = t.charCodeAt(0);
          const neg = c === 45;
          if (neg || c === 43) i = 1;
          if (i < len) {
            let v = 0;
            for (; i < len; i++) {
              c = t.charCodeAt(i) - 48;
              if (c < 0 || c > 9) break;
              v = v * 10 + c;
            }
            if (i === len) return BigInt(neg ? -v : v);
          }
        }
        const s = t.trim();
        if (!INT_RE.test(s)) throw new CellError(`"${s.slice(0, 40)}" is not a long`);
        const b = BigInt(s);
        if (b < LONG_MIN || b > LONG_MAX) throw new CellError(`${s} is out of range for long`);
        return b;
      };
    case 'unsignedByte':
    case 'short':
    case 'int': {
      const [lo, hi] =
        datatype === 'unsignedByte'
          ? [0, 255]
          : datatype === 'short'
            ? [-32768, 32767]
            : [-(2 ** 31), 2 ** 31 - 1];
      return (t) => {
        const s = t.trim();
        if (!INT_RE.test(s)) throw new CellError(`"${s.slice(0, 40)}" is not an integer`);
        const n = Number(s);
        if (n < lo || n > hi) throw new CellError(`${s} is out of range for ${datatype}`);
        return n;
      };
    }
    case 'float':
    case 'double':
      return (t) => {
        // Number() reads decimal text, but also hex/binary/octal (0x..), 'Infinity' and blanks:
        // those are told apart by their first characters instead of a regex per cell.
        const v = Number(t);
        if (!Number.isNaN(v)) {
          const c1 = t.length > 2 ? t.charCodeAt(1) | 32 : 0;
          if (c1 === 120 || c1 === 98 || c1 === 111)
            throw new CellError(`"${t.slice(0, 40)}" is not a ${datatype}`);
          if (v === 0 && t.trim() === '') return null;
          return datatype === 'float' ? Math.fround(v) : v;
        }
        const s = t.trim();
        const special = NAN_INF.get(s);
        if (special !== undefined) return Number.isNaN(special) ? null : special;
        throw new CellError(`"${s.slice(0, 40)}" is not a ${datatype}`);
      };
    default:
      return (t) => t;
  }
}

/**
 * How the fast path reads a column's cells (FAST_*): numbers straight from the text,
 * without a string per cell; anything it does not recognise stays text for the converter.
 */
const FAST_TEXT = 0;
const FAST_DOUBLE = 1;
const FAST_FLOAT = 2;
const FAST_LONG = 3;
const FAST_INT = 4;
const FAST_SHORT = 5;
const FAST_BYTE = 6;

function fastKind(datatype: Datatype): number {
  switch (datatype) {
    case 'double':
      return FAST_DOUBLE;
    case 'float':
      return FAST_FLOAT;
    case 'long':
      return FAST_LONG;
    case 'int':
      return FAST_INT;
    case 'short':
      return FAST_SHORT;
    case 'unsignedByte':
      return FAST_BYTE;
    default:
      return FAST_TEXT;
  }
}

/**
 * The cells of one unquoted line, numbers converted on the way by `kinds`. A cell the
 * fast path does not take (blanks, NaN, 17 digits, out of range...) is left as its text
 * for the column's converter, which also words the errors.
 */
function splitTyped(text: string, a: number, b: number, delimChar: string, kinds: Uint8Array): unknown[] {
  const row: unknown[] = [];
  let p = a;
  let i = 0;
  for (;;) {
    let q = text.indexOf(delimChar, p);
    if (q < 0 || q > b) q = b;
    const k = i < kinds.length ? kinds[i] : FAST_TEXT;
    let v: unknown;
    // A cell longer than 17 characters has more than 15 digits or an unusual form: text.
    if (q === p || k === FAST_TEXT || q - p > 17) v = text.slice(p, q);
    else if (k === FAST_DOUBLE || k === FAST_FLOAT) {
      const x = fastDecimal(text, p, q);
      v = !Number.isNaN(x) ? (k === FAST_FLOAT ? Math.fround(x) : x) : text.slice(p, q);
    } else {
      const x = fastInteger(text, p, q);
      if (Number.isNaN(x)) v = text.slice(p, q);
      else if (k === FAST_LONG) v = BigInt(x);
      else if (
        k === FAST_INT
          ? x >= -2147483648 && x <= 2147483647
          : k === FAST_SHORT
            ? x >= -32768 && x <= 32767
            : x >= 0 && x <= 255
      )
        v = x;
      else v = text.slice(p, q);
    }
    row.push(v);
    i++;
    if (q >= b) return row;
    p = q + 1;
  }
}

/** splitRecords' record for a line whose offsets went to `lines` (TextRowBatch). */
const LINE: unknown[] = [];

/**
 * Splits text into records; returns where the unfinished record starts. With `lines`, an
 * unquoted line is not split: LINE stands for it in `out` and its start and end go to
 * `lines` (-1, -1 for a record split into fields).
 */
function splitRecords(
  text: string,
  final: boolean,
  delim: number,
  quoting: boolean,
  out: unknown[][],
  maxRecords: number,
  onBadQuote: (recordIndex: number) => never,
  kinds: Uint8Array | null,
  lines: number[] | null,
): number {
  const n = text.length;
  const delimChar = String.fromCharCode(delim);
  let p = 0;
  // Where the next quote is (-1: none left): lines before it are split natively.
  let quote = quoting ? text.indexOf('"') : -1;
  while (p < n && out.length < maxRecords) {
    const rowStart = p;
    if (quote !== -1 && quote < p) quote = text.indexOf('"', p);
    const nl = text.indexOf('\n', p);
    if (nl < 0 && !final) return rowStart;
    if (quote === -1 || (nl >= 0 && quote > nl)) {
      const end = nl < 0 ? n : nl;
      const stop = end > p && text.charCodeAt(end - 1) === 13 ? end - 1 : end;
      p = nl < 0 ? n : nl + 1;
      if (stop > rowStart) {
        if (lines) {
          out.push(LINE);
          lines.push(rowStart, stop);
        } else
          out.push(
            kinds
              ? splitTyped(text, rowStart, stop, delimChar, kinds)
              : text.slice(rowStart, stop).split(delimChar),
          );
      }
      continue;
    }
    const fields: string[] = [];
    let c = -1;
    for (;;) {
      if (quoting && p < n && text.charCodeAt(p) === 34) {
        let q = p + 1;
        let seg = q;
        let val = '';
        for (;;) {
          const k = text.indexOf('"', q);
          if (k < 0) {
            if (!final) return rowStart;
            throw new DataFileError('the file ends inside a quoted field: truncated?', '');
          }
          if (k + 1 < n && text.charCodeAt(k + 1) === 34) {
            val += text.slice(seg, k + 1);
            q = k + 2;
            seg = q;
            continue;
          }
          if (k + 1 >= n && !final) return rowStart;
          val += text.slice(seg, k);
          p = k + 1;
          break;
        }
        fields.push(val);
        c = p < n ? text.charCodeAt(p) : -1;
        if (c !== delim && c !== 10 && c !== 13 && c !== -1) onBadQuote(out.length);
      } else {
        let q = p;
        while (q < n) {
          const ch = text.charCodeAt(q);
          if (ch === delim || ch === 10 || ch === 13) break;
          q++;
        }
        if (q >= n && !final) return rowStart;
        fields.push(text.slice(p, q));
        p = q;
        c = p < n ? text.charCodeAt(p) : -1;
      }
      if (c === delim) {
        p++;
        continue;
      }
      break;
    }
    if (c === 13) {
      p++;
      if (p < n && text.charCodeAt(p) === 10) p++;
    } else if (c === 10) p++;
    // Blank lines (a trailing newline, separators) carry no row.
    if (!(fields.length === 1 && fields[0] === '' && p - rowStart <= 2)) {
      out.push(fields);
      lines?.push(-1, -1);
    }
  }
  return p;
}

const TSV_ESCAPE = /\\[tnr\\]/g;
const TSV_UNESCAPE: Record<string, string> = { '\\t': '\t', '\\n': '\n', '\\r': '\r', '\\\\': '\\' };

/** Opens a CSV or TSV file: reads the header and the type sample, ready to stream rows. */
export async function openDelimited(
  path: string,
  format: 'csv' | 'tsv',
  size: number,
  gzip: boolean,
  opts: DelimitedOptions = {},
): Promise<DataSource> {
  const sampleRows = Math.max(1, opts.sampleRows ?? 1000);
  const batchRows = Math.max(1, opts.batchRows ?? 10_000);
  const maxLine = opts.maxLineLength ?? 16 * 1024 * 1024;
  const delim = format === 'tsv' ? 9 : 44;
  const quoting = format === 'csv';
  const bytes: FileBytes = opts.bytes ?? openFileBytes(path, size, gzip);
  const utf8 = new TextDecoder('utf-8', { fatal: true });
  let decoderPending = false;
  let textAscii = true;
  const it = bytes.chunks()[Symbol.asyncIterator]();
  let text = '';
  let eof = false;
  // Data rows split but not yet handed out (1-based row number of the first one: nextRow).
  let pending: unknown[][] = [];
  // Set once the column types are known (after the header and the type sample).
  let kinds: Uint8Array | null = null;
  let nextRow = 0; // becomes 1 after the header
  let header: string[] | undefined;

  const fail = (msg: string, row?: number, column?: string): never => {
    throw new DataFileError(
      row !== undefined ? `row ${row}${column ? `, column "${column}"` : ''}: ${msg}` : msg,
      path,
      row,
      column,
    );
  };

  /** Appends the next chunk of the file to `text` (sets eof at the end); `split` rows are pending. */
  const readChunk = async (split: number): Promise<void> => {
    // Whether `text` holds only characters of ASCII chunks (so its bytes are its characters).
    if (text === '') textAscii = true;
    let r: IteratorResult<Buffer>;
    r = await it.next();
    if (r.done) {
      eof = true;
      try {
        text += utf8.decode();
      } catch {
        fail('the file is not valid UTF-8 text', rowOf(split));
      }
    } else {
      try {
        // ASCII text (most catalogues) is taken as Latin-1: one-byte strings, no UTF-8 decoding.
        // The decoder is kept for any chunk after a non-ASCII one, which may end mid-character.
        if (!decoderPending && isAscii(r.value)) {
          // The unsplit rest (part of a line) goes in front as bytes: `text += chunk` would
          // make a rope, and indexOf on a rope was measured 20 to 40 times slower.
          text =
            text === ''
              ? r.value.toString('latin1')
              : textAscii
                ? Buffer.concat([Buffer.from(text, 'latin1'), r.value]).toString('latin1')
                : text + r.value.toString('latin1');
        } else {
          text += utf8.decode(r.value, { stream: true });
          decoderPending = !isAscii(r.value);
          textAscii = false;
        }
      } catch {
        fail('the file is not valid UTF-8 text', rowOf(split));
      }
    }
  };

  /**
   * splitRecords over the text read so far into `out` (row rowOf(0) first), with `lines`
   * for TextRowBatch offsets; its errors name the row.
   */
  const split = (out: unknown[][], maxRecords: number, lines: number[] | null): number => {
    try {
      return splitRecords(
        text,
        eof,
        delim,
        quoting,
        out,
        maxRecords,
        (i) =>
          fail('text after a closing quote (a quote inside a field must be doubled, RFC 4180)', rowOf(i)),
        lines ? null : kinds,
        lines,
      );
    } catch (e) {
      if (e instanceof DataFileError && e.path === '')
        fail(
          'the file ends inside a quoted field: it is truncated or a quote is not closed',
          rowOf(out.length),
        );
      throw e;
    }
  };

  /** Splits more records into `pending` until it holds `want` rows or the file ends. */
  const fill = async (want: number): Promise<void> => {
    while (pending.length < want) {
      const before = pending.length;
      const rest = split(pending, want + (header ? 0 : 1), null);
      text = rest === text.length ? '' : text.slice(rest);
      if (!header && pending.length > 0) {
        header = (pending.shift() as string[]).map((h, i) => {
          const name = h.trim().replace(/^\uFEFF/, '');
          return name === '' ? `col${i + 1}` : name;
        });
        nextRow = 1;
      }
      if (pending.length >= want || (eof && text === '')) return;
      if (eof) {
        if (pending.length === before) fail('cannot split the last line into fields', rowOf(pending.length));
        continue;
      }
      if (text.length > maxLine)
        fail(
          `a line is longer than ${maxLine} characters: is this really ${format.toUpperCase()}?`,
          rowOf(pending.length),
        );
      await readChunk(pending.length);
    }
  };
  const rowOf = (i: number) => (header ? nextRow + i : 0);

  let columns: SourceColumn[];
  let convert: Convert[];
  try {
    await fill(sampleRows);
    if (!header) fail(`the file is empty: a ${format.toUpperCase()} file needs a header row`);
    const names = header as string[];
    const sample = pending.slice(0, sampleRows) as string[][];
    columns = names.map((name, i) => {
      const datatype = opts.types?.[name] ?? inferDatatype(sample.map((r) => (i < r.length ? r[i] : '')));
      return datatype === 'char' ? { name, datatype, arraysize: '*' } : { name, datatype };
    });
    convert = columns.map((c) => (opts.numbersAsText ? textConverter(c.datatype) : converter(c.datatype)));
    // TSV cells may hold escapes: those stay on the converters' path.
    if (!opts.numbersAsText && format === 'csv')
      kinds = Uint8Array.from(columns, (c) => fastKind(c.datatype));
  } catch (e) {
    bytes.close();
    throw e;
  }
  const ncol = columns.length;
  const unescapeTsv = format === 'tsv';

  const delimChar = String.fromCharCode(delim);

  /**
   * Row `rowNumber` typed in place by the converters (numbers the fast path read stay);
   * `last` says it is the file's last row, for the truncation hint.
   */
  const typedRow = (record: string | unknown[], rowNumber: number, last: boolean): unknown[] => {
    const row = typeof record === 'string' ? record.split(delimChar) : record;
    if (row.length !== ncol)
      fail(
        `${row.length} fields for ${ncol} columns${last && row.length < ncol ? ' (the file ends inside this row: truncated?)' : ''}`,
        rowNumber,
      );
    for (let i = 0; i < ncol; i++) {
      const cell = row[i];
      // Numbers the fast path already read (splitTyped).
      if (typeof cell !== 'string') continue;
      let t = cell;
      if (t === '') {
        row[i] = null;
        continue;
      }
      if (unescapeTsv && t.includes('\\')) t = t.replace(TSV_ESCAPE, (m) => TSV_UNESCAPE[m]);
      try {
        row[i] = convert[i](t);
      } catch (e) {
        if (e instanceof CellError)
          fail(
            `${e.message}${opts.types?.[columns[i].name] ? '' : ` (type inferred from the first ${sampleRows} rows; declare the column's datatype in the description)`}`,
            rowNumber,
            columns[i].name,
          );
        throw e;
      }
    }
    return row;
  };

  /** The next batch of pending records, numbered from nextRow; none at the end. */
  async function nextBatch(): Promise<{ first: number; take: unknown[][]; atEnd: boolean } | undefined> {
    await fill(batchRows);
    if (pending.length === 0) return undefined;
    const take = pending.length > batchRows ? pending.slice(0, batchRows) : pending;
    pending = take === pending ? [] : pending.slice(batchRows);
    const first = nextRow;
    nextRow += take.length;
    return { first, take, atEnd: eof && pending.length === 0 && text === '' };
  }

  async function* batches(): AsyncGenerator<SourceBatch> {
    try {
      for (let b = await nextBatch(); b; b = await nextBatch()) {
        const { first, take, atEnd } = b;
        for (let r = 0; r < take.length; r++) typedRow(take[r], first + r, atEnd && r === take.length - 1);
        yield { firstRow: first, rows: take };
      }
    } finally {
      bytes.close();
    }
  }

  /**
   * The next TextRowBatch: the records left from the type sample, else those of the text
   * read so far (a chunk more each time), as offsets into that text.
   */
  const nextTextBatch = async (): Promise<TextRowBatch | undefined> => {
    for (;;) {
      let batchText = '';
      let records: unknown[][];
      let offsets: number[] = [];
      if (pending.length > 0) {
        records = pending;
        pending = [];
        offsets = new Array<number>(records.length * 2).fill(-1);
      } else {
        records = [];
        const rest = split(records, Number.POSITIVE_INFINITY, offsets);
        batchText = text;
        text = rest === text.length ? '' : text.slice(rest);
      }
      if (records.length > 0) {
        const first = nextRow;
        const count = records.length;
        nextRow += count;
        const starts = new Int32Array(count);
        const ends = new Int32Array(count);
        for (let i = 0; i < count; i++) {
          starts[i] = offsets[2 * i];
          ends[i] = offsets[2 * i + 1];
        }
        const atEnd = eof && text === '' && pending.length === 0;
        const t = batchText;
        return {
          firstRow: first,
          count,
          text: t,
          starts,
          ends,
          values: (i) =>
            typedRow(
              starts[i] >= 0 ? t.slice(starts[i], ends[i]) : records[i],
              first + i,
              atEnd && i === count - 1,
            ),
        };
      }
      if (eof) {
        if (text !== '') fail('cannot split the last line into fields', nextRow);
        return undefined;
      }
      if (text.length > maxLine)
        fail(`a line is longer than ${maxLine} characters: is this really ${format.toUpperCase()}?`, nextRow);
      await readChunk(0);
    }
  };

  async function* textBatches(): AsyncGenerator<TextRowBatch> {
    try {
      for (let b = await nextTextBatch(); b; b = await nextTextBatch()) yield b;
    } finally {
      bytes.close();
    }
  }

  let iterated = false;
  return {
    path,
    format,
    columns,
    meta: {},
    totalBytes: size,
    bytesRead: () => bytes.bytesRead(),
    batches() {
      if (iterated) throw new DataFileError('the rows of a data source can be read once', path);
      iterated = true;
      return batches();
    },
    ...(format === 'csv' && !opts.numbersAsText
      ? {
          delimiter: delim,
          textRows() {
            if (iterated) throw new DataFileError('the rows of a data source can be read once', path);
            iterated = true;
            return textBatches();
          },
        }
      : {}),
    async close() {
      bytes.close();
      await it.return?.();
    },
  };
}
