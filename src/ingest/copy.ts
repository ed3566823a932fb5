import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';

export interface CopyTarget {
  readonly schema: string;
  readonly table: string;
  readonly columns: readonly string[];
}

const CHUNK_BYTES = 256 * 1024;

/**
 * Streams rows into a table with COPY FROM STDIN (text format), the fastest way
 * into PostgreSQL; memory holds one chunk at a time whatever the row count.
 * Runs inside the caller's client so a caller can make it part of a transaction.
 */
export async function copyRows(
  client: pg.ClientBase,
  target: CopyTarget,
  rows: Iterable<readonly unknown[]> | AsyncIterable<readonly unknown[]>,
): Promise<number> {
  const ident = (s: string) => `"${s.replace(/"/g, '""')}"`;
  const sql = `COPY ${ident(target.schema)}.${ident(target.table)} (${target.columns.map(ident).join(', ')}) FROM STDIN`;
  let count = 0;
  const width = target.columns.length;
  async function* chunks(): AsyncGenerator<string> {
    let buf = '';
    for await (const row of rows as AsyncIterable<readonly unknown[]>) {
      if (row.length !== width)
        throw new Error(`row ${count + 1} has ${row.length} values for ${width} columns`);
      for (let i = 0; i < width; i++) {
        if (i > 0) buf += '\t';
        buf += copyText(row[i]);
      }
      buf += '\n';
      count++;
      if (buf.length >= CHUNK_BYTES) {
        yield buf;
        buf = '';
      }
    }
    if (buf.length > 0) yield buf;
  }
  await pipeline(Readable.from(chunks()), client.query(copyFrom(sql)));
  return count;
}

/** One value in COPY's text format: \N for null, backslash escapes for the rest. */
export function copyText(v: unknown): string {
  if (v === null || v === undefined) return '\\N';
  if (typeof v === 'number')
    return Number.isFinite(v) ? String(v) : Number.isNaN(v) ? 'NaN' : v > 0 ? 'Infinity' : '-Infinity';
  if (typeof v === 'bigint' || typeof v === 'boolean') return String(v);
  if (v instanceof Date) return v.toISOString();
  if (Array.isArray(v))
    return `{${v.map((x) => (x === null ? 'NULL' : copyArrayItem(x))).join(',')}}`.replace(/\\/g, '\\\\');
  return String(v).replace(/[\\\t\n\r]/g, (c) =>
    c === '\\' ? '\\\\' : c === '\t' ? '\\t' : c === '\n' ? '\\n' : '\\r',
  );
}

function copyArrayItem(x: unknown): string {
  if (typeof x === 'number' || typeof x === 'bigint') return String(x);
  return `"${String(x).replace(/["\\]/g, (c) => `\\${c}`)}"`;
}
