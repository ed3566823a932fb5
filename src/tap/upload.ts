import { lookup } from 'node:dns/promises';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { isIP } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type pg from 'pg';
import type { CatalogueTable } from '../../adql/index.js';
import { type ReadField, readVOTable, VOTableReadError } from '../../votable/index.js';
import { READER_ROLE } from '../auth/index.js';
import { DaliError } from '../dali/index.js';
import { copyRows } from '../ingest/copy.js';
import type { UploadSpec } from './request.js';

export interface UploadLimits {
  readonly maxBytes: number;
  readonly maxRows: number;
  readonly maxTables: number;
  /** Seconds to fetch an http(s) upload. */
  readonly fetchTimeoutSeconds: number;
  /** Allow URLs on loopback and private networks (tests and closed deployments only). */
  readonly allowPrivateUrls: boolean;
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

  /** Fetches an http(s) upload with size and time limits (TAP-46). */
  async addUrl(url: URL): Promise<void> {
    const key = url.toString();
    if (this.files.has(key)) return;
    await refusePrivateAddress(url, this.limits.allowPrivateUrls);
    const signal = AbortSignal.timeout(this.limits.fetchTimeoutSeconds * 1000);
    let res: Response;
    try {
      // No credentials of the caller are ever sent along (CLIENTS.md).
      res = await fetch(url, { signal, redirect: 'error' });
    } catch (err) {
      const why = signal.aborted
        ? `no answer within ${this.limits.fetchTimeoutSeconds} s`
        : (err as Error).message;
      throw new DaliError(`could not fetch the upload ${url}: ${why}`);
    }
    if (!res.ok || !res.body) throw new DaliError(`could not fetch the upload ${url}: HTTP ${res.status}`);
    const length = Number(res.headers.get('content-length') ?? 'NaN');
    if (length > this.limits.maxBytes) {
      await res.body.cancel();
      throw new DaliError(`the upload ${url} is ${length} bytes; the limit is ${this.limits.maxBytes}`);
    }
    const path = join(await this.folder(), `url-${this.files.size}`);
    const bytes = await this.write(
      Readable.fromWeb(res.body as import('node:stream/web').ReadableStream),
      path,
      `the upload ${url}`,
    );
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

async function refusePrivateAddress(url: URL, allowPrivate: boolean): Promise<void> {
  if (allowPrivate) return;
  const host = url.hostname.replace(/^\[|\]$/g, '');
  let addresses: string[];
  try {
    addresses = isIP(host) ? [host] : (await lookup(host, { all: true })).map((a) => a.address);
  } catch {
    throw new DaliError(`UPLOAD URL host '${host}' cannot be resolved`);
  }
  for (const a of addresses) {
    if (isPrivateAddress(a)) {
      throw new DaliError(
        `UPLOAD URL ${url} points at a loopback or private address, which this service does not fetch`,
      );
    }
  }
}

export function isPrivateAddress(ip: string): boolean {
  if (ip.includes(':')) {
    const v = ip.toLowerCase();
    if (v === '::1' || v === '::') return true;
    if (v.startsWith('fc') || v.startsWith('fd') || v.startsWith('fe80')) return true;
    const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(v);
    return mapped ? isPrivateAddress(mapped[1]) : false;
  }
  const [a, b] = ip.split('.').map(Number);
  return (
    a === 10 ||
    a === 127 ||
    a === 0 ||
    (a === 169 && b === 254) ||
    (a === 172 && b >= 16 && b <= 31) ||
    (a === 192 && b === 168) ||
    (a === 100 && b >= 64 && b <= 127)
  );
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
  const events = readVOTable(createReadStream(file.path), {
    maxBytes: limits.maxBytes,
    maxRows: limits.maxRows,
    batchRows: 2000,
  });
  const iterator = events[Symbol.asyncIterator]();
  let fields: ReadField[];
  try {
    const first = await iterator.next();
    if (first.done || first.value.kind !== 'fields')
      throw new DaliError(`UPLOAD '${spec.name}' holds no table`);
    fields = first.value.fields;
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
      datatype: field.datatype,
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

function uploadError(spec: UploadSpec, err: unknown): Error {
  if (err instanceof DaliError) return err;
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
