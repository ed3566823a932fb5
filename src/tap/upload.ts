import { createWriteStream } from 'node:fs';
import { mkdtemp, open, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type pg from 'pg';
import type { CatalogueTable } from '../../adql/index.js';
import { type ReadEvent, type ReadField, readVOTable, VOTableReadError } from '../../votable/index.js';
import { READER_ROLE } from '../auth/index.js';
import { DaliError } from '../dali/index.js';
import { copyRows } from '../ingest/copy.js';
import { openParquet } from '../publish/readers/parquet.js';
import { DataFileError } from '../publish/source.js';
import type { UploadSpec } from './request.js';
import { DEFAULT_MAX_REDIRECTS, openUploadUrl } from './upload-url.js';

export interface UploadLimits {
  readonly maxBytes: number;
  readonly maxRows: number;
  readonly maxTables: number;
  /** Seconds to fetch an http(s) upload. */
  readonly fetchTimeoutSeconds: number;
  /** Allow URLs on loopback and private networks (tests and closed deployments only). */
  readonly allowPrivateUrls: boolean;
  /** Redirects an upload fetch follows, each hop checked again (default 5). */
  readonly maxRedirects?: number;
  /** How upload hosts become addresses (tests); the system resolver by default. */
  readonly resolve?: (hostname: string) => Promise<readonly string[]>;
}

/** A spooled upload: the VOTable bytes on local disk, bounded by maxBytes. */
export interface SpooledFile {
  readonly path: string;
  readonly bytes: number;
}

/** A folder of spooled uploads for one request, removed when done. */
export class UploadSpool {
  private dir: string | undefined;
  readonly files = new Map<string, SpooledFile>();

  constructor(private readonly limits: UploadLimits) {}

  private async folder(): Promise<string> {
    this.dir ??= await mkdtemp(join(tmpdir(), 'vonode-upload-'));
    return this.dir;
  }

  /** Writes a multipart file part to disk, refusing it past the byte limit (TAP-51). */
  async addPart(part: string, stream: Readable): Promise<void> {
    if (this.files.size >= this.limits.maxTables)
      throw new DaliError(`more than ${this.limits.maxTables} uploaded files in one request`);
    const path = join(await this.folder(), `part-${this.files.size}`);
    const bytes = await this.write(stream, path, `the upload '${part}'`);
    this.files.set(`param:${part}`, { path, bytes });
  }

  /**
   * Fetches an http(s) upload with size and time limits (TAP-46), from public addresses
   * only unless configured (upload-url.ts: resolved once, checked, connected to as checked).
   */
  async addUrl(url: URL): Promise<void> {
    const key = url.toString();
    if (this.files.has(key)) return;
    const { body, length } = await openUploadUrl(url, {
      allowPrivate: this.limits.allowPrivateUrls,
      timeoutSeconds: this.limits.fetchTimeoutSeconds,
      maxRedirects: this.limits.maxRedirects ?? DEFAULT_MAX_REDIRECTS,
      ...(this.limits.resolve ? { resolve: this.limits.resolve } : {}),
    });
    if (length !== undefined && length > this.limits.maxBytes) {
      body.destroy();
      throw new DaliError(`the upload ${url} is ${length} bytes; the limit is ${this.limits.maxBytes}`);
    }
    const path = join(await this.folder(), `url-${this.files.size}`);
    let bytes: number;
    try {
      bytes = await this.write(body, path, `the upload ${url}`);
    } catch (err) {
      if (err instanceof DaliError) throw err;
      throw new DaliError(`could not fetch the upload ${url}: the transfer broke off`);
    }
    this.files.set(key, { path, bytes });
  }

  private async write(stream: Readable, path: string, what: string): Promise<number> {
    let bytes = 0;
    const max = this.limits.maxBytes;
    const counter = new Transform({
      transform(chunk: Buffer, _enc, cb) {
        bytes += chunk.length;
        if (bytes > max) cb(new DaliError(`${what} is larger than the limit of ${max} bytes`, 413));
        else cb(null, chunk);
      },
    });
    await pipeline(stream, counter, createWriteStream(path));
    return bytes;
  }

  fileFor(spec: UploadSpec): SpooledFile {
    const key = spec.source.kind === 'param' ? `param:${spec.source.part}` : spec.source.url.toString();
    const f = this.files.get(key);
    if (!f) {
      throw new DaliError(
        spec.source.kind === 'param'
          ? `UPLOAD '${spec.name}' refers to the part '${spec.source.part}', which is not in the request (send it as a multipart file part of that name)`
          : `UPLOAD '${spec.name}' was not fetched`,
      );
    }
    return f;
  }

  async dispose(): Promise<void> {
    if (this.dir) await rm(this.dir, { recursive: true, force: true });
  }
}

/** Inline uploads of an async job are kept on disk under this scheme until the job runs. */
export const STORED_UPLOAD_SCHEME = 'vonode-upload:';

/**
 * Whether a client's UPLOAD value names the node's reserved scheme, which only the node
 * writes. URL schemes are case-insensitive (RFC 3986 §3.1) and the URL parser drops tabs
 * and line breaks anywhere and control characters at the ends, so both the text (ignoring
 * case and those characters) and each item as the URL parser reads it are checked.
 */
export function usesStoredUploadScheme(value: string): boolean {
  const squeezed = value.replace(/[\u0000-\u001f\u007f]/g, '').toLowerCase();
  if (squeezed.includes(STORED_UPLOAD_SCHEME)) return true;
  for (const item of value.split(';')) {
    const comma = item.indexOf(',');
    try {
      if (new URL(item.slice(comma + 1).trim()).protocol === STORED_UPLOAD_SCHEME) return true;
    } catch {
      // not a URL: parseUploads refuses it at run time
    }
  }
  return false;
}

const UPLOAD_SCHEMA = 'TAP_UPLOAD';

/**
 * Loads one uploaded VOTable into a temporary table of this transaction (it vanishes
 * with the rollback at the end), streaming rows through COPY so memory stays flat,
 * and returns it as a catalogue table TAP_UPLOAD.name (TAP-48, TAP-49).
 */
export async function loadUpload(
  client: pg.PoolClient,
  spec: UploadSpec,
  file: SpooledFile,
  limits: UploadLimits,
  index: number,
): Promise<CatalogueTable> {
  // Opened here so a missing file is a plain message: the error of a failed open names the
  // file's path in the data folder, which a client must never read.
  const handle = await open(file.path).catch(() => {
    throw new DaliError(`the upload '${spec.name}' is no longer available`);
  });
  // Parquet is known by its magic number (the format's "PAR1"), whatever the client calls it.
  const magic = Buffer.alloc(4);
  await handle.read(magic, 0, 4, 0);
  const isParquet = magic.toString('latin1') === 'PAR1';
  let fields: ReadField[];
  let iterator: AsyncIterator<ReadEvent>;
  try {
    if (isParquet) {
      await handle.close();
      ({ fields, iterator } = await parquetEvents(file, limits));
    } else {
      iterator = readVOTable(handle.createReadStream(), {
        maxBytes: limits.maxBytes,
        maxRows: limits.maxRows,
        batchRows: 2000,
      })[Symbol.asyncIterator]();
      const first = await iterator.next();
      if (first.done || first.value.kind !== 'fields')
        throw new DaliError(`UPLOAD '${spec.name}' holds no table`);
      fields = first.value.fields;
    }
  } catch (err) {
    throw uploadError(spec, err);
  }
  if (fields.length === 0) throw new DaliError(`UPLOAD '${spec.name}' declares no FIELD`);
  const table = `tap_upload_${index}_${spec.name.toLowerCase()}`;
  const columns = fields.map((f, i) => ({ field: f, sqlName: `c${i}` }));
  const seen = new Set<string>();
  for (const f of fields) {
    if (seen.has(f.name)) throw new DaliError(`UPLOAD '${spec.name}' has two columns named '${f.name}'`);
    seen.add(f.name);
  }
  const ddl = columns.map((c) => `"${c.sqlName}" ${sqlType(c.field)}`).join(', ');
  await client.query(`CREATE TEMPORARY TABLE "${table}" (${ddl}) ON COMMIT DROP`);
  await client.query(`GRANT SELECT ON pg_temp."${table}" TO ${READER_ROLE}`);
  async function* rows(): AsyncGenerator<readonly unknown[]> {
    try {
      while (true) {
        const next = await iterator.next();
        if (next.done) return;
        if (next.value.kind === 'rows')
          for (const r of next.value.rows) yield r.map((v, i) => toSqlValue(v, columns[i].field));
      }
    } catch (err) {
      throw uploadError(spec, err);
    }
  }
  await client.query('SAVEPOINT upload');
  try {
    await copyRows(client, { schema: 'pg_temp', table, columns: columns.map((c) => c.sqlName) }, rows());
    await client.query('RELEASE SAVEPOINT upload');
  } catch (err) {
    await client.query('ROLLBACK TO SAVEPOINT upload').catch(() => {});
    throw uploadError(spec, err);
  }
  await client.query(`ANALYZE pg_temp."${table}"`);
  return {
    schema: UPLOAD_SCHEMA,
    name: spec.name,
    sql: { schema: 'pg_temp', table },
    description: `uploaded table ${spec.name}`,
    columns: columns.map(({ field, sqlName }) => ({
      name: /^[A-Za-z][A-Za-z0-9_]*$/.test(field.name) ? field.name : `"${field.name.replace(/"/g, '""')}"`,
      sqlName,
      // Kept as PostgreSQL booleans, bits come back as VOTable booleans: astropy writes numpy
      // bool columns as bit, and reads BINARY/BINARY2 bits with the wrong mask (0x08 for the
      // first bit, VOT-35 says 0x80), so an uploaded True came back False (issue 19).
      datatype: field.datatype === 'bit' ? 'boolean' : field.datatype,
      // arraysize="1" is the default and deprecated (VOTable 1.3 erratum 3): not echoed.
      ...(field.arraysize && field.arraysize !== '1' ? { arraysize: field.arraysize } : {}),
      ...(field.xtype ? { xtype: field.xtype } : {}),
      ...(field.unit ? { unit: field.unit } : {}),
      ...(field.ucd ? { ucd: field.ucd } : {}),
      ...(field.utype ? { utype: field.utype } : {}),
      ...(field.description ? { description: field.description } : {}),
    })),
  };
}

/**
 * A Parquet upload as the VOTable reader's events: the columns (with the VOParquet footer's
 * FIELD metadata where it has one), then rows, one row group in memory at a time.
 */
async function parquetEvents(
  file: SpooledFile,
  limits: UploadLimits,
): Promise<{ fields: ReadField[]; iterator: AsyncIterator<ReadEvent> }> {
  const source = await openParquet(file.path, file.bytes, { batchRows: 2000 });
  const fields: ReadField[] = source.columns.map((c) => ({ ...c }));
  async function* events(): AsyncGenerator<ReadEvent> {
    let rows = 0;
    for await (const batch of source.batches()) {
      rows += batch.rows.length;
      if (rows > limits.maxRows)
        throw new DaliError(`the upload has more than ${limits.maxRows} rows, the limit`, 413);
      yield { kind: 'rows', rows: batch.rows as unknown[][] };
    }
  }
  return { fields, iterator: events() };
}

function uploadError(spec: UploadSpec, err: unknown): Error {
  if (err instanceof DaliError) return err;
  if (err instanceof DataFileError)
    return new DaliError(`UPLOAD '${spec.name}' is not a valid Parquet file: ${err.message}`);
  if (err instanceof VOTableReadError)
    return new DaliError(`UPLOAD '${spec.name}' is not a valid VOTable: ${err.message}`);
  const e = err as { message?: string; code?: string };
  if (e.code && /^(22|23)/.test(e.code))
    return new DaliError(`UPLOAD '${spec.name}' has a value PostgreSQL refuses: ${e.message}`);
  return err instanceof Error ? err : new Error(String(err));
}

const SCALAR: Record<string, string> = {
  boolean: 'boolean',
  bit: 'boolean',
  unsignedByte: 'smallint',
  short: 'smallint',
  int: 'integer',
  long: 'bigint',
  float: 'real',
  double: 'double precision',
  floatComplex: 'real[]',
  doubleComplex: 'double precision[]',
};

/** The PostgreSQL type that keeps an uploaded column's values (TAP-52). */
function sqlType(f: ReadField): string {
  if (f.datatype === 'char' || f.datatype === 'unicodeChar')
    return f.xtype === 'timestamp' ? 'timestamp' : 'text';
  const base = SCALAR[f.datatype] ?? 'text';
  const isArray = f.arraysize !== undefined && f.arraysize !== '1';
  if (base.endsWith('[]')) return base;
  return isArray ? `${base}[]` : base;
}

function toSqlValue(v: unknown, f: ReadField): unknown {
  if (v === null || v === undefined) return null;
  if ((f.datatype === 'floatComplex' || f.datatype === 'doubleComplex') && Array.isArray(v)) return v.flat();
  if (Array.isArray(v) && (f.datatype === 'char' || f.datatype === 'unicodeChar')) return v.join('');
  return v;
}
