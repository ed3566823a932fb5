import { resolve } from 'node:path';
import type pg from 'pg';
import { withMaintenance } from '../auth/index.js';
import { CATALOGUE_CHANNEL } from '../catalogue/index.js';
import { type DescribeFitsOptions, describeFitsProduct } from './fits-product.js';
import { storeRadioRecord } from './obscore-radio.js';
import { OBSCORE_RECORD_COLUMNS, type ObsCoreRecord } from './obscore-record.js';

export interface IngestOptions {
  readonly collection: string;
  /** Authority of the publisher DIDs, e.g. ivo://src.example.org/products. */
  readonly didPrefix: string;
  readonly ownerGroup?: string | null;
  /** ISO-8601; null (or absent with an owner group) keeps the product proprietary for ever (OBS-82). */
  readonly releaseDate?: string | null;
  readonly dataRights?: 'public' | 'proprietary';
  /** Hash every file (stored in file_sha256, copies reported). Default true. */
  readonly sha256?: boolean;
  /** Called after each file, for progress on long ingests. */
  readonly onFile?: (done: number, total: number, outcome: IngestOutcome) => void;
}

export interface IngestOutcome {
  readonly path: string;
  readonly ok: boolean;
  readonly did?: string;
  readonly error?: string;
  /** 'new' row, or the file's own row 'updated' in place. */
  readonly action?: 'new' | 'updated';
  /** The DID the file name gives was another file's: this one got a numbered DID. */
  readonly nameTakenBy?: string;
  /** Products holding the very same bytes (same SHA-256) under other paths. */
  readonly sameContentAs?: readonly { did: string; path: string }[];
}

export function publisherDid(prefix: string, fileName: string): string {
  return `${prefix}?${fileName.replace(/\.fits(\.gz)?$/i, '')}`;
}

/**
 * access_url as stored: the DataLink {links} address of the product relative to the node
 * (OBS-52). The node's base URL goes in front when the row is read (ivoa.node_url, sql/148),
 * so a node that moves keeps right links without re-ingesting.
 */
export function datalinkUrl(did: string): string {
  return `datalink/links?ID=${encodeURIComponent(did)}`;
}

/** Payload of the catalogue NOTIFY that tells every node process the products changed. */
export const PRODUCTS_CHANGED = 'ivoa.obscore';

/** Tells every node process sharing the database that ivoa.obscore changed (HiPS, caches). */
export async function notifyProductsChanged(client: pg.Pool | pg.ClientBase): Promise<void> {
  await client.query('SELECT pg_notify($1, $2)', [CATALOGUE_CHANNEL, PRODUCTS_CHANGED]);
}

/**
 * Registers FITS products in ivoa.obscore. Each file is read (headers only, and hashed) and
 * then written in a transaction of its own, keyed by its path: a bad file is reported and
 * skipped, never half-ingested; ingesting the same file again updates its row in place (its
 * DID and replicas kept); a file whose name another file's product already has gets a
 * numbered DID instead of replacing that product. One NOTIFY at the end tells every node
 * process (the HiPS reloads, SIA/TAP/DataLink read the table anyway).
 */
export async function ingestProducts(
  pool: pg.Pool,
  paths: readonly string[],
  opts: IngestOptions,
): Promise<IngestOutcome[]> {
  const outcomes: IngestOutcome[] = [];
  let changed = false;
  for (const raw of paths) {
    const path = resolve(raw);
    let outcome: IngestOutcome;
    try {
      const describe: DescribeFitsOptions = {
        collection: opts.collection,
        publisherDid: (_obsId, fileName) => publisherDid(opts.didPrefix, fileName),
        accessUrl: (_obsId, did) => datalinkUrl(did),
        dataRights: opts.dataRights ?? (opts.ownerGroup ? 'proprietary' : 'public'),
        ownerGroup: opts.ownerGroup ?? null,
        sha256: opts.sha256 ?? true,
      };
      // With an owner group and no date, the release date stays NULL: never public (OBS-82).
      if (opts.releaseDate !== undefined) describe.obsReleaseDate = opts.releaseDate;
      else if (opts.ownerGroup) describe.obsReleaseDate = null;
      const record = await describeFitsProduct(path, describe);
      const client = await pool.connect();
      try {
        const stored = await storeProduct(client, record, {
          didTaken: 'number',
          accessUrl: (did) => datalinkUrl(did),
        });
        changed = true;
        outcome = { path, ok: true, ...stored };
      } finally {
        client.release();
      }
    } catch (err) {
      outcome = { path, ok: false, error: err instanceof Error ? err.message : String(err) };
    }
    outcomes.push(outcome);
    opts.onFile?.(outcomes.length, paths.length, outcome);
  }
  if (changed) await notifyProductsChanged(pool);
  return outcomes;
}

