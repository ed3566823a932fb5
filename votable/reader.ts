import { type SaxesAttributeNS, SaxesParser, type SaxesTagNS } from 'saxes';
import { parseArraysize, type Shape } from './arraysize.js';
import {
  type BinaryDecoder,
  binaryDecoder,
  checkedVarBytes,
  type TextDecoderFn,
  textDecoder,
} from './decode.js';
import { VOTableEncodeError, VOTableReadError } from './errors.js';
import { DATATYPES, type Datatype, type Field, type Info } from './types.js';

export interface ReaderLimits {
  /** Total input bytes (default 2 GiB). */
  maxBytes?: number;
  /** Rows of the table (default 10,000,000). */
  maxRows?: number;
  /** FIELDs of the table (default 1,000). */
  maxColumns?: number;
  /**
   * Characters of any single text run, attribute value or name outside the binary STREAM:
   * a TD, a DESCRIPTION, a line with no markup (default 1 MiB). Binary cells obey the same
   * limit in bytes.
   */
  maxCellLength?: number;
  /** Element nesting depth (default 64). */
  maxDepth?: number;
  /** Rows per 'rows' event (default 1,000). */
  batchRows?: number;
}

export const DEFAULT_READER_LIMITS: Required<ReaderLimits> = {
  maxBytes: 2 * 1024 ** 3,
  maxRows: 10_000_000,
  maxColumns: 1000,
  maxCellLength: 1024 * 1024,
  maxDepth: 64,
  batchRows: 1000,
};

/** A FIELD as read, with its magic null (VALUES@null) when declared. */
export interface ReadField extends Field {
  nullValue?: string;
}

export type ReadEvent =
  | { kind: 'fields'; fields: ReadField[]; tableName?: string; infos: Info[]; serialization: string }
  | { kind: 'rows'; rows: unknown[][] };

// 1.1 .. 1.3 namespaces (1.4 and 1.5 keep v1.3, VOT-1); documents without a namespace are
// accepted as many older writers omit it.
const NAMESPACES = new Set([
  '',
  'http://www.ivoa.net/xml/VOTable/v1.3',
  'http://www.ivoa.net/xml/VOTable/v1.2',
  'http://www.ivoa.net/xml/VOTable/v1.1',
  'http://www.ivoa.net/xml/VOTable/v1.0',
]);

const S_TEXT = 13; // saxes's text state
const S_DOCTYPE_FIRST = 2;
const S_DOCTYPE_LAST = 12;
const PIECE = 65536;
const B64 = /^[A-Za-z0-9+/]*={0,2}$/;

/** saxes keeps these private; reading them is how text accumulation is capped. */
interface SaxesInternals {
  text: string;
  name: string;
  entity: string;
  state: number;
}

interface Column {
  field: ReadField;
  shape: Shape;
  text: TextDecoderFn;
  bin: BinaryDecoder;
}

/**
 * Streams a VOTable upload: a 'fields' event for the first TABLE, then 'rows' events in
 * batches. Memory stays bounded by the limits whatever the input; any problem throws
 * VOTableReadError.
 */
