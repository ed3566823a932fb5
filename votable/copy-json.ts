import { fieldShape, isCharType } from './arraysize.js';
import {
  type CellWriter,
  type CopyTextParser,
  copiesPlainDecimals,
  type TextDialect,
  timestampWriter,
  unescapeCopyText,
  verbatim,
} from './copy-text.js';
import { VOTableEncodeError } from './errors.js';
import { cellJson, jsonNumber } from './json-cells.js';
import { errorMessage } from './rows.js';
import type { Field } from './types.js';

/*
 * The JSON result's rows ([cell,...] joined by ",\n") from PostgreSQL's text COPY, written as
 * encode-json writes rows it is given, byte for byte: integers are PostgreSQL's digits, floats
 * its shortest text where that is also JavaScript's (plain decimal notation), text is
 * copied between quotes unless a byte needs escaping. The rest is parsed by the type's
 * parser and formatted by the row path's own cell function.
 */

const bytes = (s: string) => Buffer.from(s, 'latin1');
const QUOTE = bytes('"');

// COPY's backslash (an escape here, and one in JSON), JSON's quote, and the C0 controls
// JSON.stringify escapes.
const SLOW_TEXT = (() => {
  const t = new Uint8Array(256);
  for (let c = 0; c < 0x20; c++) t[c] = 1;
  t[0x5c] = 1;
  t[0x22] = 1;
  return t;
})();

/** The row path's cell text for a parsed value (parse and format errors named after the column). */
function parsedWriter(
  f: Field,
  parse: CopyTextParser | undefined,
  pgType: string,
  unquoted = false,
): CellWriter {
  if (!parse)
    throw new VOTableEncodeError(
      `column "${f.name}": no parser for PostgreSQL type ${pgType} in a text COPY stream`,
    );
  const cell = cellJson(f);
  return (sink, b, s, e) => {
    let t: string;
    try {
      t = cell(parse(unescapeCopyText(b, s, e)));
    } catch (err) {
      throw err instanceof VOTableEncodeError
        ? err
        : new VOTableEncodeError(`column "${f.name}": ${errorMessage(err)}`);
    }
    // A char cell's JSON is always a quoted string: `unquoted` leaves the quotes to the caller.
    sink.utf8(unquoted ? t.slice(1, -1) : t);
  };
}

/**
 * PostgreSQL's float text (extra_float_digits >= 1: the shortest that reads back exactly)
 * has the same digits as JavaScript's String(number); the notation differs where PostgreSQL
 * uses an exponent (below 1e-4, from 1e15 for a double, 1e6 for a real) and JavaScript does
 * not, and for -0, NaN and the infinities (null in JSON). Those go through Number.
 */
const floatJson: CellWriter = copiesPlainDecimals((sink, b, s, e) => {
  let plain = !(b[s] === 45 && b[s + 1] === 48 && e - s === 2); // "-0"
  for (let k = s; plain && k < e; k++) {
    const c = b[k];
    if (c === 101 /* e */ || c === 69 /* E */ || c === 73 /* I */ || c === 78 /* N */) plain = false;
  }
  if (plain) verbatim(sink, b, s, e);
  else sink.latin1(jsonNumber(Number(b.toString('latin1', s, e))));
});

const TRUE = bytes('true');
const FALSE = bytes('false');
const booleanJson: CellWriter = (sink, b, s) => {
  const w = b[s] === 116 /* t */ ? TRUE : FALSE;
  sink.ensure(w.length);
  for (let k = 0; k < w.length; k++) sink.buf[sink.pos++] = w[k];
};

const textJson: CellWriter = (sink, b, s, e) => sink.utf8(JSON.stringify(unescapeCopyText(b, s, e)));

// PostgreSQL integer text that the row path would write unchanged (no range check needed).
const INT_FITS: Record<string, readonly string[]> = {
  int2: ['short', 'int', 'long', 'float', 'double'],
  int4: ['int', 'long', 'double'],
  int8: ['long'],
};

function jsonWriter(f: Field, pgType: string, parse: CopyTextParser | undefined): CellWriter {
  const dt = f.datatype;
  const shape = fieldShape(f);
  const scalar = shape.scalar;
  if (scalar && INT_FITS[pgType]?.includes(dt)) return verbatim;
  if (scalar && ((pgType === 'float4' && dt === 'float') || (pgType === 'float8' && dt === 'double')))
    return floatJson;
  if (scalar && pgType === 'bool' && dt === 'boolean') return booleanJson;
  if (isCharType(dt) && shape.slice === 1) {
    if (pgType === 'text') return textJson;
    if (pgType === 'timestamp' || pgType === 'timestamptz') {
      const ts = timestampWriter(parsedWriter(f, parse, pgType, true));
      return (sink, b, s, e) => {
        sink.ensure(1);
        sink.buf[sink.pos++] = 0x22;
        ts(sink, b, s, e);
        sink.ensure(1);
        sink.buf[sink.pos++] = 0x22;
      };
    }
  }
  return parsedWriter(f, parse, pgType);
}

/** encode-json's rows: "[" cells "]", joined by ",\n"; NULL is null (README). */
export const JSON_DIALECT: TextDialect = {
  rowStart: bytes('['),
  rowEnd: bytes(']'),
  cellStart: Buffer.alloc(0),
  cellEnd: Buffer.alloc(0),
  separator: bytes(','),
  rowSeparator: bytes(',\n'),
  textQuote: QUOTE,
  slowText: SLOW_TEXT,
  text: (s) => JSON.stringify(s),
  nullContent: () => 'null',
  writer: jsonWriter,
};