interface StoreOptions {
  /**
   * When the record's DID belongs to a product of another file: 'replace' that product (the
   * demo, whose DIDs are fixed), or give this one the first free numbered DID (`name-2`...).
   */
  readonly didTaken: 'replace' | 'number';
  /** The access_url of a renumbered DID. */
  readonly accessUrl?: (did: string) => string;
}

/**
 * Insert one ObsCore row, or update the row of the same file in place, as maintenance under
 * forced RLS. Updating (not delete + insert) keeps what hangs off the DID (replicas).
 */
export async function storeProduct(
  client: pg.ClientBase,
  input: ObsCoreRecord,
  opts: StoreOptions,
): Promise<Pick<IngestOutcome, 'did' | 'action' | 'nameTakenBy' | 'sameContentAs'>> {
  let record = input;
  try {
    await client.query('BEGIN');
    await withMaintenance(client);
    // Below the products root the file is recorded by its relative path (sql/170).
    const key = await client.query<{ k: string }>('SELECT ivoa.product_key($1) AS k', [record.file_path]);
    record = { ...record, file_path: key.rows[0].k };
    // One writer at a time per file path and per DID name (two ingests of one folder at once).
    await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [record.file_path]);
    const own = await client.query<{ obs_publisher_did: string }>(
      'SELECT obs_publisher_did FROM ivoa.obscore WHERE file_path = $1',
      [record.file_path],
    );
    let nameTakenBy: string | undefined;
    let action: 'new' | 'updated' = 'new';
    if (own.rows[0]) {
      action = 'updated';
      const did = own.rows[0].obs_publisher_did;
      if (did !== record.obs_publisher_did) {
        if (opts.didTaken === 'replace') {
          // The demo's fixed DIDs: the row takes the DID it is given, from whichever row had it.
          await client.query('DELETE FROM ivoa.obscore WHERE obs_publisher_did = $1 AND file_path <> $2', [
            record.obs_publisher_did,
            record.file_path,
          ]);
        } else {
          // A site's product keeps its DID (a persistent identifier) when its file is ingested again.
          record = {
            ...record,
            obs_publisher_did: did,
            access_url: opts.accessUrl?.(did) ?? record.access_url,
          };
        }
      }
    } else {
      const taken = await client.query<{ file_path: string }>(
        'SELECT ivoa.product_file(file_path) AS file_path FROM ivoa.obscore WHERE obs_publisher_did = $1',
        [record.obs_publisher_did],
      );
      if (taken.rows[0]) {
        if (opts.didTaken === 'replace') {
          await client.query('DELETE FROM ivoa.obscore WHERE obs_publisher_did = $1', [
            record.obs_publisher_did,
          ]);
        } else {
          nameTakenBy = taken.rows[0].file_path;
          const did = await freeNumberedDid(client, record.obs_publisher_did);
          record = {
            ...record,
            obs_publisher_did: did,
            access_url: opts.accessUrl?.(did) ?? record.access_url,
          };
        }
      }
    }
    const cols = OBSCORE_RECORD_COLUMNS;
    const values = cols.map((c) => record[c]);
    if (action === 'updated') {
      await client.query(
        `UPDATE ivoa.obscore SET ${cols.map((c, i) => `${c} = $${i + 1}`).join(', ')} WHERE file_path = $${cols.length + 1}`,
        [...values, record.file_path],
      );
    } else {
      await client.query(
        `INSERT INTO ivoa.obscore (${cols.join(', ')}) VALUES (${cols.map((_, i) => `$${i + 1}`).join(', ')})`,
        values,
      );
    }
    // The radio extension's row follows its ObsCore row (replaced on re-ingest; retract
    // removes it through the foreign key).
    await storeRadioRecord(client, record.obs_publisher_did, record.radio);
    const same = record.file_sha256
      ? await client.query<{ did: string; path: string }>(
          `SELECT obs_publisher_did AS did, ivoa.product_file(file_path) AS path FROM ivoa.obscore
            WHERE file_sha256 = $1 AND file_path <> $2 ORDER BY 1`,
          [record.file_sha256, record.file_path],
        )
      : { rows: [] };
    await client.query('COMMIT');
    return {
      did: record.obs_publisher_did,
      action,
      ...(nameTakenBy !== undefined ? { nameTakenBy } : {}),
      ...(same.rows.length > 0 ? { sameContentAs: same.rows } : {}),
    };
  } catch (err) {
    await client.query('ROLLBACK').catch(() => {});
    throw err;
  }
}

