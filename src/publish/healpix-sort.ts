/**
 * Rows put in HEALPix order by the loader itself, so PostgreSQL receives them sorted and
 * writes the published table once (no unsorted load table rewritten by ORDER BY: measured
 * with bench/publish.ts, that rewrite cost nearly as much as the COPY of the file).
 *
 * An external merge sort with bounded memory: encoded COPY binary rows gather in one run
 * buffer (VONODE_PUBLISH_SORT_MEMORY bytes, default 48 MiB); a full run is ordered by its
 * keys (a radix sort of the order-29 NESTED index, two 32-bit words) and written to a
 * temporary file; at the end the runs are merged. A file small enough for one run never
 * touches the disk.
 * Temporary files are unlinked as soon as they are opened: a killed load leaves nothing.
 * Rows without a position (NULL index) come last, as PostgreSQL's ORDER BY puts them.
 */
import { randomBytes } from 'node:crypto';
import { closeSync, openSync, readSync, unlinkSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CopyBinaryWriter } from './copy-binary.js';

/** The key of a row without position: above every index (12·4^29 < 2^62). */
const NULL_WORD = 0xffffffff;
/** Bytes of a spilled row's frame: key high word, key low word, row length. */
const FRAME = 12;
/** Bytes of the spill buffer, and of each run's read buffer in the merge (30 runs for 10^7 rows). */
const IO_BYTES = 1 << 20;
const READ_BYTES = 1 << 18;
const OUT_BYTES = 1 << 18;

export interface SortOptions {
  /** Bytes of encoded rows held before a run is written to disk. */
  readonly memoryBytes: number;
  /** Folder of the temporary run files (default the system's). */
  readonly dir?: string;
}

/** A sorted sequence of rows, read one row at a time. */
interface RunSource {
  hi: number;
  lo: number;
  /** Where the current row's bytes are. */
  buf: Buffer;
  start: number;
  len: number;
  /** Moves to the next row; false at the end. */
  next(): boolean;
  close(): void;
}

export class HealpixSorter {
  /** The run being filled: the row encoder writes here. */
  readonly run: CopyBinaryWriter;
  private starts = new Uint32Array(1 << 16);
  private his = new Uint32Array(1 << 16);
  private los = new Uint32Array(1 << 16);
  private n = 0;
  private readonly spilled: number[] = [];
  private closed = false;
  /** Rows spilled to temporary files, for the log. */
  spilledRows = 0;

  constructor(private readonly opts: SortOptions) {
    this.run = new CopyBinaryWriter(Math.max(1 << 16, opts.memoryBytes + (1 << 16)));
  }

  /** Number of runs written to disk so far. */
  get runsOnDisk(): number {
    return this.spilled.length;
  }

  /**
   * Records the row just written to `run` from byte `start`; `keyAt` is where its 8-byte
   * index is in the run buffer, -1 when it has none (NULL).
   */
  added(start: number, keyAt: number): void {
    const i = this.n;
    if (i === this.starts.length) this.grow();
    this.starts[i] = start;
    if (keyAt < 0) {
      this.his[i] = NULL_WORD;
      this.los[i] = NULL_WORD;
    } else {
      const b = this.run.buffer;
      this.his[i] = b.readUInt32BE(keyAt);
      this.los[i] = b.readUInt32BE(keyAt + 4);
    }
    this.n = i + 1;
    if (this.run.length >= this.opts.memoryBytes) this.spill();
  }

  /** The rows in order as COPY binary, header and trailer included, in chunks. */
  *sorted(): Generator<Buffer> {
    const out = new CopyBinaryWriter(OUT_BYTES + (1 << 16));
    out.header();
    const sources: RunSource[] = [];
    try {
      for (const fd of this.spilled) sources.push(fileRun(fd));
      this.spilled.length = 0;
      if (this.n > 0) sources.push(this.memoryRun());
      const heap = sources.filter((s) => s.next());
      // A binary min-heap of the sources by their current key.
      const less = (a: RunSource, b: RunSource) => a.hi < b.hi || (a.hi === b.hi && a.lo < b.lo);
      const down = (i: number) => {
        const m = heap.length;
        for (;;) {
          const l = 2 * i + 1;
          if (l >= m) return;
          const c = l + 1 < m && less(heap[l + 1], heap[l]) ? l + 1 : l;
          if (!less(heap[c], heap[i])) return;
          const t = heap[c];
          heap[c] = heap[i];
          heap[i] = t;
          i = c;
        }
      };
      for (let i = (heap.length >> 1) - 1; i >= 0; i--) down(i);
      while (heap.length > 0) {
        const s = heap[0];
        out.bytes(s.buf, s.start, s.len);
        if (out.length >= OUT_BYTES) yield out.take();
        if (!s.next()) {
          s.close();
          const last = heap.pop() as RunSource;
          if (heap.length === 0) break;
          heap[0] = last;
        }
        down(0);
      }
      out.trailer();
      yield out.take();
    } finally {
      for (const s of sources) s.close();
      this.close();
    }
  }

