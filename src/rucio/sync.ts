/**
 * Rucio DIDs into ivoa.obscore by polling the Data Management API. A poll, not a feed or a
 * webhook: the DM API offers neither (its routes list, describe and locate data; Rucio's own
 * message broker is not exposed through it), a poll needs nothing from the SRC's operators but
 * a token, it is idempotent (a node that was down or a DM API that was unreachable catches up at
 * the next one), and only a full listing shows which DIDs have left Rucio.
 *
 * Each namespace is listed, each DID's metadata read and, when it changed (its SHA-256), written
 * through storeProduct, the very writer of FITS ingest (ObsCore and radio rows, rights, DID and
 * access_url rules). DIDs of a namespace that was listed and that are no longer in it, or no
 * longer have ObsCore metadata, are removed. A namespace that could not be listed, and a DID
 * whose metadata could not be read, keep their rows: an outage removes nothing.
 */
import { createHash } from 'node:crypto';
import type pg from 'pg';
import { withMaintenance } from '../auth/index.js';
import { notifyProductsChanged, storeProduct } from '../ingest/products.js';
import type { DmApiClient } from './client.js';
import { NotObsCore, recordFromMetadata } from './record.js';

export interface SyncReport {
  readonly added: number;
  readonly updated: number;
  readonly unchanged: number;
  readonly removed: number;
  /** DIDs listed whose metadata is not ObsCore (skipped). */
  readonly notObsCore: number;
  /** One line per failure (a namespace not listed, a DID not read or not written). */
  readonly errors: readonly string[];
}

export interface SyncOptions {
  readonly authority: string;
  readonly namespaces: readonly string[];
  /** DM API requests at once. */
  readonly concurrency?: number;
  readonly log?: (line: string) => void;
}

/** Canonical JSON (sorted keys) of the metadata, so the hash does not depend on key order. */
function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (v && typeof v === 'object')
    return `{${Object.keys(v)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical((v as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  return JSON.stringify(v) ?? 'null';
}

async function mapLimit<T>(
  items: readonly T[],
  limit: number,
  fn: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await fn(items[next++]);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

/** One pass over the namespaces. */
export async function syncRucio(pool: pg.Pool, dm: DmApiClient, opts: SyncOptions): Promise<SyncReport> {
  let added = 0;
  let updated = 0;
  let unchanged = 0;
  let removed = 0;
  let notObsCore = 0;
  const errors: string[] = [];
  for (const scope of opts.namespaces) {
    let names: string[];
    try {
      names = [...new Set(await dm.listNames(scope))];
    } catch (err) {
      errors.push(`namespace ${scope} not listed, its products kept: ${(err as Error).message}`);
      continue;
    }
    const known = new Map<string, string>();
    for (const r of (
      await pool.query<{ name: string; metadata_sha256: string }>(
        'SELECT name, metadata_sha256 FROM rucio.products WHERE scope = $1',
        [scope],
      )
    ).rows)
      known.set(r.name, r.metadata_sha256);
    // Names still (or possibly still) ObsCore products of Rucio: the rest of `known` is removed.
    const keep = new Set<string>();
    await mapLimit(names, opts.concurrency ?? 8, async (name) => {
      let meta: Record<string, unknown> | undefined;
      try {
        meta = await dm.metadata(scope, name);
      } catch (err) {
        keep.add(name);
        errors.push(`${scope}:${name} not read, its product kept: ${(err as Error).message}`);
        return;
      }
      if (meta === undefined) return; // listed, then gone
      const sha = createHash('sha256').update(canonical(meta)).digest('hex');
      if (known.get(name) === sha) {
        keep.add(name);
        unchanged++;
        return;
      }
      let record: ReturnType<typeof recordFromMetadata>;
      try {
        record = recordFromMetadata(opts.authority, scope, name, meta);
      } catch (err) {
        if (err instanceof NotObsCore) {
          notObsCore++;
          return;
        }
        throw err;
      }
      const client = await pool.connect();
      try {
        await storeProduct(client, record, { didTaken: 'replace' });
        await client.query(
          `INSERT INTO rucio.products (obs_publisher_did, scope, name, metadata_sha256) VALUES ($1, $2, $3, $4)
           ON CONFLICT (scope, name) DO UPDATE SET obs_publisher_did = EXCLUDED.obs_publisher_did,
             metadata_sha256 = EXCLUDED.metadata_sha256, synced_at = now()`,
          [record.obs_publisher_did, scope, name, sha],
        );
        keep.add(name);
        if (known.has(name)) updated++;
        else added++;
      } catch (err) {
        keep.add(name);
        errors.push(`${scope}:${name} not written: ${(err as Error).message}`);
      } finally {
        client.release();
      }
    });
    const gone = [...known.keys()].filter((n) => !keep.has(n));
    if (gone.length > 0) removed += await removeProducts(pool, scope, gone);
  }
  if (added + updated + removed > 0) await notifyProductsChanged(pool);
  const report = { added, updated, unchanged, removed, notObsCore, errors };
  opts.log?.(
    `rucio sync: ${added} added, ${updated} updated, ${unchanged} unchanged, ${removed} removed, ${notObsCore} without ObsCore metadata, ${errors.length} errors`,
  );
  return report;
}

/** Removes the products of DIDs that left Rucio (their rucio.products rows go with them). */
async function removeProducts(pool: pg.Pool, scope: string, names: readonly string[]): Promise<number> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    await withMaintenance(client);
    const r = await client.query(
      `DELETE FROM ivoa.obscore WHERE obs_publisher_did IN
         (SELECT obs_publisher_did FROM rucio.products WHERE scope = $1 AND name = ANY($2::text[]))`,
      [scope, [...names]],
    );
    await client.query('COMMIT');
    return r.rowCount ?? 0;
  } catch (err) {
    await client.query('ROLLBACK').catch(() => {});
    throw err;
  } finally {
    client.release();
  }
}

/**
 * The node's poll: a sync every `intervalSeconds`, one process at a time among those sharing
 * the database (a session advisory lock; the others skip that round). Failures are logged,
 * never thrown: the node serves on.
 */
export function startRucioPoll(
  pool: pg.Pool,
  dm: DmApiClient,
  opts: SyncOptions & { readonly intervalSeconds: number; readonly warn: (line: string) => void },
): { stop(): Promise<void> } {
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;
  let stopped = false;
  const round = async () => {
    const client = await pool.connect();
    try {
      const lock = await client.query<{ ok: boolean }>(
        "SELECT pg_try_advisory_lock(hashtext('vonode.rucio.sync')) AS ok",
      );
      if (!lock.rows[0]?.ok) return;
      try {
        const report = await syncRucio(pool, dm, opts);
        for (const e of report.errors) opts.warn(`rucio sync: ${e}`);
      } finally {
        await client.query("SELECT pg_advisory_unlock(hashtext('vonode.rucio.sync'))");
      }
    } finally {
      client.release();
    }
  };
  const schedule = (seconds: number) => {
    if (stopped) return;
    timer = setTimeout(() => {
      running = round()
        .catch((err) => opts.warn(`rucio sync failed: ${(err as Error).message}`))
        .finally(() => schedule(opts.intervalSeconds));
    }, seconds * 1000);
    timer.unref();
  };
  schedule(0);
  return {
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      await running?.catch(() => {});
    },
  };
}
