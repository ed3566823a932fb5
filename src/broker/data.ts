import { existsSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import type pg from 'pg';
import { type Identity, withMaintenance, withReadOnlyIdentity } from '../auth/index.js';
import { type DataResource, type Message, message, type ResolvedData } from './model.js';
import { localIds, locateRemote, type RemoteContext } from './staging-source.js';

interface Row {
  obs_publisher_did: string;
  file_path: string | null;
  file_size: string | null;
}

/**
 * Finds each data resource in ivoa.obscore (EB-45). The lookup runs with maintenance
 * rights (file_path is unpublished), then the caller's rights are checked under row-level
 * security. A product the caller may not read gets exactly the answer of one that does
 * not exist (issue 13, item 4): the same message with the caller's own identifiers, the
 * same status, so a non-member learns neither its existence nor its obs_id or dates.
 */
export async function resolveData(
  pool: pg.Pool,
  identity: Identity,
  data: readonly DataResource[],
  dataDir: string,
  /** Where products not on this node may be staged from (staging-source.ts); none = local only. */
  remote?: RemoteContext,
): Promise<{ resolved: ResolvedData[]; messages: Message[] }> {
  const resolved: ResolvedData[] = [];
  const messages: Message[] = [];
  for (const [i, d] of data.entries()) {
    const found = await findProduct(pool, localIds(d.ids, remote?.settings));
    // The check runs for an absent product too, so both take the same path and time.
    const visible = await withReadOnlyIdentity(pool, identity, async (c) => {
      const r = await c.query('SELECT 1 FROM ivoa.obscore WHERE obs_publisher_did = $1', [
        found?.row.obs_publisher_did ?? '',
      ]);
      return (r.rowCount ?? 0) > 0;
    });
    // Not held here at all: a URL, or a peer's product, brought to the job if the caller may read it.
    const staged = !found && remote ? await locateRemote(remote, d) : undefined;
    if (staged) {
      resolved.push({
        name: d.name,
        did: d.ids[0],
        path: null,
        sizeBytes: staged.sizeBytes,
        replicas: [],
        stage: staged,
      });
      continue;
    }
    if (!found || !visible) {
      messages.push(
        message(
          'ERROR',
          'uri:resource-not-found',
          `data resource ${d.name}: no product ${d.ids.join(' or ')} on this node that you may use`,
          { path: `data[${i}]` },
        ),
      );
      continue;
    }
    const path = found.row.file_path
      ? isAbsolute(found.row.file_path)
        ? found.row.file_path
        : join(dataDir, found.row.file_path)
      : null;
    // Known here but its file is elsewhere (a replica, Rucio): staged from there.
    const stage =
      remote && (!path || !existsSync(path))
        ? await locateRemote(remote, d, { filePath: found.row.file_path, replicas: found.replicas })
        : undefined;
    resolved.push({
      name: d.name,
      did: found.row.obs_publisher_did,
      path,
      sizeBytes: found.row.file_size === null ? null : Number(found.row.file_size),
      replicas: found.replicas,
      ...(stage ? { stage } : {}),
    });
  }
  return { resolved, messages };
}

async function findProduct(
  pool: pg.Pool,
  ids: readonly string[],
): Promise<{ row: Row; replicas: ResolvedData['replicas'] } | undefined> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN TRANSACTION READ ONLY');
    await withMaintenance(client);
    const r = await client.query<Row>(
      `SELECT obs_publisher_did, ivoa.product_file(file_path) AS file_path, file_size FROM ivoa.obscore
        WHERE obs_publisher_did = ANY($1::text[]) OR obs_id = ANY($1::text[]) OR ivoa.node_url(access_url) = ANY($1::text[])
        ORDER BY (obs_publisher_did = ANY($1::text[])) DESC LIMIT 1`,
      [[...ids]],
    );
    const row = r.rows[0];
    if (!row) return undefined;
    const rep = await client.query<{ site: string; url: string; is_local: boolean }>(
      'SELECT site, url, is_local FROM ivoa.obscore_replicas WHERE obs_publisher_did = $1 ORDER BY is_local DESC, site',
      [row.obs_publisher_did],
    );
    return { row, replicas: rep.rows.map((x) => ({ site: x.site, url: x.url, local: x.is_local })) };
  } finally {
    await client.query('ROLLBACK').catch(() => {});
    client.release();
  }
}
