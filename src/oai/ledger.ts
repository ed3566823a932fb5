import type pg from 'pg';
import type { DeletedRecord } from '../../registry/index.js';

/** A catalogue record being served: its IVOID and the published table it describes. */
export interface ServedRecord {
  readonly identifier: string;
  readonly tableName: string;
}

/**
 * The registry's memory of catalogue records (vonode.registry_records, sql/120): records
 * served now are noted (a record published again loses its deletion), and a noted record
 * no longer served whose table is no longer published is marked deleted at that moment.
 * The published_tables check keeps node processes that have not yet heard of a publish
 * (or serve another view) from deleting what another one serves. Returns the deleted
 * records under `authority`, for the OAI responses.
 */
export async function syncRegistryRecords(
  pool: pg.Pool,
  authority: string,
  served: readonly ServedRecord[],
): Promise<DeletedRecord[]> {
  const ids = served.map((s) => s.identifier);
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    await client.query(
      `INSERT INTO vonode.registry_records (identifier, table_name)
         SELECT * FROM unnest($1::text[], $2::text[])
       ON CONFLICT (identifier) DO UPDATE SET table_name = EXCLUDED.table_name, deleted_at = NULL
         WHERE registry_records.deleted_at IS NOT NULL OR registry_records.table_name <> EXCLUDED.table_name`,
      [ids, served.map((s) => s.tableName)],
    );
    await client.query(
      `UPDATE vonode.registry_records r SET deleted_at = now()
        WHERE deleted_at IS NULL AND NOT (identifier = ANY ($1::text[]))
          AND NOT EXISTS (SELECT 1 FROM vonode.published_tables p WHERE p.table_name = r.table_name)`,
      [ids],
    );
    const r = await client.query<{ identifier: string; deleted_at: Date }>(
      `SELECT identifier, deleted_at FROM vonode.registry_records
        WHERE deleted_at IS NOT NULL AND NOT (identifier = ANY ($1::text[])) AND starts_with(lower(identifier), $2)
        ORDER BY deleted_at, identifier`,
      [ids, `ivo://${authority.toLowerCase()}/`],
    );
    await client.query('COMMIT');
    return r.rows.map((x) => ({ identifier: x.identifier, deletedAt: x.deleted_at }));
  } catch (err) {
    await client.query('ROLLBACK').catch(() => {});
    throw err;
  } finally {
    client.release();
  }
}