/** `base-2`, `base-3`...: the first DID no product has. */
async function freeNumberedDid(client: pg.ClientBase, base: string): Promise<string> {
  const r = await client.query<{ did: string }>(
    'SELECT obs_publisher_did AS did FROM ivoa.obscore WHERE starts_with(obs_publisher_did, $1)',
    [`${base}-`],
  );
  const used = new Set(r.rows.map((x) => x.did));
  for (let n = 2; ; n++) if (!used.has(`${base}-${n}`)) return `${base}-${n}`;
}

/** Insert or replace one ObsCore row (by file path, else by DID): the demo's products. */
export async function upsertRecord(client: pg.ClientBase, record: ObsCoreRecord): Promise<void> {
  await storeProduct(client, record, { didTaken: 'replace' });
}

/** One product as `vonode products` lists it. */
export interface ProductListing {
  readonly did: string;
  readonly collection: string;
  readonly type: string | null;
  readonly path: string;
  readonly bytes: number;
  readonly ownerGroup: string | null;
  readonly releaseDate: Date | null;
}

/** Every product (maintenance: the operator sees all), optionally of one collection. */
export async function listProducts(pool: pg.Pool, collection?: string): Promise<ProductListing[]> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN READ ONLY');
    await withMaintenance(client);
    const r = await client.query(
      `SELECT obs_publisher_did, obs_collection, dataproduct_type, ivoa.product_file(file_path) AS file_path,
              file_size, owner_group, obs_release_date
         FROM ivoa.obscore WHERE ($1::text IS NULL OR obs_collection = $1) ORDER BY obs_collection, obs_publisher_did`,
      [collection ?? null],
    );
    await client.query('COMMIT');
    return r.rows.map((x) => ({
      did: x.obs_publisher_did,
      collection: x.obs_collection,
      type: x.dataproduct_type,
      path: x.file_path,
      bytes: Number(x.file_size ?? 0),
      ownerGroup: x.owner_group,
      releaseDate: x.obs_release_date,
    }));
  } catch (err) {
    await client.query('ROLLBACK').catch(() => {});
    throw err;
  } finally {
    client.release();
  }
}

/**
 * Removes products by DID or file path (their replicas go with them, ON DELETE CASCADE) and
 * tells every node process. The files themselves are left where they are. Returns the DIDs removed.
 */
export async function retractProducts(pool: pg.Pool, keys: readonly string[]): Promise<string[]> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    await withMaintenance(client);
    const r = await client.query<{ did: string }>(
      `DELETE FROM ivoa.obscore WHERE obs_publisher_did = ANY($1::text[])
          OR file_path = ANY(SELECT ivoa.product_key(k) FROM unnest($2::text[]) AS k)
       RETURNING obs_publisher_did AS did`,
      [[...keys], keys.map((k) => resolve(k))],
    );
    if (r.rows.length > 0) await notifyProductsChanged(client);
    await client.query('COMMIT');
    return r.rows.map((x) => x.did).sort();
  } catch (err) {
    await client.query('ROLLBACK').catch(() => {});
    throw err;
  } finally {
    client.release();
  }
}
