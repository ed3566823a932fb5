import {
  notifyCatalogueChanged,
  putPublishedTable,
  removePublishedTable,
} from '../../src/catalogue/index.js';
import type { CatalogueStore, DataSource, SourceColumn } from '../../src/publish/index.js';

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

/** The catalogue store (src/catalogue/store.ts), recording what it was told to announce. */
export function recordingStore(): CatalogueStore & { notified: string[] } {
  const notified: string[] = [];
  return {
    notified,
    putPublishedTable,
    removePublishedTable,
    async notifyCatalogueChanged(client, name) {
      await notifyCatalogueChanged(client, name);
      notified.push(name);
    },
  };
}
