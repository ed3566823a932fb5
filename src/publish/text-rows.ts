/**
 * CSV rows written as COPY binary rows straight from their line (TextRowBatch): cells are
 * found with indexOf and read by their column's datatype with no typed value, row array or
 * BigInt in between. Measured with bench/publish.ts, building those values was most of a
 * CSV publish's time. Only the plain forms are taken here: blanks around numbers, NaN and
 * infinity words, integers of more than 15 digits, hexadecimal, non-ASCII or NUL in text,
 * a position out of range, an empty cell of a non-nullable column, a line with the wrong
 * number of cells: each declines the row (DECLINED), and the loader then encodes the
 * reader's typed values with the general encoder, which also words every error. Either way
 * the bytes are the same (test/publish/text-rows.test.ts compares them).
 */
import { HEALPIX_INDEX_ORDER, nestedIndexWords } from '../../sky/index.js';
import type { CopyBinaryWriter } from './copy-binary.js';
import { fastDecimal, fastInteger } from './readers/decimal.js';

/** What the writer returns for a row it leaves to the general encoder. */
export const DECLINED = -2;

export type TextCellKind =
  | 'double'
  | 'float'
  | 'long'
  | 'int'
  | 'short'
  | 'unsignedByte'
  | 'boolean'
  | 'text';

export interface TextRowSpec {
  /** Cells in a line. */
  readonly width: number;
  /** Cell separator (character code). */
  readonly delimiter: number;
  /** Per COPY field, in order: the line's cell it comes from, or the HEALPix key (index -1). */
  readonly fields: readonly {
    readonly kind: TextCellKind;
    readonly index: number;
    readonly nullable: boolean;
  }[];
  /** Cells of the position (-1: none) and whether they are single precision (rounded as the reader does). */
  readonly ra: number;
  readonly dec: number;
  readonly positionFloat: boolean;
}

/**
 * Writes the line text[a, b) as a COPY binary row; returns where the HEALPix key is
 * (-1: none) or DECLINED.
 */
export type TextRowWriter = (w: CopyBinaryWriter, text: string, a: number, b: number) => number;

const HEALPIX = 0;
const CODES: Record<TextCellKind, number> = {
  double: 1,
  float: 2,
  long: 3,
  int: 4,
  short: 5,
  unsignedByte: 6,
  boolean: 7,
  text: 8,
};

/**
 * A decimal cell as the CSV reader's converter reads it, or NaN where that reader might
 * differ (blanks, words, hexadecimal): fastDecimal first, Number() for longer digit strings.
 */
function decimalCell(line: string, a: number, b: number): number {
  // Beyond 24 characters a decimal has more digits than fastDecimal takes (leading zeros aside).
  if (b - a <= 24) {
    const v = fastDecimal(line, a, b);
    if (!Number.isNaN(v)) return v;
  }
  const first = line.charCodeAt(a);
  const last = line.charCodeAt(b - 1);
  // Number() also reads " 1", "Infinity", "0x1f": those stay with the general path.
  if (!((first >= 48 && first <= 57) || first === 43 || first === 45 || first === 46)) return Number.NaN;
  if (!((last >= 48 && last <= 57) || last === 46)) return Number.NaN;
  if (b - a > 2) {
    const c1 = line.charCodeAt(a + 1) | 32;
    if (c1 === 120 || c1 === 98 || c1 === 111) return Number.NaN;
  }
  return Number(line.slice(a, b));
}

/** The boolean words the CSV reader takes (TRUE/FALSE sets and 1/0): 1, 0, or -1. */
function booleanCell(line: string, a: number, b: number): number {
  const t = line.slice(a, b);
  switch (t) {
    case 't':
    case 'T':
    case 'true':
    case 'True':
    case 'TRUE':
    case '1':
      return 1;
    case 'f':
    case 'F':
    case 'false':
    case 'False':
    case 'FALSE':
    case '0':
      return 0;
    default:
      return -1;
  }
}

