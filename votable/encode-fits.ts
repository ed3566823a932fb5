import type { EncodeOptions, ResultDocument } from './types.js';
export async function* encodeFits(
  _doc: ResultDocument,
  _chunkSize: number,
  _rows: AsyncIterable<readonly unknown[]>,
  _options: EncodeOptions,
): AsyncGenerator<Buffer> {
  yield Buffer.alloc(0);
}
