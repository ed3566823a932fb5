/**
 * The generated demo catalogue as a DataSource, so it is published like any data file
 * (the loader: staging, HEALPix order, indexes, rights, the catalogue row). The HEALPix
 * column the generator also computes is left out: the loader derives it from ra/dec.
 */
import type pg from 'pg';
import type { DataSource, SourceBatch, SourceColumn, TableDescription } from '../publish/index.js';
import { DEMO_SOURCE_COLUMNS, type DemoCatalogueOptions, demoCatalogueRows } from './demo-catalogue.js';

const BATCH_ROWS = 10_000;

/** The demo catalogue's qualified name, as TAP_SCHEMA lists it. */
export const DEMO_TABLE = 'demo.sources';

export function demoDataSource(table: TableDescription, opts: DemoCatalogueOptions): DataSource {
  const loaded = DEMO_SOURCE_COLUMNS.filter((c) => c !== 'healpix');
  const columns: SourceColumn[] = loaded.map((name) => {
    const c = table.columns.find((x) => (x.source ?? x.name) === name);
    if (!c) throw new Error(`the demo description has no column ${name} (catalogues/demo.yaml)`);
    return {
      name,
      datatype: c.datatype,
      ...(c.arraysize ? { arraysize: c.arraysize } : {}),
      ...(c.xtype ? { xtype: c.xtype } : {}),
    };
  });
  const width = loaded.length;
  let rowsRead = 0;
  return {
    path: 'generated demo catalogue',
    // Generated rows are plain typed values, like a CSV reader's after inference.
    format: 'csv',
    columns,
    meta: { name: table.name, description: table.description, frame: 'ICRS' },
    bytesRead: () => rowsRead * width * 8,
    async *batches(): AsyncIterable<SourceBatch> {
      let batch: unknown[][] = [];
      let first = 1;
      for (const row of demoCatalogueRows(opts)) {
        batch.push(row.slice(0, width));
        if (batch.length === BATCH_ROWS) {
          rowsRead += batch.length;
          yield { firstRow: first, rows: batch };
          first += batch.length;
          batch = [];
        }
      }
      if (batch.length > 0) {
        rowsRead += batch.length;
        yield { firstRow: first, rows: batch };
      }
    },
    async close() {},
  };
}

/**
 * Where the demo catalogue's rows are stored now (a new physical table per published
 * version): code that reads them in SQL asks here, never names a table.
 */
export async function demoSourcesTable(client: pg.ClientBase): Promise<string> {
  const r = await client.query<{ sql_schema: string; sql_table: string }>(
    'SELECT sql_schema, sql_table FROM vonode.published_tables WHERE table_name = $1',
    [DEMO_TABLE],
  );
  const row = r.rows[0];
  if (!row) throw new Error(`${DEMO_TABLE} is not published`);
  return `${client.escapeIdentifier(row.sql_schema)}.${client.escapeIdentifier(row.sql_table)}`;
}
