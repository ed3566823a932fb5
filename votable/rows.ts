import { VOTableEncodeError } from './errors.js';
import type { ResultDocument } from './types.js';

export type RowBatch = readonly (readonly unknown[])[];

const SYNC_BATCH = 1024;

/**
 * The document's rows as batches: `batches` as given (the cheap path: one await per cursor
 * read, not per row), sync `rows` cut into batches, async `rows` one row at a time.
 */
export async function* rowBatches(doc: ResultDocument): AsyncGenerator<RowBatch> {
  if (doc.batches) {
    yield* doc.batches;
    return;
  }
  const rows = doc.rows;
  if (!rows && doc.copy) return;
  if (!rows) throw new VOTableEncodeError('a ResultDocument needs rows or batches');
  if (Symbol.asyncIterator in rows) {
    for await (const r of rows as AsyncIterable<readonly unknown[]>) yield [r];
    return;
  }
  let batch: (readonly unknown[])[] = [];
  for (const r of rows as Iterable<readonly unknown[]>) {
    batch.push(r);
    if (batch.length >= SYNC_BATCH) {
      yield batch;
      batch = [];
    }
  }
  if (batch.length > 0) yield batch;
}

export function errorMessage(err: unknown): string {
  if (err instanceof Error) return err.message || err.name;
  return String(err);
}
