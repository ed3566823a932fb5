/**
 * A publishing thread (text-rows-pool.ts): encodes batches of CSV lines with the text
 * path (text-rows.ts) and hands back the COPY binary bytes, where each row starts and
 * where its HEALPix key is (or DECLINED, for the loader to encode from typed values).
 */
import { parentPort, workerData } from 'node:worker_threads';
import { CopyBinaryWriter } from './copy-binary.js';
import { DECLINED, type TextRowSpec, textRowWriter } from './text-rows.js';

/** A TextRowBatch's text and line offsets (-1: a quoted record, left to the loader). */
export interface TextRowsRequest {
  readonly id: number;
  readonly text: string;
  readonly starts: Int32Array;
  readonly ends: Int32Array;
}

export interface TextRowsReply {
  readonly id: number;
  /** COPY binary rows, bytes [0, starts[count]). */
  readonly bytes: Uint8Array;
  /** Row i is bytes [starts[i], starts[i + 1]). */
  readonly starts: Int32Array;
  /** Where row i's HEALPix key is in `bytes`; -1 none; DECLINED. */
  readonly keys: Int32Array;
}

const port = parentPort;
if (!port) throw new Error('text-rows-task runs in a worker thread');
const write = textRowWriter(workerData as TextRowSpec);
const w = new CopyBinaryWriter(1 << 21);

port.on('message', (req: TextRowsRequest) => {
  w.reset();
  const { text, starts: from, ends: to } = req;
  const count = from.length;
  const starts = new Int32Array(count + 1);
  const keys = new Int32Array(count);
  for (let i = 0; i < count; i++) {
    starts[i] = w.pos;
    keys[i] = from[i] >= 0 ? write(w, text, from[i], to[i]) : DECLINED;
  }
  starts[count] = w.pos;
  // The bytes are copied out so the writer's buffer is kept for the next batch.
  const bytes = new Uint8Array(w.pos);
  bytes.set(w.buffer.subarray(0, w.pos));
  const reply: TextRowsReply = { id: req.id, bytes, starts, keys };
  port.postMessage(reply, [bytes.buffer, starts.buffer, keys.buffer]);
});