  /** Removes the temporary files (already unlinked: closing frees them). */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const fd of this.spilled) closeSync(fd);
    this.spilled.length = 0;
  }

  private grow(): void {
    const m = this.starts.length * 2;
    const widen = (a: Uint32Array) => {
      const b = new Uint32Array(m);
      b.set(a);
      return b;
    };
    this.starts = widen(this.starts);
    this.his = widen(this.his);
    this.los = widen(this.los);
  }

  /** Writes the current run in order to a new temporary file. */
  private spill(): void {
    const order = radixOrder(this.his, this.los, this.n);
    const path = join(this.opts.dir ?? tmpdir(), `vonode-publish-${randomBytes(8).toString('hex')}.run`);
    const fd = openSync(path, 'wx+', 0o600);
    unlinkSync(path);
    this.spilled.push(fd);
    const src = this.run.buffer;
    const end = this.run.length;
    const io = Buffer.allocUnsafe(IO_BYTES);
    let p = 0;
    const flush = () => {
      let off = 0;
      while (off < p) off += writeSync(fd, io, off, p - off);
      p = 0;
    };
    for (let k = 0; k < this.n; k++) {
      const i = order[k];
      const s = this.starts[i];
      const len = (i + 1 < this.n ? this.starts[i + 1] : end) - s;
      if (p + FRAME + len > IO_BYTES) {
        flush();
        if (FRAME + len > IO_BYTES) {
          io.writeUInt32BE(this.his[i], 0);
          io.writeUInt32BE(this.los[i], 4);
          io.writeUInt32BE(len, 8);
          p = FRAME;
          flush();
          let off = s;
          while (off < s + len) off += writeSync(fd, src, off, s + len - off);
          continue;
        }
      }
      io.writeUInt32BE(this.his[i], p);
      io.writeUInt32BE(this.los[i], p + 4);
      io.writeUInt32BE(len, p + 8);
      io.set(src.subarray(s, s + len), p + FRAME);
      p += FRAME + len;
    }
    flush();
    this.spilledRows += this.n;
    this.n = 0;
    this.run.reset();
  }

  /** The rows still in memory, in order. */
  private memoryRun(): RunSource {
    const order = radixOrder(this.his, this.los, this.n);
    const n = this.n;
    const end = this.run.length;
    const { starts, his, los } = this;
    let k = -1;
    const src: RunSource = {
      hi: 0,
      lo: 0,
      buf: this.run.buffer,
      start: 0,
      len: 0,
      next() {
        if (++k >= n) return false;
        const i = order[k];
        src.hi = his[i];
        src.lo = los[i];
        src.start = starts[i];
        src.len = (i + 1 < n ? starts[i + 1] : end) - src.start;
        return true;
      },
      close() {},
    };
    return src;
  }
}

/** A spilled run read back through a buffer; a row longer than the buffer gets its own. */
function fileRun(fd: number): RunSource {
  let buf = Buffer.allocUnsafe(READ_BYTES);
  let filled = 0;
  let pos = 0;
  let filePos = 0;
  let closed = false;
  const fill = (need: number): boolean => {
    if (filled - pos >= need) return true;
    if (need > buf.length) {
      const bigger = Buffer.allocUnsafe(need);
      buf.copy(bigger, 0, pos, filled);
      buf = bigger;
    } else buf.copy(buf, 0, pos, filled);
    filled -= pos;
    pos = 0;
    src.buf = buf;
    while (filled < need) {
      const got = readSync(fd, buf, filled, buf.length - filled, filePos);
      if (got === 0) return false;
      filled += got;
      filePos += got;
    }
    return true;
  };
  const src: RunSource = {
    hi: 0,
    lo: 0,
    buf,
    start: 0,
    len: 0,
    next() {
      pos = src.start + src.len;
      if (!fill(FRAME)) return false;
      const len = buf.readUInt32BE(pos + 8);
      if (!fill(FRAME + len)) throw new Error('a temporary sort file ends early');
      src.hi = buf.readUInt32BE(pos);
      src.lo = buf.readUInt32BE(pos + 4);
      src.start = pos + FRAME;
      src.len = len;
      return true;
    },
    close() {
      if (closed) return;
      closed = true;
      closeSync(fd);
    },
  };
  return src;
}

/** The permutation of rows 0..n-1 sorted by (hi, lo): LSD radix sort, 16-bit digits. */
export function radixOrder(his: Uint32Array, los: Uint32Array, n: number): Uint32Array {
  let a = new Uint32Array(n);
  let b = new Uint32Array(n);
  for (let i = 0; i < n; i++) a[i] = i;
  const count = new Uint32Array(65536);
  for (let pass = 0; pass < 4; pass++) {
    const words = pass < 2 ? los : his;
    const shift = pass % 2 === 0 ? 0 : 16;
    count.fill(0);
    for (let i = 0; i < n; i++) count[(words[i] >>> shift) & 0xffff]++;
    // A digit every row shares orders nothing.
    if (count[(words[0] >>> shift) & 0xffff] === n) continue;
    let sum = 0;
    for (let d = 0; d < 65536; d++) {
      const c = count[d];
      count[d] = sum;
      sum += c;
    }
    for (let i = 0; i < n; i++) {
      const r = a[i];
      b[count[(words[r] >>> shift) & 0xffff]++] = r;
    }
    const t = a;
    a = b;
    b = t;
  }
  return a;
}