export function textRowWriter(spec: TextRowSpec): TextRowWriter {
  const n = spec.fields.length;
  const width = spec.width;
  const kinds = Uint8Array.from(spec.fields, (f) => (f.index < 0 ? HEALPIX : CODES[f.kind]));
  const index = Int32Array.from(spec.fields, (f) => f.index);
  const nullable = Uint8Array.from(spec.fields, (f) => (f.nullable ? 1 : 0));
  const starts = new Int32Array(width);
  const ends = new Int32Array(width);
  const delim = String.fromCharCode(spec.delimiter);
  const words = new Uint32Array(2);
  const { ra, dec, positionFloat } = spec;
  return (w, line, from, to) => {
    let p = from;
    for (let k = 0; ; k++) {
      if (k === width) return DECLINED;
      const q = line.indexOf(delim, p);
      starts[k] = p;
      if (q < 0 || q >= to) {
        if (k !== width - 1) return DECLINED;
        ends[k] = to;
        break;
      }
      ends[k] = q;
      p = q + 1;
    }
    const rowStart = w.pos;
    w.int16(n);
    let keyAt = -1;
    for (let i = 0; i < n; i++) {
      const kind = kinds[i];
      if (kind === HEALPIX) {
        // A missing coordinate: no index (NULL, sorted last), as the general path.
        if (starts[ra] === ends[ra] || starts[dec] === ends[dec]) {
          w.nullField();
          continue;
        }
        let lon = decimalCell(line, starts[ra], ends[ra]);
        let lat = decimalCell(line, starts[dec], ends[dec]);
        if (positionFloat) {
          lon = Math.fround(lon);
          lat = Math.fround(lat);
        }
        if (!Number.isFinite(lon) || !(lat >= -90 && lat <= 90)) return decline(w, rowStart);
        nestedIndexWords(HEALPIX_INDEX_ORDER, lon, lat, words);
        keyAt = w.pos + 4;
        w.int64Field(words[0], words[1]);
        continue;
      }
      const a = starts[index[i]];
      const b = ends[index[i]];
      if (a === b) {
        if (nullable[i] === 0) return decline(w, rowStart);
        w.nullField();
        continue;
      }
      switch (kind) {
        case 1: {
          const v = decimalCell(line, a, b);
          if (Number.isNaN(v)) return decline(w, rowStart);
          w.float64Field(v);
          break;
        }
        case 2: {
          const v = decimalCell(line, a, b);
          if (Number.isNaN(v)) return decline(w, rowStart);
          w.float32Field(v);
          break;
        }
        case 3: {
          const v = fastInteger(line, a, b);
          if (Number.isNaN(v)) return decline(w, rowStart);
          const hi = Math.floor(v / 4294967296);
          w.int64Field(hi, v - hi * 4294967296);
          break;
        }
        case 4: {
          const v = fastInteger(line, a, b);
          if (!(v >= -2147483648 && v <= 2147483647)) return decline(w, rowStart);
          w.int32Field(v);
          break;
        }
        case 5:
        case 6: {
          const v = fastInteger(line, a, b);
          if (!(kind === 5 ? v >= -32768 && v <= 32767 : v >= 0 && v <= 255)) return decline(w, rowStart);
          w.int16Field(v);
          break;
        }
        case 7: {
          const v = booleanCell(line, a, b);
          if (v < 0) return decline(w, rowStart);
          const buf = w.field(1);
          buf[w.pos++] = v;
          break;
        }
        default: {
          // ASCII without NUL is its own UTF-8: the characters are the bytes.
          const buf = w.field(b - a);
          let at = w.pos;
          for (let j = a; j < b; j++) {
            const c = line.charCodeAt(j);
            if (c === 0 || c > 127) return decline(w, rowStart);
            buf[at++] = c;
          }
          w.pos = at;
        }
      }
    }
    return keyAt;
  };
}

/** Forgets the part of the row written so far. */
function decline(w: CopyBinaryWriter, rowStart: number): number {
  w.pos = rowStart;
  return DECLINED;
}