export async function* readVOTable(
  input: AsyncIterable<Buffer | Uint8Array | string> | Iterable<Buffer | Uint8Array | string>,
  limits: ReaderLimits = {},
): AsyncGenerator<ReadEvent> {
  const L = { ...DEFAULT_READER_LIMITS, ...limits };
  const parser = new SaxesParser({ xmlns: true, position: true });
  const internals = parser as unknown as SaxesInternals;
  const utf8 = new TextDecoder('utf-8', { fatal: true });

  const stack: string[] = [];
  let rootNs: string | undefined;
  let tableDepth = -1; // stack depth of the first TABLE
  let tableName: string | undefined;
  let tableDone = false;
  const fields: ReadField[] = [];
  const infos: Info[] = [];
  let columns: Column[] = [];
  let serialization: string | undefined;
  let events: ReadEvent[] = [];
  let batch: unknown[][] = [];
  let rowCount = 0;
  let row: unknown[] | undefined;
  let cellText: string | undefined;
  let descTarget: { description?: string } | undefined;
  let infoTarget: Info | undefined;
  let inStream = false;
  let b64Rest = '';
  let b64Ended = false;
  let pending: Buffer = Buffer.alloc(0);
  let binary2 = false;
  let failure: VOTableReadError | undefined;

  const fail = (message: string, r?: number, column?: string): never => {
    throw new VOTableReadError(message, r, column);
  };
  const where = () => `line ${parser.line}`;

  const pushRow = (r: unknown[]) => {
    rowCount++;
    if (rowCount > L.maxRows) fail(`the table has more than ${L.maxRows} rows (limit maxRows)`, rowCount);
    batch.push(r);
    if (batch.length >= L.batchRows) {
      events.push({ kind: 'rows', rows: batch });
      batch = [];
    }
  };

  const startData = (ser: string) => {
    if (fields.length === 0) fail('the TABLE has no FIELD');
    serialization = ser;
    columns = fields.map((f) => {
      let shape: Shape;
      try {
        shape = parseArraysize(f.arraysize, `FIELD "${f.name}" arraysize`);
      } catch (e) {
        return fail(e instanceof VOTableEncodeError ? e.message : String(e), undefined, f.name);
      }
      return {
        field: f,
        shape,
        text: textDecoder(f, shape, f.nullValue),
        bin: binaryDecoder(f, shape, f.nullValue, L.maxCellLength),
      };
    });
    events.push({ kind: 'fields', fields, tableName, infos, serialization: ser });
  };

  // Decodes as many complete binary rows as `pending` holds.
  const drainBinary = () => {
    const b = pending;
    const n = columns.length;
    const flagBytes = binary2 ? (n + 7) >> 3 : 0;
    let off = 0;
    const starts = new Array<number>(n);
    const lens = new Array<number>(n);
    for (;;) {
      const rowNo = rowCount + 1;
      let o = off + flagBytes;
      if (o > b.length) break;
      let complete = true;
      for (let i = 0; i < n; i++) {
        const c = columns[i];
        if (o + c.bin.head > b.length) {
          complete = false;
          break;
        }
        let len = c.bin.head;
        if (c.shape.variable)
          len += checkedVarBytes(c.bin, b.readInt32BE(o), c.field, c.shape, rowNo, L.maxCellLength);
        starts[i] = o;
        lens[i] = len;
        o += len;
        if (o > b.length) {
          complete = false;
          break;
        }
      }
      if (!complete) break;
      const r = new Array(n);
      for (let i = 0; i < n; i++) {
        const isNull = binary2 && (b[off + (i >> 3)] & (0x80 >> (i & 7))) !== 0;
        r[i] = isNull ? null : columns[i].bin.read(b, starts[i], lens[i], rowNo);
      }
      pushRow(r);
      off = o;
    }
    pending = off === b.length ? Buffer.alloc(0) : b.subarray(off);
    if (pending.length > L.maxCellLength * Math.max(1, n) + 4 * n + flagBytes)
      fail(`a binary row exceeds ${L.maxCellLength * n} bytes`, rowCount + 1);
  };

  const streamText = (t: string) => {
    const s = t.replace(/\s+/g, '');
    if (s === '') return;
    if (b64Ended) fail(`base64 data continues after its final '=' padding (${where()})`);
    if (!B64.test(s)) {
      const bad = s.match(/[^A-Za-z0-9+/=]/)?.[0];
      fail(
        `bad base64 in STREAM${bad ? `: character ${JSON.stringify(bad)}` : ': misplaced "="'} (${where()})`,
        rowCount + 1,
      );
    }
    const all = b64Rest + s;
    const whole = all.length - (all.length % 4);
    b64Rest = all.slice(whole);
    if (whole === 0) return;
    const quad = all.slice(0, whole);
    if (quad.includes('=')) {
      const eq = quad.indexOf('=');
      if (eq < whole - 2 || (b64Rest !== '' && eq >= 0))
        fail(`bad base64 in STREAM: '=' before the end (${where()})`);
      b64Ended = true;
    }
    const bytes = Buffer.from(quad, 'base64');
    pending = pending.length === 0 ? bytes : Buffer.concat([pending, bytes]);
    drainBinary();
  };

  parser.on('doctype', () =>
    fail('DOCTYPE is not allowed in a VOTable upload (entity expansion is refused)'),
  );
  parser.on('opentag', (tag: SaxesTagNS) => {
    if (stack.length >= L.maxDepth) fail(`elements nest deeper than ${L.maxDepth} (limit maxDepth)`);
    const uri = tag.uri ?? '';
    const local = tag.local ?? tag.name;
    if (rootNs === undefined) {
      if (local !== 'VOTABLE') fail(`the root element is <${tag.name}>, not <VOTABLE>`);
      if (!NAMESPACES.has(uri))
        fail(`<VOTABLE> is in namespace "${uri}", not http://www.ivoa.net/xml/VOTable/v1.3`);
      rootNs = uri;
    }
    // Elements of other namespaces (MIVOT...) are skipped.
    const name = uri === rootNs ? local : `{${uri}}${local}`;
    stack.push(name);
    if (tableDone) return;
    const a = (k: string): string | undefined => {
      const at = tag.attributes[k] as SaxesAttributeNS | undefined;
      return at?.value;
    };
    const parent = stack[stack.length - 2];
    switch (name) {
      case 'TABLE':
        if (tableDepth < 0) {
          tableDepth = stack.length;
          tableName = a('name');
        }
        break;
      case 'FIELD': {
        if (parent !== 'TABLE' || stack.length !== tableDepth + 1) break;
        if (fields.length >= L.maxColumns)
          fail(`the table has more than ${L.maxColumns} FIELDs (limit maxColumns)`);
        const datatype = a('datatype');
        const fname = a('name');
        if (!fname) fail(`FIELD ${fields.length + 1} has no name (${where()})`);
        if (!datatype || !(DATATYPES as readonly string[]).includes(datatype))
          fail(
            `FIELD "${fname}" has datatype "${datatype ?? ''}", not one of ${DATATYPES.join(', ')}`,
            undefined,
            fname,
          );
        const f: ReadField = { name: fname as string, datatype: datatype as Datatype };
        for (const k of ['arraysize', 'xtype', 'unit', 'ucd', 'utype', 'ID', 'ref', 'precision'] as const) {
          const v = a(k);
          if (v !== undefined) f[k] = v;
        }
        const w = a('width');
        if (w !== undefined && /^[0-9]+$/.test(w)) f.width = Number(w);
        try {
          parseArraysize(f.arraysize, `FIELD "${f.name}" arraysize`);
        } catch (e) {
          fail(e instanceof Error ? e.message : String(e), undefined, f.name);
        }
        fields.push(f);
        break;
      }
      case 'VALUES':
        if (parent === 'FIELD' && stack.length === tableDepth + 2) {
          const nv = a('null');
          if (nv !== undefined) fields[fields.length - 1].nullValue = nv;
        }
        break;
      case 'DESCRIPTION':
        if (parent === 'FIELD' && stack.length === tableDepth + 2) descTarget = fields[fields.length - 1];
        break;
      case 'INFO':
        if (tableDepth < 0 || stack.length === tableDepth + 1) {
          infoTarget = { name: a('name') ?? '', value: a('value') ?? '' };
          infos.push(infoTarget);
          if (infos.length > 1000) fail('more than 1000 INFO elements');
        }
        break;
      case 'TABLEDATA':
      case 'BINARY':
      case 'BINARY2':
        if (tableDepth > 0 && serialization === undefined) {
          binary2 = name === 'BINARY2';
          startData(name);
        }
        break;
      case 'FITS':
        if (tableDepth > 0)
          fail('FITS-serialised VOTables are not accepted for upload; send TABLEDATA, BINARY or BINARY2');
        break;
      case 'STREAM': {
        if (serialization !== 'BINARY' && serialization !== 'BINARY2') break;
        if (a('href') !== undefined)
          fail('STREAM with href is not accepted: the data must be inline (base64)');
        const enc = a('encoding');
        if (enc !== 'base64')
          fail(`STREAM encoding "${enc ?? 'none'}" is not accepted: inline data must be base64`);
        inStream = true;
        break;
      }
      case 'TR':
        if (serialization === 'TABLEDATA') row = [];
        break;
      case 'TD':
        if (row) {
          if (row.length >= columns.length)
            fail(`row ${rowCount + 1} has more TD cells than the ${columns.length} FIELDs`, rowCount + 1);
          cellText = '';
        }
        break;
    }
  });
  parser.on('text', (t: string) => {
    if (cellText !== undefined) {
      cellText += t;
      if (cellText.length > L.maxCellLength)
        fail(`a TD is longer than ${L.maxCellLength} characters (limit maxCellLength)`, rowCount + 1);
    } else if (inStream) streamText(t);
    else if (descTarget) descTarget.description = (descTarget.description ?? '') + t;
    else if (infoTarget) infoTarget.content = (infoTarget.content ?? '') + t;
  });
  parser.on('cdata', (t: string) => {
    if (cellText !== undefined) cellText += t;
  });
  parser.on('closetag', () => {
    const name = stack.pop();
    if (tableDone) return;
    switch (name) {
      case 'TD':
        if (row && cellText !== undefined) {
          const i = row.length;
          const c = columns[i];
          // Whitespace is significant in char cells (VOT-24); elsewhere it is trimmed.
          const t = cellText;
          row.push(
            t === ''
              ? null
              : c.field.datatype === 'char' || c.field.datatype === 'unicodeChar'
                ? c.text(t, rowCount + 1)
                : t.trim() === ''
                  ? null
                  : c.text(t, rowCount + 1),
          );
          cellText = undefined;
        }
        break;
      case 'TR':
        if (row) {
          if (row.length !== columns.length)
            fail(`row ${rowCount + 1} has ${row.length} TD cells for ${columns.length} FIELDs`, rowCount + 1);
          pushRow(row);
          row = undefined;
        }
        break;
      case 'STREAM':
        if (inStream) {
          inStream = false;
          if (b64Rest !== '')
            fail(`base64 data in STREAM ends with ${b64Rest.length} stray characters (truncated?)`);
          if (pending.length > 0)
            fail(
              `the binary stream ends inside row ${rowCount + 1} (${pending.length} bytes left over: truncated, or arraysize not matching the data?)`,
              rowCount + 1,
            );
        }
        break;
      case 'DESCRIPTION':
        descTarget = undefined;
        break;
      case 'INFO':
        infoTarget = undefined;
        break;
      case 'TABLE':
        if (stack.length + 1 === tableDepth) {
          if (serialization === undefined) startData('none');
          tableDone = true;
        }
        break;
    }
  });
  parser.on('error', (e: Error) => {
    throw e;
  });

  const feed = (s: string) => {
    for (let i = 0; i < s.length; i += PIECE) {
      parser.write(s.slice(i, i + PIECE));
      const st = internals.state;
      if (st >= S_DOCTYPE_FIRST && st <= S_DOCTYPE_LAST)
        fail('DOCTYPE is not allowed in a VOTable upload (entity expansion is refused)');
      if (inStream && st === S_TEXT && internals.text.length > 0) {
        const t = internals.text;
        internals.text = '';
        streamText(t);
      }
      if (
        internals.text.length > L.maxCellLength ||
        internals.name.length > L.maxCellLength ||
        internals.entity.length > 64
      )
        fail(
          `a text run, name or attribute longer than ${L.maxCellLength} characters near ${where()} (limit maxCellLength)`,
          rowCount + 1,
        );
      if (tableDone) return;
    }
  };

  let bytes = 0;
  try {
    for await (const chunk of input) {
      let s: string;
      if (typeof chunk === 'string') {
        bytes += chunk.length;
        s = chunk;
      } else {
        bytes += chunk.length;
        s = utf8.decode(chunk, { stream: true });
      }
      if (bytes > L.maxBytes) fail(`the upload is larger than ${L.maxBytes} bytes (limit maxBytes)`);
      feed(s);
      if (events.length > 0) {
        const out = events;
        events = [];
        yield* out;
      }
      if (tableDone) break;
    }
    if (!tableDone) {
      feed(utf8.decode());
      if (rootNs === undefined) fail('the input is empty or not a VOTable');
      if (tableDepth < 0) fail('the document has no TABLE');
      parser.close();
      fail('the document ends before </TABLE> (truncated?)');
    }
  } catch (e) {
    failure = toReadError(e, parser.line, rowCount);
  }
  if (failure) throw failure;
  if (batch.length > 0) events.push({ kind: 'rows', rows: batch });
  yield* events;
}

function toReadError(e: unknown, line: number, rows: number): VOTableReadError {
  if (e instanceof VOTableReadError) return e;
  if (e instanceof TypeError && /encoded data|decode/i.test(e.message))
    return new VOTableReadError('the upload is not valid UTF-8', rows + 1);
  const msg = e instanceof Error ? e.message : String(e);
  if (/unexpected end|unclosed|ended/i.test(msg))
    return new VOTableReadError(`the document is truncated (${msg})`, rows + 1);
  return new VOTableReadError(`malformed XML near line ${line}: ${msg}`, rows + 1);
}
