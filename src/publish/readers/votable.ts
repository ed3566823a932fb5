/**
 * VOTable data files (TABLEDATA, BINARY, BINARY2) through the streaming upload reader of
 * votable/ (saxes-based, flat memory): the first TABLE's FIELDs become the columns (datatype,
 * arraysize, xtype, unit, ucd, utype, DESCRIPTION); nulls come from BINARY2 flags, VALUES
 * null and empty TDs (VOT-23, VOT-28, VOT-40), and a NaN float scalar is null as well
 * (VOT-29). The position frame is the COOSYS system (VOT-12) found before the data.
 */
import { type ReadEvent, readVOTable, VOTableReadError } from '../../../votable/index.js';
import { DataFileError, type DataSource, type SourceBatch, type SourceColumn } from '../source.js';
import { type FileBytes, openFileBytes } from './bytes.js';

export interface VOTableReadOptions {
  /** Rows per batch (default 10,000). */
  batchRows?: number;
  /** The bytes to read instead of the file at `path` (a request body: streamFileBytes). */
  bytes?: FileBytes;
}

function attr(tag: string, name: string): string | undefined {
  const m = new RegExp(`\\s${name}\\s*=\\s*("([^"]*)"|'([^']*)')`).exec(tag);
  return m ? unxml(m[2] ?? m[3]) : undefined;
}

function unxml(s: string): string {
  return s
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&apos;/g, "'")
    .replace(/&amp;/g, '&');
}

/** COOSYS system and the TABLE's DESCRIPTION from the text before the data (metadata only). */
export function headMeta(head: string): { frame?: string; description?: string } {
  const out: { frame?: string; description?: string } = {};
  const data = head.search(/<(\w+:)?(TABLEDATA|BINARY2?|DATA)\b/);
  const meta = data < 0 ? head : head.slice(0, data);
  const coosys = /<(\w+:)?COOSYS\b[^>]*>/.exec(meta);
  if (coosys) {
    const system = attr(coosys[0], 'system');
    if (system) out.frame = system;
  }
  const table = /<(\w+:)?TABLE\b[^>]*>\s*<(\w+:)?DESCRIPTION>([\s\S]*?)<\/(\w+:)?DESCRIPTION>/.exec(meta);
  if (table) out.description = unxml(table[3].replace(/<!\[CDATA\[([\s\S]*?)\]\]>/g, '$1')).trim();
  return out;
}

function toDataFileError(e: unknown, path: string): unknown {
  if (e instanceof VOTableReadError) return new DataFileError(e.message, path, e.row, e.column);
  return e;
}

export async function openVOTable(
  path: string,
  size: number,
  gzip: boolean,
  head: Buffer,
  opts: VOTableReadOptions = {},
): Promise<DataSource> {
  const bytes = opts.bytes ?? openFileBytes(path, size, gzip);
  const events = readVOTable(bytes.chunks(), {
    batchRows: Math.max(1, opts.batchRows ?? 10_000),
    maxBytes: Number.MAX_SAFE_INTEGER,
    maxRows: Number.MAX_SAFE_INTEGER,
    maxColumns: 10_000,
  })[Symbol.asyncIterator]();
  let first: Extract<ReadEvent, { kind: 'fields' }>;
  try {
    const r = await events.next();
    if (r.done || r.value.kind !== 'fields')
      throw new DataFileError('the VOTable has no TABLE with FIELDs', path);
    first = r.value;
  } catch (e) {
    bytes.close();
    await events.return?.(undefined);
    throw toDataFileError(e, path);
  }
  const columns: SourceColumn[] = first.fields.map((f) => ({
    name: f.name,
    datatype: f.datatype,
    ...(f.arraysize !== undefined && { arraysize: f.arraysize }),
    ...(f.xtype !== undefined && { xtype: f.xtype }),
    ...(f.unit !== undefined && { unit: f.unit }),
    ...(f.ucd !== undefined && { ucd: f.ucd }),
    ...(f.utype !== undefined && { utype: f.utype }),
    ...(f.description !== undefined && { description: f.description.trim().replace(/\s+/g, ' ') }),
  }));
  // Scalar float columns: NaN is the VOTable null of floating-point types (VOT-29).
  const floats = columns
    .map((c, i) =>
      (c.datatype === 'float' || c.datatype === 'double') &&
      (c.arraysize === undefined || c.arraysize === '1')
        ? i
        : -1,
    )
    .filter((i) => i >= 0);
  // BINARY has no null for strings: its writers leave them empty, as CSV does.
  const chars = columns
    .map((c, i) =>
      (c.datatype === 'char' || c.datatype === 'unicodeChar') && !c.arraysize?.includes('x') ? i : -1,
    )
    .filter((i) => i >= 0);
  const { frame, description } = headMeta(head.toString('utf8'));

  async function* batches(): AsyncGenerator<SourceBatch> {
    let row = 1;
    try {
      for (;;) {
        const r = await events.next();
        if (r.done) return;
        if (r.value.kind !== 'rows') continue;
        const rows = r.value.rows;
        if (floats.length > 0)
          for (const rw of rows)
            for (const i of floats) {
              const v = rw[i];
              if (typeof v === 'number' && Number.isNaN(v)) rw[i] = null;
            }
        if (chars.length > 0) for (const rw of rows) for (const i of chars) if (rw[i] === '') rw[i] = null;
        yield { firstRow: row, rows };
        row += rows.length;
      }
    } catch (e) {
      throw toDataFileError(e, path);
    } finally {
      await events.return?.(undefined);
      bytes.close();
    }
  }

  let iterated = false;
  return {
    path,
    format: 'votable',
    columns,
    meta: {
      ...(first.tableName && { name: first.tableName }),
      ...(description && { description }),
      ...(frame && { frame }),
    },
    totalBytes: size,
    bytesRead: () => bytes.bytesRead(),
    batches() {
      if (iterated) throw new DataFileError('the rows of a data source can be read once', path);
      iterated = true;
      return batches();
    },
    async close() {
      await events.return?.(undefined);
      bytes.close();
    },
  };
}
