/**
 * The layout of the served versions, for `vonode shards`: each partition's sky cells, rows
 * and margin rows, and where it lives; with the balance (largest over mean) per table.
 */
import type pg from 'pg';

export interface PartitionRow {
  readonly tableName: string;
  readonly version: number;
  readonly part: number;
  readonly order: number;
  readonly firstCell: string;
  readonly lastCell: string;
  readonly rows: number;
  readonly marginRows: number;
  readonly shard?: number;
  readonly shardUrl?: string;
}

export async function readLayout(pool: pg.Pool | pg.ClientBase, tableName?: string): Promise<PartitionRow[]> {
  const r = await pool.query<{
    table_name: string;
    version: number;
    part: number;
    healpix_order: number;
    first_cell: string;
    last_cell: string;
    nrows: string;
    margin_rows: string;
    shard: number | null;
    shard_url: string | null;
  }>(
    `SELECT p.table_name, p.version, p.part, p.healpix_order, p.first_cell::text, p.last_cell::text,
            p.nrows::text, p.margin_rows::text, p.shard, p.shard_url
       FROM vonode.table_partitions p
       JOIN vonode.published_tables t ON t.table_name = p.table_name AND t.version = p.version
      WHERE $1::text IS NULL OR lower(p.table_name) = lower($1)
      ORDER BY p.table_name, p.part`,
    [tableName ?? null],
  );
  return r.rows.map((x) => ({
    tableName: x.table_name,
    version: x.version,
    part: x.part,
    order: x.healpix_order,
    firstCell: x.first_cell,
    lastCell: x.last_cell,
    rows: Number(x.nrows),
    marginRows: Number(x.margin_rows),
    ...(x.shard !== null ? { shard: x.shard } : {}),
    ...(x.shard_url !== null ? { shardUrl: x.shard_url } : {}),
  }));
}
