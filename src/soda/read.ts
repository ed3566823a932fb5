import {
  type AxisRange,
  cutoutCards,
  type DataRun,
  type FitsFile,
  type FitsHdu,
  FitsHduWriter,
  type FitsSink,
  planRuns,
} from '../fits/index.js';

export interface CutoutReadOptions {
  /** Largest single read, bytes (bounds memory: at most `inFlight` of these are held). */
  maxReadBytes?: number;
  /**
   * Runs separated by at most this many bytes are read as one: below a page the storage reads
   * the gap anyway, so one syscall replaces several for free. Default 4096.
   */
  maxGapBytes?: number;
  /** Reads kept in flight (libuv runs them on its thread pool). Default 4. */
  inFlight?: number;
  history?: readonly string[];
  /** Checked between reads; a cutout stops when it fires. */
  signal?: AbortSignal;
}

/** A read covering one or more of the cutout's runs, in file order. */
interface Read {
  offset: number;
  bytes: number;
  runs: DataRun[];
}

/** Groups the runs of a box into reads: neighbours within maxGap merged, none above maxRead. */
export function planReads(hdu: FitsHdu, box: readonly AxisRange[], maxRead: number, maxGap: number): Read[] {
  const reads: Read[] = [];
  let current: Read | undefined;
  for (const run of planRuns(hdu, box, maxRead)) {
    const gap = current ? run.offset - (current.offset + current.bytes) : -1;
    if (current && gap >= 0 && gap <= maxGap && run.offset + run.bytes - current.offset <= maxRead) {
      current.bytes = run.offset + run.bytes - current.offset;
      current.runs.push(run);
    } else {
      if (current) reads.push(current);
      current = { offset: run.offset, bytes: run.bytes, runs: [run] };
    }
  }
  if (current) reads.push(current);
  return reads;
}

/**
 * Writes the cutout of `hdu` over `box` to `sink` like src/fits writeCutout (same header:
 * cutoutCards), but with the SODA service's read plan: near runs merged into one read
 * and several reads in flight, in order. Memory stays under inFlight × maxReadBytes.
 * Returns the bytes written and the bytes read from the file.
 */
export async function streamCutout(
  file: FitsFile,
  hdu: FitsHdu,
  box: readonly AxisRange[],
  sink: FitsSink,
  options: CutoutReadOptions = {},
): Promise<{ written: number; read: number }> {
  if (hdu.tiled) {
    // A tile-compressed image: only the tiles the box touches are read and decompressed, one
    // slab of tiles at a time (src/fits readRawRuns), so I/O follows the cutout, not the file.
    const writer = await FitsHduWriter.create(sink, cutoutCards(hdu, box, options.history));
    let read = 0;
    for await (const { run, data } of file.readRawRuns(hdu, box)) {
      if (options.signal?.aborted) throw new Error('the cutout was stopped');
      read += run.fileBytes ?? 0;
      await writer.writeRaw(data);
    }
    await writer.finish();
    return { written: writer.totalBytes, read };
  }
  const maxRead = options.maxReadBytes ?? 4 * 1024 * 1024;
  const inFlight = Math.max(1, options.inFlight ?? 4);
  const reads = planReads(hdu, box, maxRead, options.maxGapBytes ?? 4096);
  const writer = await FitsHduWriter.create(sink, cutoutCards(hdu, box, options.history));
  const pending: Promise<Buffer>[] = [];
  let next = 0;
  let readBytes = 0;
  const issue = () => {
    const r = reads[next++];
    readBytes += r.bytes;
    pending.push(file.readBytes(r.offset, r.bytes));
  };
  try {
    while (next < reads.length && pending.length < inFlight) issue();
    for (let i = 0; i < reads.length; i++) {
      const data = await (pending.shift() as Promise<Buffer>);
      if (options.signal?.aborted) throw new Error('the cutout was stopped');
      if (next < reads.length) issue();
      const r = reads[i];
      if (r.runs.length === 1) await writer.writeRaw(data);
      // One write per read: the runs' bytes packed together, the gaps dropped.
      else
        await writer.writeRaw(
          Buffer.concat(
            r.runs.map((run) => data.subarray(run.offset - r.offset, run.offset - r.offset + run.bytes)),
          ),
        );
    }
  } finally {
    // Reads still in flight after a failure must not surface as unhandled rejections.
    for (const p of pending) p.catch(() => undefined);
  }
  await writer.finish();
  return { written: writer.totalBytes, read: readBytes };
}
