import { resolve } from 'node:path';
import type pg from 'pg';
import { withMaintenance } from '../auth/index.js';
import { type DescribeFitsOptions, describeFitsProduct } from './fits-product.js';
import { OBSCORE_RECORD_COLUMNS, type ObsCoreRecord } from './obscore-record.js';

export interface IngestOptions {
  readonly collection: string;
  /** Base URL of the node: access_url is its DataLink {links} URL for the product (OBS-52). */
  readonly baseUrl: string;
  /** Authority of the publisher DIDs, e.g. ivo://src.example.org/products. */
  readonly didPrefix: string;
  readonly ownerGroup?: string | null;
  /** ISO-8601; null keeps the product proprietary (OBS-82). */
  readonly releaseDate?: string | null;
  readonly dataRights?: 'public' | 'proprietary';
  readonly sha256?: boolean;
}

export interface IngestOutcome {
  readonly path: string;
  readonly ok: boolean;
  readonly did?: string;
  readonly error?: string;
}

export function publisherDid(prefix: string, fileName: string): string {
  return `${prefix}?${fileName.replace(/\.fits(\.gz)?$/i, '')}`;
}

export function datalinkUrl(baseUrl: string, did: string): string {
  return `${baseUrl}/datalink/links?ID=${encodeURIComponent(did)}`;
}

/**
 * Registers FITS products in ivoa.obscore. Each file is read (headers only) and then
 * written in a transaction of its own, keyed by its path: a bad file is reported and
 * skipped, never half-ingested, and ingesting the same file again replaces its row.
 */
export async function ingestProducts(
  pool: pg.Pool,
  paths: readonly string[],
  opts: IngestOptions,
): Promise<IngestOutcome[]> {
  const outcomes: IngestOutcome[] = [];
  for (const raw of paths) {
    const path = resolve(raw);
    let record: ObsCoreRecord;
    try {
      const describe: DescribeFitsOptions = {
        collection: opts.collection,
        publisherDid: (_obsId, fileName) => publisherDid(opts.didPrefix, fileName),
        accessUrl: (_obsId, did) => datalinkUrl(opts.baseUrl, did),
        dataRights: opts.dataRights ?? (opts.ownerGroup ? 'proprietary' : 'public'),
        ownerGroup: opts.ownerGroup ?? null,
        sha256: opts.sha256 ?? false,
      };
      if (opts.releaseDate !== undefined) describe.obsReleaseDate = opts.releaseDate;
      record = await describeFitsProduct(path, describe);
    } catch (err) {
      outcomes.push({ path, ok: false, error: err instanceof Error ? err.message : String(err) });
      continue;
    }
    const client = await pool.connect();
    try {
      await upsertRecord(client, record);
    } finally {
      client.release();
    }
    outcomes.push({ path, ok: true, did: record.obs_publisher_did });
  }
  return outcomes;
}

/** Insert or replace one ObsCore row (by file path), as maintenance under forced RLS. */
export async function upsertRecord(client: pg.ClientBase, record: ObsCoreRecord): Promise<void> {
  const cols = OBSCORE_RECORD_COLUMNS;
  const values = cols.map((c) => record[c]);
  try {
    await client.query('BEGIN');
    await withMaintenance(client);
    await client.query('DELETE FROM ivoa.obscore WHERE file_path = $1 OR obs_publisher_did = $2', [
      record.file_path,
      record.obs_publisher_did,
    ]);
    await client.query(
      `INSERT INTO ivoa.obscore (${cols.join(', ')}) VALUES (${cols.map((_, i) => `$${i + 1}`).join(', ')})`,
      values,
    );
    await client.query('COMMIT');
  } catch (err) {
    await client.query('ROLLBACK').catch(() => {});
    throw err;
  }
}
