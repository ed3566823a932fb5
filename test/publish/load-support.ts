import type pg from 'pg';
import type {
  CatalogueStore,
  DataSource,
  PublishedRowInput,
  SourceColumn,
  TableDescription,
} from '../../src/publish/index.js';
import type { PublishedTable } from '../../src/tap/tables/model.js';

/** Rows held in memory as a DataSource, in batches of `batch` rows. */
export function memorySource(
  columns: readonly SourceColumn[],
  rows: readonly (readonly unknown[])[],
  opts: { path?: string; batch?: number; failAt?: { row: number; message: string } } = {},
): DataSource {
  const batch = opts.batch ?? 1000;
  let read = 0;
  const path = opts.path ?? 'memory.csv';
  return {
    path,
    format: 'csv',
    columns,
    meta: {},
    totalBytes: rows.length * 10,
    bytesRead: () => read * 10,
    async *batches() {
      for (let i = 0; i < rows.length; i += batch) {
        const slice = rows.slice(i, i + batch);
        if (opts.failAt && opts.failAt.row <= i + slice.length) {
          const { DataFileError } = await import('../../src/publish/index.js');
          throw new DataFileError(opts.failAt.message, path, opts.failAt.row);
        }
        read += slice.length;
        yield { firstRow: i + 1, rows: slice };
      }
    },
    async close() {},
  };
}

/**
 * The catalogue store's writes as src/catalogue/store.ts makes them (vonode.published_tables),
 * for the loader's own tests.
 */
export async function testStore(pool: pg.Pool): Promise<CatalogueStore & { notified: string[] }> {
  await pool.query(`CREATE TABLE IF NOT EXISTS vonode.published_tables (
    table_name text PRIMARY KEY, schema_name text NOT NULL, sql_schema text NOT NULL, sql_table text NOT NULL,
    description jsonb NOT NULL, nrows bigint, bytes bigint, version int NOT NULL,
    builtin boolean NOT NULL DEFAULT false, published_at timestamptz NOT NULL DEFAULT now())`);
  const notified: string[] = [];
  return {
    notified,
    async putPublishedTable(client, row: PublishedRowInput) {
      await client.query(
        `INSERT INTO vonode.published_tables (table_name, schema_name, sql_schema, sql_table, description, nrows, bytes, version)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
         ON CONFLICT (table_name) DO UPDATE SET sql_schema = EXCLUDED.sql_schema, sql_table = EXCLUDED.sql_table,
           description = EXCLUDED.description, nrows = EXCLUDED.nrows, bytes = EXCLUDED.bytes,
           version = EXCLUDED.version, published_at = now()`,
        [
          `${row.table.schema}.${row.table.name}`,
          row.table.schema,
          row.sqlSchema,
          row.sqlTable,
          JSON.stringify(row.description),
          row.nrows,
          row.bytes,
          row.version,
        ],
      );
    },
    async removePublishedTable(client, name) {
      await client.query('DELETE FROM vonode.published_tables WHERE table_name = $1', [name]);
    },
    async notifyCatalogueChanged(client, name) {
      await client.query("SELECT pg_notify('vonode_catalogue', $1)", [name]);
      notified.push(name);
    },
  };
}

export function testToPublished(
  desc: TableDescription,
  where: { sqlSchema: string; sqlTable: string },
  nrows?: number,
): PublishedTable {
  return {
    schema: desc.schema,
    name: desc.name,
    sql: { schema: where.sqlSchema, table: where.sqlTable },
    type: 'table',
    description: desc.description,
    columns: desc.columns.map((c) => ({ ...c, description: c.description ?? '' })),
    ...(nrows !== undefined ? { nrows } : {}),
  };
}
